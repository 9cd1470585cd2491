#!/bin/sh
# qsetup: create (or update) a qmta instance in DIR. See qsetup(8).
#
# Run as root: the components run under the system accounts of
# lib/accounts.h (created when missing). Run as another user: every
# component runs as that user. Rerunning keeps the admin's control files,
# maps, certificate and mail; it rewrites the run scripts it generates.
# Exit: 0 done, 100 usage or bad argument, 111 a step failed.

PROG=qsetup
USAGE="usage: qsetup DIR [--me HOST] [--smtp IP:PORT] [--submission IP:PORT] [--smtps IP:PORT]\
 [--pop3 IP:PORT] [--pop3s IP:PORT] [--imap IP:PORT] [--imaps IP:PORT] [--admin ADDR] [--send-only]\
 [--metrics IP:PORT]"

usage() { echo "$PROG: $USAGE" >&2; exit 100; }
die() { code=$1; shift; echo "$PROG: fatal: $*" >&2; exit "$code"; }
warn() { echo "$PROG: warning: $*" >&2; }
note() { echo "$PROG: $*"; }

umask 022
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

# ---- arguments -------------------------------------------------------------

DIR=
ME=
ADMIN=
SENDONLY=
LISTENERS=
for name in smtp submission smtps pop3 pop3s imap imaps; do eval "L_$name="; done

# set_listener NAME IP:PORT: checks the form and sets L_NAME="IP PORT".
# IPv4 as a.b.c.d:PORT, IPv6 as [addr]:PORT, every address as *:PORT.
set_listener() {
  sl_name=$1
  sl_arg=$2
  case $sl_arg in
    \*:*)
      sl_ip=0; sl_port=${sl_arg#\*:} ;; # qlisten's "0": every IPv4 and IPv6 address
    \[*\]:*)
      sl_ip=${sl_arg#\[}; sl_ip=${sl_ip%%\]*}; sl_port=${sl_arg##*\]:}
      case $sl_ip in ''|*[!0-9a-fA-F:.]*) usage ;; esac
      case $sl_ip in *:*) ;; *) usage ;; esac ;;
    *:*)
      sl_ip=${sl_arg%:*}; sl_port=${sl_arg##*:}
      case $sl_ip in ''|*[!0-9.]*) usage ;; esac
      sl_old=$IFS; IFS=.
      set -- $sl_ip
      IFS=$sl_old
      [ $# -eq 4 ] || usage
      for sl_o in "$@"; do
        case $sl_o in ''|*[!0-9]*) usage ;; esac
        [ "$sl_o" -le 255 ] || usage
      done ;;
    *) usage ;;
  esac
  case $sl_port in ''|*[!0-9]*) usage ;; esac
  [ "$sl_port" -ge 1 ] && [ "$sl_port" -le 65535 ] || usage
  eval "L_$sl_name=\"\$sl_ip \$sl_port\""
  case " $LISTENERS " in *" $sl_name "*) ;; *) LISTENERS="$LISTENERS $sl_name" ;; esac
}

while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; shift ;;
    --send-only) SENDONLY=1; shift; continue ;;
    --help|-h) usage ;;
    --*) [ $# -ge 2 ] || usage; val=$2; shift 2 ;;
    -*) usage ;;
    *) [ -z "$DIR" ] || usage; DIR=$opt; shift; continue ;;
  esac
  case $opt in
    --me) ME=$val ;;
    --admin) ADMIN=$val; [ -n "$ADMIN" ] || usage ;;
    --smtp|--submission|--smtps|--pop3|--pop3s|--imap|--imaps) set_listener "${opt#--}" "$val" ;;
    # the metrics service: checked as a listener's address, but no listener
    --metrics) set_listener metrics "$val"; LISTENERS=${LISTENERS% metrics} ;;
    --send-only) usage ;;
    *) usage ;;
  esac
done
[ -n "$DIR" ] || usage

is_loopback() {
  case $1 in 127.*|::1|0:0:0:0:0:0:0:1) return 0 ;; esac  # "0" (every address) is not
  return 1
}

# qmetrics (qmetrics(8)) runs unprivileged: no low port. It serves the
# instance's figures to whoever reaches it: loopback is the safe place
# (Prometheus on the same host, or a tunnel); another address is the
# admin's choice, with a warning, never every address.
if [ -n "$L_metrics" ]; then
  [ "${L_metrics#* }" -ge 1024 ] || die 100 "--metrics: qmetrics runs unprivileged: a port from 1024"
  [ "${L_metrics% *}" != 0 ] || die 100 "--metrics: not on every address; give a loopback address"
  is_loopback "${L_metrics% *}" ||
    warn "--metrics ${L_metrics% *}: the figures are open to whoever reaches that address"
fi

if [ -n "$SENDONLY" ]; then
  # Loopback only, no local delivery: nothing to read mail from.
  for name in pop3 pop3s imap imaps; do
    eval "v=\$L_$name"
    [ -z "$v" ] || die 100 "--send-only delivers nothing locally: --$name makes no sense"
  done
  [ -n "$L_smtp" ] || set_listener smtp 127.0.0.1:25
  for name in $LISTENERS; do
    eval "v=\$L_$name"
    is_loopback "${v% *}" || die 100 "--send-only listens on loopback only, not ${v% *}"
  done
fi

# An existing instance keeps its name: its control/me is the name, and
# another --me is refused (the name is in locals, rcpthosts, users,
# aliases, the certificate and mail/: see RENAMING AN INSTANCE in qsetup(8)).
OLDME=
if [ -f "$DIR/control/me" ]; then
  OLDME=$(sed -e 's/#.*//' -e 's/[[:blank:]]//g' -e '/^$/d' -e q "$DIR/control/me" | tr 'A-Z' 'a-z')
  OLDME=${OLDME%.}
fi
if [ -n "$OLDME" ]; then
  NEWME=$(printf '%s' "$ME" | tr 'A-Z' 'a-z')
  NEWME=${NEWME%.}
  [ -z "$ME" ] || [ "$NEWME" = "$OLDME" ] ||
    die 100 "$DIR is the instance of $OLDME (control/me), not $NEWME: qsetup does not rename an instance; rerun it without --me, or follow RENAMING AN INSTANCE in qsetup(8)"
  ME=$OLDME
fi
if [ -z "$ME" ]; then
  ME=$(hostname -f 2>/dev/null) || ME=
  [ -n "$ME" ] || ME=$(hostname 2>/dev/null) || ME=
  [ -n "$ME" ] || die 111 "unable to find the host name: give --me HOST"
fi
ME=$(printf '%s' "$ME" | tr 'A-Z' 'a-z')
ME=${ME%.}
case $ME in
  ''|.*|*..*|*[!a-z0-9.-]*) die 100 "bad host name: $ME" ;;
esac
case $ME in
  *.*) ;;
  *) warn "the host name $ME is not fully qualified: other servers refuse it in EHLO and replies cannot reach it; give --me host.example.org" ;;
esac

# The administrator: root, postmaster, MAILER-DAEMON and abuse go there.
# A bare name is a mailbox of this host (NAME@me).
ADMIN_GIVEN=$ADMIN
[ -n "$ADMIN" ] || ADMIN=postmaster@$ME
case $ADMIN in *@*) ;; *) ADMIN=$ADMIN@$ME ;; esac
ADMIN_LOCAL=${ADMIN%@*}
ADMIN_DOMAIN=$(printf '%s' "${ADMIN##*@}" | tr 'A-Z' 'a-z')
case $ADMIN_LOCAL in ''|*[!A-Za-z0-9._+=-]*|.*|*.) die 100 "bad --admin address: $ADMIN" ;; esac
case $ADMIN_DOMAIN in ''|.*|*..*|*.|*[!a-z0-9.-]*) die 100 "bad --admin address: $ADMIN" ;; esac
ADMIN=$ADMIN_LOCAL@$ADMIN_DOMAIN

# The absolute directory qsetup was run from: the build tree's bin/ or
# PREFIX/bin. Run scripts put it first in PATH.
case $0 in
  */*) BINDIR=$(cd "$(dirname "$0")" && pwd) || die 111 "unable to find my own directory" ;;
  *) die 111 "unable to find my own directory: run qsetup by its path" ;;
esac

mkdir -p "$DIR" || die 111 "unable to create $DIR"
DIR=$(cd "$DIR" && pwd) || die 111 "unable to enter $DIR"
# Paths go into run scripts and Dovecot's configuration unquoted by the
# admin's eye: keep them plain.
for p in "$DIR" "$BINDIR"; do
  case $p in *[!A-Za-z0-9._/+@=-]*) die 100 "unsupported character in path: $p" ;; esac
done

if [ "$(id -u)" = 0 ]; then ROOT=1; else ROOT=; fi

# ---- accounts (root instance) ---------------------------------------------

Q_QUEUE=qmta-queue
Q_SEND=qmta-send
Q_REMOTE=qmta-remote
Q_SMTPD=qmta-smtpd
Q_TLS=qmta-tls
Q_AUTH=qmta-auth
Q_VMAIL=qmta-vmail
Q_ALIAS=qmta-alias
Q_LOG=qmta-log
Q_ADMIN=qmta-admin
Q_DKIM=qmta-dkim
Q_DKIMV=qmta-dkimv

NOLOGIN=/usr/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/bin/false

ensure_group() {
  case $KNOWN_GROUPS in *"
$1:"*) return 0 ;; esac
  groupadd --system "$1" || die 111 "unable to create group $1"
  note "created group $1"
}
ensure_user() {
  case $KNOWN_USERS in *"
$1:"*) return 0 ;; esac
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell "$NOLOGIN" --comment "qmta $1" "$1" || die 111 "unable to create user $1"
  note "created user $1"
}
ensure_member() {
  case ",$(getent group "$2" | cut -d: -f4)," in *",$1,"*) return 0 ;; esac
  usermod -a -G "$2" "$1" || die 111 "unable to add $1 to group $2"
}

if [ -n "$ROOT" ]; then
  KNOWN_USERS="
$(getent passwd "$Q_SEND" "$Q_REMOTE" "$Q_SMTPD" "$Q_TLS" "$Q_AUTH" "$Q_VMAIL" "$Q_ALIAS" "$Q_LOG" \
    "$Q_DKIM" "$Q_DKIMV")"
  KNOWN_GROUPS="
$(getent group "$Q_QUEUE" "$Q_ADMIN")"
  ensure_group "$Q_QUEUE"
  for u in "$Q_SEND" "$Q_REMOTE" "$Q_SMTPD" "$Q_TLS" "$Q_AUTH" "$Q_VMAIL" "$Q_ALIAS" "$Q_LOG" \
      "$Q_DKIM" "$Q_DKIMV"; do
    ensure_user "$u"
  done
  # qauthd reads /etc/shadow for control/authsystem: a member of group
  # shadow, which it takes up only on an instance with authsystem (the
  # account serves every instance of the machine: never removed here)
  if [ -e "$DIR/control/authsystem" ] && getent group shadow >/dev/null; then
    ensure_member "$Q_AUTH" shadow
  fi
  for u in "$Q_SEND" "$Q_REMOTE" "$Q_SMTPD"; do ensure_member "$u" "$Q_QUEUE"; done
  # its members may list the queue (the setuid copy bin/qstat, 4750)
  ensure_group "$Q_ADMIN"
  # qremote reads the messages: qsend's group
  ensure_member "$Q_REMOTE" "$Q_SEND"
  # Daemons run under these accounts: they must reach DIR and BINDIR.
  chmod 755 "$DIR" || die 111 "unable to chmod $DIR"
  s6-setuidgid "$Q_LOG" test -x "$DIR/." ||
    die 111 "$DIR is not reachable by other users: make its parent directories traversable (chmod o+x)"
  s6-setuidgid "$Q_SMTPD" test -x "$BINDIR/." ||
    die 111 "$BINDIR is not reachable by other users: install with make install PREFIX=... into a traversable place"
  # Root runs these programs (qsend, qlspawn, qlisten, qpop3d, qauth...):
  # whoever could change one, or its directory, would be root. BINDIR, each
  # program in it and the directory of each (a link's target) must be
  # root's and writable by nobody else (group write only for group root).
  unsafe=$( { find -L "$BINDIR" -mindepth 1 -maxdepth 1 -print |
      while IFS= read -r f; do
        r=$(readlink -f "$f") || { echo "$f"; continue; }
        echo "$r"
        dirname "$r"
      done
      echo "$BINDIR"
    } | sort -u | while IFS= read -r p; do
      find "$p" -maxdepth 0 \( ! -uid 0 -o -perm -o+w -o \( -perm -g+w ! -gid 0 \) \) -print
    done)
  [ -z "$unsafe" ] || die 111 "the programs run as root must be root's and writable by root only; not so:
$unsafe"
fi

# qmetrics' account: reads the logs (qmta-log) and runs bin/qstat (qmta-admin)
Q_METRICS=qmta-metrics
if [ -n "$ROOT" ] && [ -n "$L_metrics" ]; then
  KNOWN_USERS="$KNOWN_USERS
$(getent passwd "$Q_METRICS")"
  ensure_user "$Q_METRICS"
  ensure_member "$Q_METRICS" "$Q_LOG"
  ensure_member "$Q_METRICS" "$Q_ADMIN"
fi

# ---- helpers ---------------------------------------------------------------

# hostport "IP PORT": IP:PORT, IPv6 in brackets.
hostport() {
  case ${1% *} in *:*) echo "[${1% *}]:${1#* }" ;; *) echo "${1% *}:${1#* }" ;; esac
}

# mkd PATH MODE [USER:GROUP]: a directory with that mode (and owner, as root).
mkd() {
  mkdirs "$2" "$3" "$1"
}
# mkdirs MODE USER:GROUP PATH...: many at once (few processes: this is fast).
mkdirs() {
  md_mode=$1; md_owner=$2; shift 2
  mkdir -p "$@" || die 111 "unable to create $*"
  if [ -n "$ROOT" ] && [ -n "$md_owner" ]; then chown "$md_owner" "$@" || die 111 "unable to chown $*"; fi
  chmod "$md_mode" "$@" || die 111 "unable to chmod $*"
  # chmod keeps a directory's set-id bits unless told: a mode without
  # them (an older qsetup made queue directories setgid) clears them
  case $md_mode in [2367]???) ;; *) chmod g-s "$@" || die 111 "unable to chmod $*" ;; esac
  case $md_mode in [4567]???) ;; *) chmod u-s "$@" || die 111 "unable to chmod $*" ;; esac
}
# own PATH USER:GROUP: chown on a root instance only.
own() {
  [ -n "$ROOT" ] || return 0
  chown "$2" "$1" || die 111 "unable to chown $1"
}
# put FILE MODE [TEXT]: writes TEXT (or stdin) to FILE atomically.
put() {
  if [ $# -ge 3 ]; then
    printf '%s' "$3" > "$1.qsetup-tmp"
  else
    cat > "$1.qsetup-tmp"
  fi || { rm -f "$1.qsetup-tmp"; die 111 "unable to write $1"; }
  chmod "$2" "$1.qsetup-tmp" || die 111 "unable to chmod $1"
  mv -f "$1.qsetup-tmp" "$1" || die 111 "unable to write $1"
}
# default NAME MODE TEXT: control/NAME gets TEXT unless it exists.
default() {
  [ -e "$DIR/control/$1" ] || put "$DIR/control/$1" "$2" "$3"
}
NL='
'


# ---- control/ --------------------------------------------------------------

mkd "$DIR/control" 755 root:root

default me 644 "$ME$NL"
if [ -n "$SENDONLY" ]; then
  default locals 644 ''
  default rcpthosts 644 ''
else
  default locals 644 "$ME$NL"
  default rcpthosts 644 "$ME$NL"
fi
default databytes 644 "10485760$NL"
default concurrencylocal 644 "10$NL"
default concurrencyremote 644 "20$NL"
default concurrencyincoming 644 "400$NL"
default concurrencyperip 644 "40$NL"
default concurrencyloopback 644 "100$NL"
default sessionsperprocess 644 "100$NL"
default queuelifetime 644 "432000$NL"
default queuewarn 644 "14400$NL"
default backoffmin 644 "300$NL"
default backoffmax 644 "3600$NL"
default timeoutsmtpd 644 "1200$NL"
default timeoutstress 644 "10$NL"
default datarate 644 "1024$NL"
default maxhops 644 "100$NL"
default maxrcpt 644 "1000$NL"
# outbound TLS policy (qremote(8), qmta-admin(7) OUTBOUND TLS POLICY): no
# entry means may for every destination
default tlspolicy 644 "# DOMAIN, .DOMAIN (below it), [MXHOST] or * (everything else), then one of
# none may encrypt verify dane dane-only. Without an entry: may.
# With a validating resolver on loopback in control/resolvers:
# * dane
"

if [ -n "$SENDONLY" ]; then
  default users 600 ''
else
  # The admin's address must exist: on this host, a login account of me
  # (root instance), else a virtual mailbox made here.
  ADMIN_USER=
  if [ "$ADMIN_DOMAIN" = "$ME" ] && [ ! -e "$DIR/control/users" ]; then
    ADMIN_USER="$ADMIN:!$NL"
    if [ -n "$ROOT" ] && [ "$ADMIN_LOCAL" != postmaster ]; then
      uid=$(getent passwd "$ADMIN_LOCAL" | cut -d: -f3)
      case $uid in ''|*[!0-9]*) ;; *) [ "$uid" -lt 1000 ] || ADMIN_USER= ;; esac
    fi
    [ -z "$ADMIN_USER" ] || [ "$ADMIN_LOCAL" = postmaster ] ||
      note "made the mailbox $ADMIN for the administrator (qpasswd $DIR $ADMIN sets a password)"
  fi
  default users 600 "# Virtual users: user@domain:HASH[:MAILBOX]  (qpasswd(8) adds and changes them;
# \"!\" = no password: the mailbox receives mail, nobody logs in)
$ADMIN_USER"
fi

if [ -e "$DIR/control/aliases" ]; then
  [ -z "$ADMIN_GIVEN" ] ||
    warn "control/aliases exists: --admin changes nothing there; point its root: and postmaster: lines at $ADMIN and run qnewmaps $DIR"
  grep -qi '^root[[:blank:]]*:' "$DIR/control/aliases" ||
    warn "control/aliases has no root: line: mail to root (cron, daemons) has nowhere to go; add root: $ADMIN and run qnewmaps $DIR"
fi
default aliases 644 "# Aliases, sendmail syntax: name: target, target, ...   then run qnewmaps.
# name: local part (every local domain), user@domain, or @domain (catch-all).
# Targets: address, :include:/file, /mbox/file, /maildir/, \"|command\",
# error:5.1.1 text, %1 (in a catch-all: the local part).
# root and postmaster: the administrator (qsetup --admin), in every local domain.
root: $ADMIN
postmaster: $ADMIN
mailer-daemon: $ADMIN
abuse: $ADMIN
"

if [ -n "$SENDONLY" ]; then
  default access 644 "# Access rules, sendmail syntax: [Connect:|From:|To:]key  OK|RELAY|REJECT|DISCARD|ERROR:x.y.z:nnn text
# then run qnewmaps. Send-only instance: the local host relays, nobody else.
127.0.0.1	RELAY
IPv6:::1	RELAY
"
else
  default access 644 "# Access rules, sendmail syntax: [Connect:|From:|To:]key  OK|RELAY|REJECT|DISCARD|ERROR:x.y.z:nnn text
# then run qnewmaps. Example: clients of 192.168.1.x may relay:
#192.168.1	RELAY
"
fi

default generics 644 "# Rewriting of locally injected mail: user or user@host <blanks> new-address
# then run qnewmaps. Example:
#joe	joe.smith@example.org
"

# ---- queue/ (see lib/queue.h) ----------------------------------------------

# Two rights (lib/queue.h, "Who may do what"): the writers (qsmtpd's
# account, local users through the setgid bin/qinject, root's qinject as
# nobody) are the queue group qmta-queue and nothing else; the queue is
# qsend's: qmta-send owns every directory of messages and its group
# (qmta-send, qmta-remote, and admins who run qstat) reads them. queue/
# lets in the queue group only (readers are members too). The writers get
# the "other" bits (they are in neither class above): tmp/ is write and
# search only (they create a file there and list nothing); new/ and pool/
# also let them list (queue_commit fsyncs new/, which takes a descriptor
# opened for reading; a writer takes back pooled files of its own uid),
# and the sticky bit keeps each from removing or renaming another's file.
# tmp/ is setgid: a queue file gets group qmta-send, readable by qsend's
# group and by its writer, by no other writer. mess/, info/, bounce/,
# bad/ and flush/ are closed to them.
# queue/ itself is not writable by anyone but root: nobody else adds,
# removes or replaces a directory in it.
mkd "$DIR/queue" 750 "root:$Q_QUEUE"
# mess/ and info/ stay root's, and chown and chmod follow a symbolic link:
# their subdirectories are set up while nobody else may add or replace one
# (0750; an old instance had them writable by the queue group), and a link
# found there is removed, never followed (else whoever planted it could
# have root chown any directory to qsend).
for d in "$DIR/queue/mess" "$DIR/queue/info"; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then chmod 750 "$d" || die 111 "unable to chmod $d"; fi
done
mkdirs 750 "root:$Q_SEND" "$DIR/queue/mess" "$DIR/queue/info"
set --
i=0
while [ $i -lt 32 ]; do
  for sub in "$DIR/queue/mess/$i" "$DIR/queue/info/$i"; do
    if [ -L "$sub" ]; then
      rm -f "$sub" || die 111 "unable to remove the symbolic link $sub"
      warn "removed the symbolic link $sub"
    fi
    set -- "$@" "$sub"
  done
  i=$((i + 1))
done
mkdirs 750 "$Q_SEND:$Q_SEND" "$@"
# Directly in queue/ (root's): no link can be planted where these are.
mkdirs 750 "$Q_SEND:$Q_SEND" "$DIR/queue/bounce" "$DIR/queue/bad"
# sendmail -q (root) leaves requests here; setgid: qsend's group reads them
mkdirs 2750 "$Q_SEND:$Q_SEND" "$DIR/queue/flush"
# qqueue (root) leaves its requests here; qsend alone reads and removes them
mkdirs 700 "$Q_SEND:$Q_SEND" "$DIR/queue/admin"
mkdirs 3703 "$Q_SEND:$Q_SEND" "$DIR/queue/tmp"
mkdirs 1757 "$Q_SEND:$Q_SEND" "$DIR/queue/new"
mkdirs 1757 "$Q_SEND:$Q_SEND" "$DIR/queue/pool"
# The pool is a cache: emptied here, as files pooled under older modes
# (group qmta-queue) would be readable by every writer now.
find "$DIR/queue/pool" -mindepth 1 -maxdepth 1 -exec rm -rf {} + ||
  die 111 "unable to empty $DIR/queue/pool"
if [ ! -p "$DIR/queue/trigger" ]; then
  rm -f "$DIR/queue/trigger"
  mkfifo "$DIR/queue/trigger" || die 111 "unable to create $DIR/queue/trigger"
fi
# the writers poke qsend through it; only qsend reads it
own "$DIR/queue/trigger" "$Q_SEND:$Q_QUEUE"
chmod 620 "$DIR/queue/trigger" || die 111 "unable to chmod $DIR/queue/trigger"

# ---- mail/ -----------------------------------------------------------------

mkd "$DIR/mail" 750 "$Q_VMAIL:$Q_VMAIL"
if [ -z "$SENDONLY" ]; then
  mkd "$DIR/mail/$ME" 750 "$Q_VMAIL:$Q_VMAIL"
  # the Maildir of the administrator's mailbox, when it is a virtual user of me
  if [ "$ADMIN_DOMAIN" = "$ME" ] && cut -d: -f1 "$DIR/control/users" | grep -qixF "$ADMIN"; then
    pm=$DIR/mail/$ME/$(printf '%s' "$ADMIN_LOCAL" | tr 'A-Z' 'a-z')
    mkdirs 700 "$Q_VMAIL:$Q_VMAIL" "$pm" "$pm/tmp" "$pm/new" "$pm/cur"
  fi
fi

# ---- auth/: qauth's table of failed logins --------------------------------

mkd "$DIR/auth" 700 "$Q_SMTPD:$Q_SMTPD"

# ---- sts/: qremote's cache of MTA-STS policies ------------------------------

mkd "$DIR/sts" 700 "$Q_REMOTE:$Q_REMOTE"

# ---- tls/ ------------------------------------------------------------------

mkd "$DIR/tls" 750 "root:$Q_TLS"
if [ ! -e "$DIR/tls/cert.pem" ] && [ ! -e "$DIR/tls/key.pem" ]; then
  rm -f "$DIR/tls/key.pem.tmp" "$DIR/tls/cert.pem.tmp"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$ME" \
    -addext "subjectAltName=DNS:$ME" \
    -keyout "$DIR/tls/key.pem.tmp" -out "$DIR/tls/cert.pem.tmp" >/dev/null 2>&1 ||
    { rm -f "$DIR/tls/key.pem.tmp" "$DIR/tls/cert.pem.tmp"; die 111 "unable to make a certificate with openssl"; }
  own "$DIR/tls/key.pem.tmp" "$Q_TLS:$Q_TLS"
  chmod 400 "$DIR/tls/key.pem.tmp" && chmod 644 "$DIR/tls/cert.pem.tmp" &&
    mv -f "$DIR/tls/key.pem.tmp" "$DIR/tls/key.pem" &&
    mv -f "$DIR/tls/cert.pem.tmp" "$DIR/tls/cert.pem" || die 111 "unable to install the certificate"
  note "made a self-signed certificate for $ME in $DIR/tls (replace cert.pem and key.pem with real ones)"
elif [ ! -e "$DIR/tls/cert.pem" ] || [ ! -e "$DIR/tls/key.pem" ]; then
  warn "only one of $DIR/tls/cert.pem and key.pem exists: TLS will not work"
fi

# ---- bin/: the setgid qinject for local users --------------------------------

# The copy serves this instance and no other: DIR is written into it, into
# the bytes qinject keeps after the tag below (qinject.c, HOME_TAG and
# HOME_MAX). Run setgid, it writes that queue only; a caller who names
# another QHOME gets a qinject without the queue group. Without QHOME it
# uses DIR (on a non-root instance too, where it is not setgid).
QI_TAG=qmta-qinject-home:
QI_HOME_MAX=1024
mkd "$DIR/bin" 755 root:root
if [ -f "$BINDIR/qinject" ]; then
  qi=$DIR/bin/qinject.qsetup-tmp
  rm -f "$qi"
  cp -L "$BINDIR/qinject" "$qi" || die 111 "unable to copy qinject"
  [ ${#DIR} -lt $QI_HOME_MAX ] || { rm -f "$qi"; die 100 "instance path too long for qinject: $DIR"; }
  # the tag's offset; exactly one, or the copy is not ours to patch
  qi_at=$(LC_ALL=C grep -obUa "$QI_TAG" "$qi" | cut -d: -f1)
  case $qi_at in
    ''|*[!0-9]*) rm -f "$qi"; die 111 "unable to find the place for the instance path in $BINDIR/qinject" ;;
  esac
  printf '%s\0' "$DIR" |
    dd of="$qi" bs=1 seek=$((qi_at + ${#QI_TAG})) conv=notrunc 2>/dev/null ||
    { rm -f "$qi"; die 111 "unable to write the instance path into $DIR/bin/qinject"; }
  if [ -n "$ROOT" ]; then
    chown "root:$Q_QUEUE" "$qi" && chmod 2755 "$qi" || die 111 "unable to set up $DIR/bin/qinject"
  else
    chmod 755 "$qi" || die 111 "unable to set up $DIR/bin/qinject"
  fi
  mv -f "$qi" "$DIR/bin/qinject" || die 111 "unable to install $DIR/bin/qinject"
else
  warn "no qinject in $BINDIR: $DIR/bin/qinject not installed"
fi

# ---- bin/qstat: the queue listing for the group qmta-admin ------------------

# A copy of qstat, setuid root and runnable by the group only: it lists
# the instance it lies in (DIR, from its own path) and nothing else, as
# qmta-send (the queue's reader), which it becomes first (qstat.c).
if [ -n "$ROOT" ] && [ -f "$BINDIR/qstat" ]; then
  qs=$DIR/bin/qstat.qsetup-tmp
  rm -f "$qs"
  cp -L "$BINDIR/qstat" "$qs" && chown "root:$Q_ADMIN" "$qs" && chmod 4750 "$qs" &&
    mv -f "$qs" "$DIR/bin/qstat" || { rm -f "$qs"; die 111 "unable to install $DIR/bin/qstat"; }
fi

# ---- log/ and service/ -----------------------------------------------------

mkd "$DIR/log" 755 root:root
mkd "$DIR/service" 755 root:root

# Every run script starts with this: the instance, PATH with BINDIR first,
# stderr into the logger, and ctl NAME DEFAULT [positive] to read a number
# from control/ (a bad or too large number, or with "positive" a 0, gives
# DEFAULT: a bad setting never keeps a service from starting).
run_header() {
  cat <<EOF
#!/bin/sh
# $1 (written by qsetup: rerunning qsetup rewrites this file)
QHOME=$DIR
PATH=$BINDIR:/usr/bin:/bin
export QHOME PATH
cd "\$QHOME" || exit 111
exec 2>&1
EOF
}
ctl_function() {
  cat <<'EOF'
ctl() {
  v=$(sed -e 's/#.*//' -e 's/^[[:blank:]]*//' -e 's/[[:blank:]]*$//' -e '/^$/d' -e q \
    "control/$1" 2>/dev/null)
  case $v in ''|*[!0-9]*|???????*) v=$2 ;; esac
  [ "$v" -le 100000 ] || v=$2
  [ "$v" != 0 ] || [ "$3" != positive ] || v=$2
  echo "$v"
}
EOF
}

# service NAME: creates service/NAME/ and service/NAME/log/ (s6-log into
# log/NAME); the caller then writes service/NAME/run from stdin via runfile.
service() {
  sv=$DIR/service/$1
  mkdirs 755 root:root "$sv" "$sv/log"
  mkd "$DIR/log/$1" 750 "$Q_LOG:$Q_LOG"
  if [ -n "$ROOT" ]; then setuid="s6-setuidgid $Q_LOG "; else setuid=; fi
  put "$sv/log/run" 755 <<EOF
#!/bin/sh
# logger of $1 (written by qsetup)
PATH=$BINDIR:/usr/bin:/bin
export PATH
exec ${setuid}s6-log -b n20 s1000000 T $DIR/log/$1
EOF
  # Readiness: the daemon (or qready, for Dovecot) writes a line to fd 3.
  echo 3 | put "$sv/notification-fd" 644
}
runfile() { put "$DIR/service/$1/run" 755; }

# qsend: starts as root, forks qlspawn and qrspawn (found through PATH),
# drops to qmta-send.
service qsend
{ run_header "qsend: the queue scheduler"; echo "exec qsend -d 3"; } | runfile qsend

# qtlsd: the TLS service of every listener (STARTTLS, STLS, ports 465 and
# 995); the only process that reads tls/key.pem. Its socket is in run/,
# reachable by the session programs' account only.
if [ -n "$LISTENERS" ]; then
  mkd "$DIR/run" 755 root:root
  service tlsd
  if [ -n "$ROOT" ]; then TLSDUSER="-u $Q_TLS -g $Q_SMTPD "; else TLSDUSER=; fi
  { run_header "tlsd: the TLS service of the listeners"
    echo "exec qtlsd -d 3 ${TLSDUSER}-c tls/cert.pem -k tls/key.pem $DIR/run/tlsd"
  } | runfile tlsd
fi

# qauthd: the password service, for the qauth that qsmtpd runs as
# qmta-smtpd (root's qauth, for POP3 and Dovecot, reads the hashes
# itself). Its socket is in run/, reachable by the session account only.
# A send-only instance has no users: no AUTH, no service.
if [ -n "$LISTENERS" ] && [ -z "$SENDONLY" ]; then
  service authd
  if [ -n "$ROOT" ]; then AUTHDUSER="-u $Q_AUTH -g $Q_SMTPD "; else AUTHDUSER=; fi
  { run_header "authd: the password service"
    echo "exec qauthd -d 3 ${AUTHDUSER}$DIR/run/authd"
  } | runfile authd
fi

# qdkimd: DKIM signing for every instance (qsmtpd for authenticated and
# relay clients, the setgid qinject for local mail), as qmta-dkim, the only
# reader of control/dkim/ (the keys: qdkim-keygen writes them); its socket
# is the queue group's. DKIM and DMARC verification where port 25 listens,
# as qmta-dkimv, which reads no key; its socket is the session account's.
mkd "$DIR/run" 755 root:root
mkd "$DIR/control/dkim" 750 "root:$Q_DKIM"
if [ -n "$ROOT" ]; then
  # keys written before (by qdkim-keygen as root): readable by the signer only
  find "$DIR/control/dkim" -mindepth 1 -maxdepth 2 \( -type d -exec chown "root:$Q_DKIM" {} + \
    -exec chmod 750 {} + \) -o \( -type f -exec chown "root:$Q_DKIM" {} + -exec chmod 640 {} + \) ||
    die 111 "unable to set the owner of control/dkim"
fi
service dkimsign
if [ -n "$ROOT" ]; then DKIMUSER="-u $Q_DKIM -g $Q_QUEUE "; else DKIMUSER=; fi
{ run_header "dkimsign: the DKIM signer"
  echo "exec qdkimd -d 3 ${DKIMUSER}-s $DIR/run/dkimsign"
} | runfile dkimsign
if [ -n "$L_smtp" ] && [ -z "$SENDONLY" ]; then
  service dkimverify
  if [ -n "$ROOT" ]; then DKIMVUSER="-u $Q_DKIMV -g $Q_SMTPD "; else DKIMVUSER=; fi
  { run_header "dkimverify: DKIM and DMARC verification for port 25"
    echo "exec qdkimd -d 3 ${DKIMVUSER}-v $DIR/run/dkimverify"
  } | runfile dkimverify
fi

# A listener: qlisten binds as root and becomes the session programs'
# account; it enforces the connection limits (total, per client address,
# per loopback address) with the reply for a refused client, reads the
# rules CDB that qnewmaps compiles from control/access, and signals
# readiness itself. SMTP sessions run in pool mode: each qsmtpd serves
# control/sessionsperprocess connections in turn (1: a fresh process for
# every connection).
#   listener NAME "IP PORT" RULES BUSYREPLY FULLREPLY POOL PROGRAM...
listener() {
  ln_name=$1; ln_ip=${2% *}; ln_port=${2#* }; ln_rules=$3; ln_reply=$4; ln_full=$5; ln_pool=$6
  shift 6
  service "$ln_name"
  {
    run_header "$ln_name: listener on $ln_ip port $ln_port"
    ctl_function
    echo "QTLSD=$DIR/run/tlsd"
    echo "export QTLSD"
    # 587 and 465 are both submission ports (RFC 8314 3.3): MAIL needs AUTH
    # (RFC 6409 4.3)
    case $ln_name in submission|smtps) printf 'SUBMISSION=1\nexport SUBMISSION\n' ;; esac
    case $ln_name in smtps|pop3s) printf 'IMPLICITTLS=1\nexport IMPLICITTLS\n' ;; esac
    # no QINJECT: qsmtpd (qmta-smtpd is in the queue group) writes the queue
    # itself with qinject's code; an admin sets QINJECT here for a filter
    echo "exec qlisten -d 3 -c \"\$(ctl concurrencyincoming 400 positive)\" -p \"\$(ctl concurrencyperip 40)\" \\"
    echo "  -P \"\$(ctl concurrencyloopback 100)\" -b 256 -l $ME -S $DIR/run/$ln_name.conns \\"
    [ -z "$ln_pool" ] || echo "  -s \"\$(ctl sessionsperprocess 100 positive)\" $SMTPDUSER\\"
    [ -z "$ln_rules" ] || echo "  -x $ln_rules \\"
    echo "  -m '$ln_reply' -M '$ln_full' \\"
    echo "  $ln_ip $ln_port $*"
  } | runfile "$ln_name"
}

if [ -n "$ROOT" ]; then
  SMTPDUSER="-u $Q_SMTPD "
else
  SMTPDUSER=
fi
RULES=control/tcp.smtp.cdb
BUSY_SMTP="421 4.7.0 too many connections from your address"
FULL_SMTP="421 4.3.2 too many connections, try again later"
BUSY_POP3="-ERR [SYS/TEMP] too many connections from your address"
FULL_POP3="-ERR [SYS/TEMP] too many connections, try again later"
# qpop3d starts as root and separates its privileges itself (qpop3d(8)):
# one process per connection. A TLS port gets no plaintext refusal.
for name in $LISTENERS; do
  eval "addr=\$L_$name"
  case $name in
    smtp|submission) listener "$name" "$addr" "$RULES" "$BUSY_SMTP" "$FULL_SMTP" pool qsmtpd ;;
    smtps) listener smtps "$addr" "$RULES" "" "" pool qsmtpd ;;
    pop3) listener pop3 "$addr" "" "$BUSY_POP3" "$FULL_POP3" "" qpop3d qauth qpop3d -s ;;
    pop3s) listener pop3s "$addr" "" "" "" "" qpop3d qauth qpop3d -s ;;
  esac
done

# metrics: qmetrics -l (qmetrics(8)) as its own account, with its state in
# metrics/ (the only thing it writes). Only with --metrics.
if [ -n "$L_metrics" ]; then
  mkd "$DIR/metrics" 700 "$Q_METRICS:$Q_METRICS"
  service metrics
  if [ -n "$ROOT" ]; then METRICSUSER="s6-setuidgid $Q_METRICS "; else METRICSUSER=; fi
  { run_header "metrics: the instance's figures for Prometheus on $(hostport "$L_metrics")"
    echo "exec ${METRICSUSER}qmetrics -d 3 -s $DIR/metrics/state -l $(hostport "$L_metrics")"
  } | runfile metrics
fi

# IMAP: Dovecot with the configuration qdovecot-conf writes into dovecot/.
if [ -n "$L_imap" ] || [ -n "$L_imaps" ]; then
  [ -x "$BINDIR/qdovecot-conf" ] || die 111 "no qdovecot-conf in $BINDIR"
  DOVECOT=$(command -v dovecot) || die 111 "dovecot is not installed (apt-get install dovecot-imapd)"
  set --
  if [ -n "$L_imap" ]; then set -- "$@" --imap "$(hostport "$L_imap")"; fi
  if [ -n "$L_imaps" ]; then set -- "$@" --imaps "$(hostport "$L_imaps")"; fi
  "$BINDIR/qdovecot-conf" "$DIR" "$@" --qauth "$BINDIR/qauth" ||
    die 111 "qdovecot-conf failed"
  service imap
  {
    run_header "imap: Dovecot"
    echo "exec qready -d 3 $DOVECOT -F -c $DIR/dovecot/dovecot.conf"
  } | runfile imap
fi

# ---- maps ------------------------------------------------------------------

if [ -x "$BINDIR/qnewmaps" ]; then
  "$BINDIR/qnewmaps" "$DIR" || die 111 "qnewmaps failed"
  # passwords.cdb holds the hashes: root's, readable by qauthd's group;
  # users.cdb (who is a user, and the mailbox) no longer holds any
  if [ -n "$ROOT" ] && [ -f "$DIR/control/passwords.cdb" ]; then
    chown "root:$Q_AUTH" "$DIR/control/passwords.cdb" && chmod 640 "$DIR/control/passwords.cdb" ||
      die 111 "unable to set the owner of control/passwords.cdb"
  fi
  if [ -n "$ROOT" ] && [ -f "$DIR/control/users.cdb" ]; then
    chown root:root "$DIR/control/users.cdb" && chmod 644 "$DIR/control/users.cdb" ||
      die 111 "unable to set the owner of control/users.cdb"
  fi
else
  warn "no qnewmaps in $BINDIR: maps not compiled"
fi

note "instance ready in $DIR: run s6-svscan $DIR/service"
exit 0
