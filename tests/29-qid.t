#!/bin/sh
# Queue ids (lib/queue.h): one id per message, unique for the life of the
# instance, in the 250 reply, the Received: lines and every log line of
# the message's life (qremote's and qlocal's own lines too), so that
# grep ID log/*/current shows all of it. An alias that expands to a local
# and a remote recipient re-queues them as a new message logged with
# parent=ID; a bounce names the original id. 200 messages in a row, with the pool reusing queue files,
# never share an id although their inodes come back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp.sh"
plan 21

IP=127.0.25.2
SINKPORT=$(free_port $IP)
RULES=$T_TMP/rules
echo "rcpt nobody@remote.test 550 5.1.1 no such user" >"$RULES"
SINK=$T_TMP/sink
sink_start "$SINK" "$IP:$SINKPORT" --rules "$RULES"

PORT=$(free_port 127.0.0.1)
inst_setup --smtp 127.0.0.1:$PORT
touch "$QHOME/control/relaxpipelining"
{ echo 'bob@test.example:!'; echo 'alice@test.example:!'; } >>"$QHOME/control/users"
echo 'split: bob, far@remote.test' >>"$QHOME/control/aliases"
echo "remote.test:$IP:$SINKPORT" >"$QHOME/control/smtproutes"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
BOB=$QHOME/mail/test.example/bob
ALICE=$QHOME/mail/test.example/alice
in_sink() { grep -q "\"$1\"" "$SINK/log.jsonl" 2>/dev/null; }
# logged ID TEXT: a line of some log of the instance has the id and the text
logged() { cat "$QHOME"/log/*/current | grep -F -- "$1" | grep -q -- "$2"; }

# 1. through qsmtpd to an alias of a local user and a remote address
IN=$T_TMP/in
OUT=$T_TMP/out
printf 'EHLO c.example\r\nMAIL FROM:<carl@else.example>\r\nRCPT TO:<split@test.example>\r\nDATA\r\nSubject: split\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
smtp_raw "$PORT" "$IN" >"$OUT"
ID=$(sed -n 's/^250 2.0.0 ok: queued as \([0-9A-Z]*\)$/\1/p' "$OUT")
ok "the 250 reply names the queue id" sh -c "printf '%s' '$ID' | grep -qx '[0-9A-Z]\{11,\}'"
ok "the local recipient has the message" wait_for 30 has_mail "$BOB" 1
ok "the remote address has it" wait_for 30 in_sink far@remote.test
ok "the message ends" wait_for 20 logged "$ID" "qsend: end $ID$"
ok "qsmtpd's Received: line carries the id, and it is the only one of the hop" sh -c \
  "grep -h -A3 '^Received: from c.example' '$BOB'/new/* | grep -q '^	id $ID;\$' &&
   ! grep -hq '^Received: (qmta .* id $ID)' '$BOB'/new/*"
ok "the alias's copy keeps the Authentication-Results field qsmtpd wrote on arrival" sh -c \
  "grep -q '^Authentication-Results: ' '$BOB'/new/*"
ok "qsmtpd logs the id" logged "$ID" "qsmtpd: accept .* id=$ID to=<split@test.example>"
ok "qsend logs the id when it takes the message in" logged "$ID" "qsend: new $ID from <carl@else.example>"
ok "qsend logs the start of the delivery" logged "$ID" "qsend: start $ID.0 local split@test.example"
ok "qsend logs the result of the delivery" logged "$ID" "qsend: delivery $ID.0 local split@test.example ok"
ok "the forward is logged with parent=ID" logged "$ID" "qinject: queued [0-9A-Z]* parent=$ID"
CHILD=$(cat "$QHOME"/log/*/current | sed -n "s/.*qinject: queued \([0-9A-Z]*\) parent=$ID\$/\1/p" | head -1)
ok "qsend takes the forward in under its own id, naming the parent" \
  logged "$ID" "qsend: new $CHILD parent=$ID from <carl@else.example>"
ok "the forward's remote delivery is logged under the new id" \
  wait_for 20 logged "$CHILD" "qsend: delivery $CHILD.[0-9]* remote far@remote.test ok"
ok "qremote's own line names the id too" logged "$CHILD" "qremote: delivery $CHILD: rcpt far@remote.test"
[ "$T_FAIL" = 0 ] || { diag "log lines of $ID and $CHILD:"; cat "$QHOME"/log/*/current |
  grep -e "$ID" -e "${CHILD:-none}" | sed 's/^/# /'; }

# 2. a bounce names the original id
printf 'Subject: bounce\n\nhi\n' | qinject -f alice@test.example nobody@remote.test
ok "the failure is logged" wait_for 30 sh -c "grep -q 'nobody@remote.test failed: ' '$QHOME/log/qsend/current'"
BID=$(sed -n 's/.*qsend: delivery \([0-9A-Z]*\)\.0 remote nobody@remote.test failed: .*/\1/p' "$QHOME/log/qsend/current")
ok "the bounce is logged under the original's id with the report's" \
  wait_for 20 logged "$BID" "qsend: bounce $BID: 1 recipient, report queued as [0-9A-Z]*"
ok "the report is taken in with the original as parent" \
  wait_for 20 logged "$BID" "qsend: new [0-9A-Z]* parent=$BID from <>"
ok "the sender gets the report, naming the original id" wait_for 30 sh -c \
  "has_mail() { [ \$(ls '$ALICE/new' | wc -l) -ge 1 ]; }; has_mail &&
   grep -q '^X-Qmta-Queue-ID: $BID\$' '$ALICE'/new/* && grep -q 'queue id here was $BID' '$ALICE'/new/*"

# 3. 200 messages in a row, 20 per session, each session's delivered before
#    the next: queue files come back from the pool, their ids never repeat
IDS=$T_TMP/ids
: >"$IDS"
n=0
while [ $n -lt 10 ]; do
  {
    printf 'EHLO c.example\r\n'
    i=0
    while [ $i -lt 20 ]; do
      printf 'MAIL FROM:<carl@else.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\nSubject: %s.%s\r\n\r\nhi\r\n.\r\n' $n $i
      i=$((i + 1))
    done
    printf 'QUIT\r\n'
  } >"$IN"
  smtp_raw "$PORT" "$IN" | sed -n 's/^250 2.0.0 ok: queued as \([0-9A-Z]*\)$/\1/p' >>"$IDS"
  n=$((n + 1))
  wait_for 30 has_mail "$BOB" $((1 + n * 20)) || break
done
is "$(wc -l <"$IDS" | tr -d ' ')" 200 "200 messages queued, each with an id"
is "$(sort "$IDS" | uniq -d | wc -l | tr -d ' ')" 0 "no id repeats"
INODES=$(cut -c11- "$IDS" | sort -u | wc -l | tr -d ' ')
ok "queue files were reused (only $INODES inodes for 200 messages)" [ "$INODES" -lt 200 ]

inst_stop
