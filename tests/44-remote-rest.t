#!/bin/sh
# Which temporary failures rest a destination, through a whole instance
# routed to a recording sink (control/smtproutes). A 4xx to one recipient
# (greylisting, a full mailbox) or to one message after its data defers
# that recipient alone: the next message to the domain goes out at once.
# A failure of the destination itself (a 4xx to MAIL, to every one of
# several recipients, no answer at all) rests it: its other mail waits,
# shown as "destination resting" by qstat, without a try counted.
. "$(dirname "$0")/lib.sh"
plan 12

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

IP=127.0.44.2
PORT=$(free_port $IP)
DEAD=$(free_port $IP)
SINK=$T_TMP/sink
RULES=$T_TMP/rules
echo "rcpt grey@big.test 451 4.7.1 greylisted, try again later" >"$RULES"
python3 "$T_ROOT/tests/smtpsink.py" "$SINK" "$IP:$PORT" --rules "$RULES" >"$T_TMP/sink.out" 2>&1 &
SINK_PID=$!
wait_for 20 test -e "$SINK/ready" || bail "smtpsink did not start"

inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
{ echo "big.test:$IP:$PORT"; echo "down.test:$IP:$PORT"; echo "dead.test:$IP:$DEAD"; } \
  >"$QHOME/control/smtproutes"
# a resting destination would hold its mail for an hour: nothing is retried here
echo 3600 >"$QHOME/control/backoffmin"
echo 3600 >"$QHOME/control/backoffmax"
inst_start

LOG=$QHOME/log/qsend/current
in_sink() { grep -q "\"$1\"" "$SINK/log.jsonl" 2>/dev/null; }
deferred() { grep -q " $1 deferred: " "$LOG" 2>/dev/null; }
tries_of() { grep -c " $1 deferred: " "$LOG" 2>/dev/null; }
inject() { printf 'From: alice@test.example\nSubject: %s\n\nhello\n' "$1" |
  qinject -f alice@test.example "$@"; }
# held ADDRESS: qstat lists it as held back by a resting destination
held() { qstat "$QHOME" | grep -A1 "<$1>" | grep -q 'destination resting'; }

# 1. one greylisted mailbox: deferred alone, the domain's next mail goes out
inject grey@big.test
ok "the greylisted recipient is deferred with the server's reply" \
  wait_for 30 sh -c "grep -q 'grey@big.test deferred: .*said: 451 4.7.1 greylisted' '$LOG'"
inject next@big.test
ok "the next message to the same domain is delivered at once" wait_for 20 in_sink next@big.test
ok "the greylisted recipient is not shown as a resting destination" sh -c "! qstat '$QHOME' | \
  grep -q 'destination resting'"

# 2. a 4xx after the data of one message defers that message alone
echo "data 451 4.7.0 content scan unavailable" >"$RULES"
inject scan@big.test
ok "a 4xx after the data defers the message" wait_for 30 deferred scan@big.test
: >"$RULES"
inject after@big.test
ok "the domain's next message is delivered at once" wait_for 20 in_sink after@big.test

# 3. a 4xx to MAIL is the destination's: its next message waits with a reason
echo "mail 451 4.3.2 system not accepting mail" >"$RULES"
inject one@down.test
ok "a 4xx to MAIL defers" wait_for 30 deferred one@down.test
: >"$RULES"
inject two@down.test
ok "the destination rests: its next message is held back" wait_for 20 held two@down.test
is "$(tries_of two@down.test)" 0 "without an attempt"
ok "and not sent" sh -c "! grep -q '\"two@down.test\"' '$SINK/log.jsonl'"

# 4. a 4xx to every one of several recipients: the destination rests too
{ echo "rcpt a@big2.test 451 4.3.0 busy"; echo "rcpt b@big2.test 451 4.3.0 busy"; } >"$RULES"
echo "big2.test:$IP:$PORT" >>"$QHOME/control/smtproutes"
inject a@big2.test b@big2.test
ok "both recipients deferred" wait_for 30 sh -c "grep -q 'a@big2.test deferred: ' '$LOG' && \
  grep -q 'b@big2.test deferred: ' '$LOG'"
inject c@big2.test
ok "the destination rests: its next message is held back" wait_for 20 held c@big2.test

# 5. nobody answers: the destination rests
inject x@dead.test
wait_for 30 deferred x@dead.test
inject y@dead.test
ok "an unreachable destination rests as before" wait_for 20 held y@dead.test
