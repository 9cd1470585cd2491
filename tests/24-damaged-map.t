#!/bin/sh
# A damaged map is a temporary error everywhere, never a bounce or a 550:
# users.cdb's body is overwritten in place with garbage (its 2048-byte
# header kept), while qlspawn and the listeners have it open. Then a
# message queued for alice is deferred (4.3.0), RCPT to her gets 451
# 4.3.0, her SMTP AUTH login 454 4.7.0 and her POP3 login -ERR [SYS/TEMP];
# the logs say loudly that the map is damaged. qnewmaps rebuilds it, and
# the deferred message is delivered at the next flush.
. "$(dirname "$0")/lib.sh"
plan 17

PORT=$(free_port)
POP=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT --pop3 127.0.0.1:$POP
echo 'alice secret' | qpasswd "$QHOME" alice@test.example >/dev/null 2>&1 || bail "qpasswd failed"
{
  echo 'bob@test.example:!'
  i=0
  while [ $i -lt 300 ]; do echo "u$i@test.example:!"; i=$((i + 1)); done
} >>"$QHOME/control/users"
: >"$QHOME/control/authplaintext" # AUTH and USER/PASS from loopback without TLS
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
ALICE="$QHOME/mail/test.example/alice"
QLOG="$QHOME/log/qsend/current"
SLOG="$QHOME/log/smtp/current"
PLOG="$QHOME/log/pop3/current"
MAP="$QHOME/control/users.cdb"

# session CHECKS: one SMTP session from loopback (and POP3 logins) as
# python; prints "tag=reply" lines
session() {
  PORT=$PORT POP=$POP python3 -c '
import os, smtplib, poplib, base64
port, pop = int(os.environ["PORT"]), int(os.environ["POP"])
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.example")
print("mail=%d" % s.docmd("MAIL", "FROM:<x@else.example>")[0])
code, text = s.docmd("RCPT", "TO:<alice@test.example>")
print("rcpt=%d %s" % (code, text.decode("latin-1")))
s.docmd("RSET")
tok = base64.b64encode(b"\0alice@test.example\0alice secret").decode()
code, text = s.docmd("AUTH", "PLAIN " + tok)
print("auth=%d %s" % (code, text.decode("latin-1")))
s.quit()
p = poplib.POP3("127.0.0.1", pop, timeout=30)
p.user("alice@test.example")
try:
    print("pop=" + p.pass_("alice secret").decode("latin-1"))
except poplib.error_proto as e:
    print("pop=" + e.args[0].decode("latin-1"))
' 2>&1
}
reply_of() { sed -n "s/^$1=//p" "$T_TMP/session"; }

printf 'Subject: before\n\nfirst\n' | qinject -f carol@else.example alice@test.example
ok "a message before the damage is delivered (qlspawn keeps users.cdb open)" \
  wait_for 20 has_mail "$ALICE" 1
session >"$T_TMP/session"
ok "before the damage: RCPT to alice accepted" grep -q '^rcpt=250' "$T_TMP/session"
ok "before the damage: alice logs in over SMTP and POP3" \
  sh -c "grep -q '^auth=235' '$T_TMP/session' && grep -q '^pop=+OK' '$T_TMP/session'"

# the damage: every byte after the header replaced, the size kept, in place
python3 - "$MAP" <<'EOF'
import random, sys
rnd = random.Random(20240915)
with open(sys.argv[1], "r+b") as f:
    f.seek(0, 2)
    size = f.tell()
    f.seek(2048)
    f.write(bytes(rnd.getrandbits(8) for _ in range(size - 2048)))
EOF
sleep 0.1

printf 'Subject: during\n\nsecond\n' | qinject -f carol@else.example alice@test.example
is "$?" 0 "a message for alice is queued"
deferred() { grep -q 'local alice@test.example deferred: .*users.cdb.*#4\.3\.0' "$QLOG"; }
ok "its delivery is deferred (4.3.0)" wait_for 20 deferred
ok "and not bounced" sh -c "! grep -q 'local alice@test.example failed' '$QLOG'"
ok "qsend's log says loudly that the map is damaged" \
  grep -q 'qlspawn: warning: control/users.cdb is damaged: ' "$QLOG"
ok "qstat shows alice deferred" sh -c "qstat '$QHOME' | grep -q 'deferred.*alice@test.example\|alice@test.example.*deferred'"

session >"$T_TMP/session"
is "$(reply_of rcpt)" "451 4.3.0 temporary lookup failure" "RCPT to alice: 451 4.3.0"
is "$(reply_of auth | cut -c1-9)" "454 4.7.0" "SMTP AUTH as alice: 454 4.7.0, not 535"
is "$(reply_of pop | cut -c1-15)" "-ERR [SYS/TEMP]" "POP3 login as alice: -ERR [SYS/TEMP]"
ok "the SMTP log says the map is damaged (qauth)" \
  grep -q 'qauth: warning: control/users.cdb is damaged: ' "$SLOG"
ok "the POP3 log says the map is damaged (qauth)" \
  grep -q 'qauth: warning: control/users.cdb is damaged: ' "$PLOG"

# qnewmaps writes a good map again; the deferred message goes out at the flush
qnewmaps "$QHOME" >/dev/null 2>&1
is "$?" 0 "qnewmaps rebuilds users.cdb"
s6-svc -a "$QHOME/service/qsend"
ok "the deferred message is delivered after the flush" wait_for 20 has_mail "$ALICE" 2
session >"$T_TMP/session"
ok "RCPT to alice accepted again" sh -c "grep -q '^rcpt=250' '$T_TMP/session'"
ok "alice logs in again over SMTP and POP3" \
  sh -c "grep -q '^auth=235' '$T_TMP/session' && grep -q '^pop=+OK' '$T_TMP/session'"
