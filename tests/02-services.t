#!/bin/sh
# The instance qsetup makes comes up under s6-svscan: every service ready,
# listeners answering on IPv4 and IPv6, daemons under their accounts, logs
# written, a message delivered; the per-address limit; a clean stop.
. "$(dirname "$0")/lib.sh"

plan 20

SMTP=$(free_port)
SUB=$(python3 -c 'import socket
s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
POP3=$(free_port)
IMAP=$(free_port)
set -- --smtp 127.0.0.1:$SMTP --submission "[::1]:$SUB"
[ -x "$T_ROOT/bin/qpop3d" ] && set -- "$@" --pop3 127.0.0.1:$POP3
HAVE_IMAP=
if [ -x /usr/sbin/dovecot ] && [ -x "$T_ROOT/bin/qdovecot-conf" ]; then
  set -- "$@" --imap 127.0.0.1:$IMAP
  HAVE_IMAP=1
fi
inst_setup "$@"
inst_start

# every service is up and ready
for svc in "$QHOME"/service/*/; do
  svc=${svc%/}
  ok "$(basename "$svc") up and ready" sh -c "s6-svstat '$svc' | grep -q '^up .*ready'"
done
# (qsend, smtp, submission, and pop3 and imap when built: pad the plan)
[ -d "$QHOME/service/pop3" ] || pass "# SKIP no qpop3d"
[ -n "$HAVE_IMAP" ] || pass "# SKIP no Dovecot"

# banner: first line from host port
banner() {
  python3 -c 'import socket,sys
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=10)
f=s.makefile("rb"); print(f.readline().decode().strip()); s.close()' "$1" "$2" 2>/dev/null
}
case $(banner 127.0.0.1 $SMTP) in 220*) pass "smtp answers 220 on IPv4" ;; *) fail "smtp answers 220 on IPv4" ;; esac
case $(banner ::1 $SUB) in 220*) pass "submission answers 220 on IPv6" ;; *) fail "submission answers 220 on IPv6" ;; esac
if [ -d "$QHOME/service/pop3" ]; then
  case $(banner 127.0.0.1 $POP3) in +OK*) pass "pop3 answers +OK" ;; *) fail "pop3 answers +OK" ;; esac
else
  pass "# SKIP no qpop3d"
fi
if [ -n "$HAVE_IMAP" ]; then
  case $(banner 127.0.0.1 $IMAP) in "* OK"*) pass "imap answers * OK" ;; *) fail "imap answers * OK" ;; esac
else
  pass "# SKIP no Dovecot"
fi

# accounts: what runs as whom
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
svc_pid() { s6-svstat -p "$QHOME/service/$1" 2>/dev/null; }
is "$(uid_of "$(svc_pid qsend)")" "$(id -u qmta-send)" "qsend runs as qmta-send"
is "$(uid_of "$(svc_pid smtp/log)")" "$(id -u qmta-log)" "the logger runs as qmta-log"

# a message through SMTP lands in postmaster's Maildir, and is logged
python3 -c 'import smtplib,sys
s=smtplib.SMTP("127.0.0.1",int(sys.argv[1]),timeout=20)
s.sendmail("someone@example.org",["postmaster@test.example"],b"Subject: t02-services\r\n\r\nhello\r\n")
s.quit()' $SMTP 2>"$T_TMP/smtp.err"
ok "message accepted over SMTP" test ! -s "$T_TMP/smtp.err"
ok "message delivered to postmaster" wait_for 20 sh -c "grep -rqs '^Subject: t02-services' '$QHOME/mail/test.example/postmaster/new' '$QHOME/mail/test.example/postmaster/cur'"
ok "smtp logged the session" wait_for 5 sh -c "grep -q qsmtpd '$QHOME/log/smtp/current'"
ok "qsend logged the delivery" wait_for 5 sh -c "grep -q postmaster@test.example '$QHOME/log/qsend/current'"

# qperip, as tcpserver runs it, for a client that is not loopback
echo 2 > "$QHOME/control/concurrencyperip"
L=$T_TMP/perip.lock
TCPREMOTEIP=192.0.2.7 qperip -f "$L" sleep 3 &
p1=$!
TCPREMOTEIP=192.0.2.7 qperip -f "$L" sleep 3 &
p2=$!
sleep 0.5
out=$(TCPREMOTEIP=192.0.2.7 qperip -f "$L" echo admitted 2>/dev/null | tr -d "\r")
is "$out" "421 4.7.0 too many connections from your address" "a third connection from one address is refused"
is "$(TCPREMOTEIP=192.0.2.8 qperip -f "$L" echo admitted 2>/dev/null)" admitted "another address is not"
is "$(TCPREMOTEIP=127.0.0.9 qperip -f "$L" echo admitted 2>/dev/null)" admitted "loopback is exempt"
wait $p1 $p2
is "$(TCPREMOTEIP=192.0.2.7 qperip -f "$L" echo admitted 2>/dev/null)" admitted "slots come back when connections end"

# a clean stop: s6-svscan exits and nothing of the instance is left
inst_stop
left=$(ps -eo args= | grep -F "$QHOME" | grep -v grep)
is "$left" "" "no process of the instance is left after s6-svscanctl -t"
