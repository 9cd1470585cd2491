#!/bin/sh
# The instance qsetup makes comes up under s6-svscan: every service ready,
# listeners answering on IPv4 and IPv6, daemons under their accounts, logs
# written, a message delivered; qlisten's per-address limit; a clean stop.
. "$(dirname "$0")/lib.sh"

plan 24

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
# (qsend, tlsd, authd, dkimsign, dkimverify, smtp, submission, and pop3 and imap
# when built: pad the plan)
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

# qlisten's limit per address, here for loopback addresses
# (control/concurrencyloopback, read when the listener starts)
echo 2 > "$QHOME/control/concurrencyloopback"
s6-svc -r "$QHOME/service/smtp"
wait_for 10 sh -c "s6-svstat -o up,ready '$QHOME/service/smtp' | grep -qx 'true true'" >/dev/null
python3 - $SMTP >"$T_TMP/perip.out" 2>&1 <<'PY'
import socket, sys
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s, s.makefile("rb").readline().decode().strip()
a, ra = conn("127.0.0.1")
b, rb = conn("127.0.0.1")
c, rc = conn("127.0.0.1")
print("third:", rc)
d, rd = conn("127.0.0.2")
print("other:", rd[:3])
a.close()
import time
for i in range(100):
    time.sleep(0.1)
    e, re_ = conn("127.0.0.1")
    if re_.startswith("220"):
        break
    e.close()
print("again:", re_[:3])
PY
is "$(sed -n 's/^third: //p' "$T_TMP/perip.out")" "421 4.7.0 too many connections from your address" \
  "a third connection from one address is refused"
is "$(sed -n 's/^other: //p' "$T_TMP/perip.out")" 220 "another address is not"
is "$(sed -n 's/^again: //p' "$T_TMP/perip.out")" 220 "slots come back when connections end"
ok "the refusal is logged" grep -q 'qlisten: refuse ip=127.0.0.1 reason=perip limit=2' "$QHOME/log/smtp/current"

# a clean stop: s6-svscan exits and nothing of the instance is left
inst_stop
left=$(ps -eo args= | grep -F "$QHOME" | grep -v grep)
is "$left" "" "no process of the instance is left after s6-svscanctl -t"
