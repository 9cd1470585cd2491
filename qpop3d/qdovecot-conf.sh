#!/bin/sh
# qdovecot-conf: writes DIR/dovecot/dovecot.conf, the configuration of the
# Dovecot IMAP server of a qmta instance (see qdovecot-conf.8).
# usage: qdovecot-conf DIR [--imap IP:PORT] [--imaps IP:PORT] [--qauth PATH]
# Exit: 0 written, 100 misuse, 111 temporary failure.
PROG=qdovecot-conf
USAGE="usage: qdovecot-conf DIR [--imap IP:PORT] [--imaps IP:PORT] [--qauth PATH]"

die_usage() { echo "$PROG: fatal: $USAGE" >&2; exit 100; }
die() { code=$1; shift; echo "$PROG: fatal: $*" >&2; exit "$code"; }

[ $# -ge 1 ] || die_usage
dir=$1
shift
case $dir in -*|"") die_usage ;; esac
imap=
imaps=
qauth=
while [ $# -gt 0 ]; do
  case $1 in
    --imap) [ $# -ge 2 ] || die_usage; imap=$2; shift 2 ;;
    --imaps) [ $# -ge 2 ] || die_usage; imaps=$2; shift 2 ;;
    --qauth) [ $# -ge 2 ] || die_usage; qauth=$2; shift 2 ;;
    *) die_usage ;;
  esac
done
[ -n "$imap$imaps" ] || die_usage

# IP:PORT, [IPv6]:PORT or IPv6:PORT (the port after the last colon);
# *:PORT or 0:PORT (qlisten's 0, as qsetup passes it): every IPv4 and
# IPv6 address, which Dovecot writes "*, ::"
split_listen() {
  port=${1##*:}
  addr=${1%:*}
  case $addr in \[*\]) addr=${addr#\[}; addr=${addr%\]} ;; esac
  case $port in ''|*[!0-9]*) die 100 "bad listen address: $1" ;; esac
  case $addr in
    '*'|0) addr='*, ::' ;;
    ''|*[!0-9a-fA-F.:]*) die 100 "bad listen address: $1" ;;
  esac
}

[ -d "$dir" ] || die 111 "unable to find instance $dir"
dir=$(cd "$dir" && pwd) || die 111 "unable to switch to $dir"
case $dir in *[!A-Za-z0-9._/+-]*) die 100 "instance path has characters Dovecot cannot take: $dir" ;; esac

if [ -z "$qauth" ]; then
  self=$0
  case $self in */*) ;; *) self=$(command -v "$self") || die 111 "unable to find myself" ;; esac
  qauth=$(cd "$(dirname "$self")" && pwd)/qauth
fi
case $qauth in /*) ;; *) qauth=$(pwd)/$qauth ;; esac
[ -x "$qauth" ] || die 111 "unable to find qauth at $qauth"

uid=$(id -u)
mkdir -p "$dir/dovecot/run" "$dir/dovecot/state" || die 111 "unable to create $dir/dovecot"
chmod 755 "$dir/dovecot" "$dir/dovecot/run" || die 111 "unable to chmod $dir/dovecot"
chmod 750 "$dir/dovecot/state" || die 111 "unable to chmod $dir/dovecot/state"

conf=$dir/dovecot/dovecot.conf
tmp=$conf.tmp
{
  echo "# Written by qdovecot-conf for the qmta instance $dir."
  echo "# Do not edit: run qdovecot-conf again (qsetup does)."
  echo "# Run: dovecot -F -c $conf"
  echo
  echo "base_dir = $dir/dovecot/run"
  echo "state_dir = $dir/dovecot/state"
  echo "instance_name = qmta-imap"
  echo "protocols = imap"
  split_listen "${imap:-$imaps}"
  echo "listen = $addr"
  echo "import_environment = TZ QHOME=$dir"
  echo
  echo "# logging to stderr, read by the service's s6-log (which adds timestamps)"
  echo "log_path = /dev/stderr"
  echo "info_log_path = /dev/stderr"
  echo "debug_log_path = /dev/stderr"
  echo 'log_timestamp = ""'
  echo
  echo "# TLS from the instance's tls/; passwords only under TLS (Dovecot also"
  echo "# allows them from the loopback addresses)"
  echo "ssl = required"
  echo "ssl_cert = <$dir/tls/cert.pem"
  echo "ssl_key = <$dir/tls/key.pem"
  echo "ssl_min_protocol = TLSv1.2"
  echo "disable_plaintext_auth = yes"
  echo
  echo "# qauth checks every password (checkpassword), and tells the mailbox"
  echo "# and its owner (userdb_uid, userdb_gid, userdb_mail): userdb prefetch"
  echo "auth_mechanisms = plain login"
  echo "auth_username_chars ="
  echo "auth_username_format = %Lu"
  echo "auth_cache_size = 0"
  echo "auth_failure_delay = 0"
  echo "passdb {"
  echo "  driver = checkpassword"
  echo "  args = $qauth -d"
  echo "}"
  echo "userdb {"
  echo "  driver = prefetch"
  echo "}"
  echo
  echo "mail_location = maildir:~"
  echo "first_valid_uid = 1"
  echo "first_valid_gid = 1"
  echo
  echo "service imap-login {"
  if [ -n "$imap" ]; then
    split_listen "$imap"
    echo "  inet_listener imap {"
    echo "    address = $addr"
    echo "    port = $port"
    echo "  }"
  else
    echo "  inet_listener imap {"
    echo "    port = 0"
    echo "  }"
  fi
  if [ -n "$imaps" ]; then
    split_listen "$imaps"
    echo "  inet_listener imaps {"
    echo "    address = $addr"
    echo "    port = $port"
    echo "    ssl = yes"
    echo "  }"
  else
    echo "  inet_listener imaps {"
    echo "    port = 0"
    echo "  }"
  fi
  [ "$uid" = 0 ] || echo "  chroot ="
  echo "}"
  echo "# qauth runs in the auth process's limits: no address-space limit (a"
  echo "# checkpassword program is not Dovecot's own code, and sanitizer builds"
  echo "# of qauth reserve much address space)"
  echo "service auth {"
  echo "  vsz_limit = 0"
  if [ "$uid" = 0 ]; then
    echo "  # qauth reads the password hashes and counts failures in auth/: it runs as root"
    echo "  # (and never changes its uid under Dovecot: -d)"
    echo "  user = root"
  fi
  echo "}"
  echo "# qauth slows failed logins down and locks out guessing addresses for"
  echo "# every service"
  echo "# (control/authdelay...): Dovecot's own penalty is off"
  echo "service anvil {"
  echo "  unix_listener anvil-auth-penalty {"
  echo "    mode = 0"
  echo "  }"
  [ "$uid" = 0 ] || echo "  chroot ="
  echo "}"
  if [ "$uid" != 0 ]; then
    user=$(id -un) || die 111 "unable to find my user name"
    group=$(id -gn) || die 111 "unable to find my group name"
    echo "# a non-root instance: everything runs as $user"
    echo "default_internal_user = $user"
    echo "default_internal_group = $group"
    echo "default_login_user = $user"
  fi
} > "$tmp" || die 111 "unable to write $tmp"
mv -f "$tmp" "$conf" || die 111 "unable to rename $tmp"
exit 0
