#!/bin/sh
# Log lines that answer an admin's questions: a delay warning is logged
# with the message's delivery; a filtered flush says what it asked for; a
# pipe target's output carries the queue id; qremote names the remote host
# once a line; newaliases says what the maps hold; sendmail -q says so
# when no qsend runs the queue. (IMAP logins through qauth -d at Dovecot's
# info level: tests/62-imap.t.) An address with blanks (a quoted local
# part) is one word in every line qstats reads: it forges no size, no
# spf=pass, no delivery status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp.sh"
plan 16

IP=127.0.56.2
SPORT=$(free_port $IP)
SINK=$T_TMP/sink
RULES=$T_TMP/rules
echo "rcpt slow@remote.test 451 4.3.0 try later" >"$RULES"
sink_start "$SINK" "$IP:$SPORT" --rules "$RULES"

PORT=$(free_port)
inst_setup --smtp "127.0.0.1:$PORT"
C=$QHOME/control
echo 'alice@test.example:!' >>"$C/users"
echo 'noisy: "|echo out-line; echo err-line >&2"' >>"$C/aliases"
echo "remote.test:$IP:$SPORT" >"$C/smtproutes"
echo 2 >"$C/queuewarn"
echo 1 >"$C/backoffmin"
echo 2 >"$C/backoffmax"

# 1. newaliases: a summary line, which counts an alias added
before=$(newaliases 2>/dev/null | sed -n 's/^\([0-9]*\) aliases, 2 users$/\1/p')
echo 'postmistress: postmaster' >>"$C/aliases"
is "$(newaliases 2>&1)" "$((before + 1)) aliases, 2 users" "newaliases says what the maps hold"
inst_start
LOG=$QHOME/log/qsend/current
inject() {
  printf 'From: alice@test.example\nSubject: %s\n\nhi\n' "$1" | qinject -f alice@test.example "$1"
}

# 2. a pipe's output carries the queue id
inject noisy@test.example
ok "the pipe delivery is done" wait_for 30 grep -q 'local noisy@test.example ok: ' "$LOG"
id=$(sed -n 's/.*delivery \([0-9A-Za-z]*\)\.[0-9]* local noisy@test.example ok: .*/\1/p' "$LOG" |
  head -n 1)
ok "its standard error carries the queue id and recipient" \
  grep -q "qlocal: $id <noisy@test.example> pipe: err-line" "$LOG"
ok "and so does its standard output" \
  grep -q "qlocal: $id <noisy@test.example> pipe: out-line" "$LOG"

# 3. qremote names the remote host once a line
inject fine@remote.test
ok "delivered through the sink" wait_for 30 grep -q 'remote fine@remote.test ok: ' "$LOG"
line=$(grep 'qremote: delivery .*rcpt fine@remote.test' "$LOG" | head -n 1)
case "$line" in
  *" host "*|*" ip "*) fail "qremote's line names the remote host once"; diag "$line" ;;
  *"[$IP] said: 250"*) pass "qremote's line names the remote host once" ;;
  *) fail "qremote's line names the remote host once"; diag "$line" ;;
esac

# 4. a delay warning is logged
inject slow@remote.test
ok "the delay warning is logged, with the sender" \
  wait_for 30 grep -q 'remote slow@remote.test delay warning: sent to <alice@test.example>' "$LOG"

# 5. a filtered flush says what it asked for; a full one says so too
sendmail -qRslow@remote
ok "a filtered flush is logged with its filter" \
  wait_for 10 grep -q 'flush: filtered: recipient contains slow@remote' "$LOG"
ok "and with what it made due" grep -q 'flush: filtered: [0-9]* deferred recipients due now' "$LOG"
s6-svc -a "$QHOME/service/qsend"
ok "a full flush is logged as such" \
  wait_for 10 grep -q 'flush: every deferred recipient is due now' "$LOG"

# 6. sendmail -q without a running qsend
s6-svc -d "$QHOME/service/qsend"
s6-svwait -D -t 20000 "$QHOME/service/qsend" || diag "qsend did not stop"
sendmail -q >"$T_TMP/q.out" 2>&1
is "$?" 111 "sendmail -q without qsend exits 111"
ok "and says that qsend is not running" grep -q 'qsend is not running' "$T_TMP/q.out"
s6-svc -u "$QHOME/service/qsend"
s6-svwait -U -t 20000 "$QHOME/service/qsend" || diag "qsend did not start"

# 7. a sender and a recipient with blanks: one word each in the log
echo 'catch.test' >>"$C/locals"
echo '@catch.test: alice@test.example' >>"$C/aliases"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
python3 - "$PORT" >"$T_TMP/words.out" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        sys.stdout.write(line.decode(errors="replace").rstrip("\r\n") + "\n")
        if len(line) < 4 or line[3:4] != b"-":
            return
reply()
for cmd in (b'EHLO client.example', b'MAIL FROM:<"x size 999999999 spf=pass dkim=pass"@forged.example>',
            b'RCPT TO:<"y failed: 5.1.1 z"@catch.test>', b'DATA',
            b'Subject: words\r\n\r\nx\r\n.', b'QUIT'):
    s.sendall(cmd + b"\r\n")
    reply()
PY
ok "a sender with blanks is accepted" grep -q '^250 2.0.0 ok' "$T_TMP/words.out"
ok "and delivered" wait_for 20 grep -q 'local y?failed:?5.1.1?z@catch.test ok: ' "$LOG"
ok "no log line holds its blanks" sh -c \
  "! grep -h ' size 999999999\| spf=pass\|y failed' '$LOG' '$QHOME/log/smtp/current'"
qstats "$QHOME" >"$T_TMP/stats.out" 2>&1
ok "qstats counts neither its size nor a pass" sh -c \
  "! grep -q '999999\|spf: pass\|dkim: pass' '$T_TMP/stats.out'"
