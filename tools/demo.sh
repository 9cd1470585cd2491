#!/bin/sh
# make run: a demo instance in var/demo, run by s6-svscan in the foreground
# until Ctrl-C, which stops every service cleanly.
#
#   SMTP 127.0.0.1:2525, submission 127.0.0.1:2587, POP3 127.0.0.1:2110,
#   IMAP 127.0.0.1:2143 (if Dovecot is installed); user demo@demo.example.
cd "$(dirname "$0")/.." || exit 111
TOP=$(pwd)
ME=demo.example
DEMO=$TOP/var/demo
BIN=$TOP/bin
mkdir -p var || exit 111
chmod 755 var

die() { echo "demo: fatal: $*" >&2; exit 111; }
[ -x "$BIN/qsetup" ] || die "nothing built: run make build first"

# On a root instance the daemons run as their own accounts: they must reach
# the programs and the instance. A checkout under a private home (/root is
# 0700) is not reachable: then the demo runs from copies in /var/tmp.
if [ "$(id -u)" = 0 ] && ! s6-setuidgid nobody test -x "$BIN/." 2>/dev/null; then
  ALT=/var/tmp/qmta-demo
  echo "demo: $TOP is not reachable by other users; running from $ALT"
  mkdir -p "$ALT/bin" || die "unable to create $ALT"
  chmod 755 "$ALT" "$ALT/bin"
  for p in "$BIN"/*; do cp -L "$p" "$ALT/bin/" || die "unable to copy $p"; done
  BIN=$ALT/bin
  if [ ! -L "$DEMO" ]; then rm -rf "$DEMO"; ln -s "$ALT/inst" "$DEMO"; fi
  DEMO=$ALT/inst
fi

if s6-svscanctl -z "$DEMO/service" 2>/dev/null; then
  die "a demo is already running on $DEMO/service (stop it with s6-svscanctl -t $DEMO/service)"
fi

set -- --smtp 127.0.0.1:2525 --submission 127.0.0.1:2587
[ -x "$BIN/qpop3d" ] && set -- "$@" --pop3 127.0.0.1:2110
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] && [ -x "$BIN/qdovecot-conf" ] &&
  set -- "$@" --imap 127.0.0.1:2143
"$BIN/qsetup" "$DEMO" --me "$ME" "$@" || die "qsetup failed"

# The demo user keeps its password across runs.
PWFILE=$TOP/var/demo-password
if [ ! -s "$PWFILE" ]; then
  (umask 077; head -c 12 /dev/urandom | base64 | tr -d '/+=' > "$PWFILE") || die "unable to make a password"
fi
PASSWORD=$(cat "$PWFILE")
echo "$PASSWORD" | "$BIN/qpasswd" "$DEMO" "demo@$ME" 2>/dev/null || die "qpasswd failed"

cat <<EOF

qmta demo: instance $DEMO
  user demo@$ME, password $PASSWORD
  send a test mail:
    printf 'Subject: test\n\nhello\n' | QHOME=$DEMO $BIN/qinject -f you@example.org demo@$ME
    swaks --server 127.0.0.1:2525 --from you@example.org --to demo@$ME
  read it:
    ls $DEMO/mail/$ME/demo/new/
    POP3 127.0.0.1:2110, IMAP 127.0.0.1:2143 (STARTTLS, self-signed) as demo@$ME
  logs: $DEMO/log/*/current      queue: QHOME=$DEMO $BIN/qstat
Ctrl-C stops everything.

EOF

# s6-svscan gets its own session, so that the terminal's Ctrl-C reaches
# only this script, which then asks s6-svscan to bring every service down
# (SIGTERM to the daemons, loggers flushed) and waits for it to finish.
stop() { s6-svscanctl -t "$DEMO/service" 2>/dev/null; }
trap stop INT TERM HUP
setsid -w s6-svscan "$DEMO/service" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
echo "demo: stopped"
