#!/bin/sh
# qqueue(8) against a running instance whose remote deliveries are all
# deferred (a sink that answers 451 after the data, routed by smtproutes;
# backoff of an hour, so that nothing is retried unless asked): show,
# delete one and all of a sender, hold (a flush and a restart of qsend do
# not try it) and release, requeue (tried at once), expire (bounced to the
# sender with the original's id). qsend makes each change itself: a
# deleted message is never tried again. The instance may be a last
# argument instead of $QHOME.
. "$(dirname "$0")/lib.sh"
plan 31

IP=127.0.54.2
PORT=$(free_port $IP)
RULES=$T_TMP/rules
echo "data 451 4.3.0 try again later" >"$RULES"
SINK=$T_TMP/sink
sink_start "$SINK" "$IP:$PORT" --rules "$RULES"

inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
echo "slow.test:$IP:$PORT" >"$QHOME/control/smtproutes"
echo 3600 >"$QHOME/control/backoffmin"
echo 3600 >"$QHOME/control/backoffmax"
inst_start
export QHOME
LOG=$QHOME/log/qsend/current
ALICE=$QHOME/mail/test.example/alice
in_sink() { grep -q "\"$1\"" "$SINK/log.jsonl" 2>/dev/null; }
tries() { grep -c " $1@slow.test deferred: " "$LOG"; }
send() { printf 'From: %s\nSubject: %s\n\nhello\n' "$1" "$2" | qinject -f "$1" "$2@slow.test"; }
id_of() { sed -n "s/.*qsend: delivery \([0-9A-Z]*\)\.0 remote $1@slow.test deferred: .*/\1/p" "$LOG" | head -1; }
state_of() { qstat "$QHOME" | grep "<$1@slow.test>" | awk '{print $1}'; }

for r in keep hold exp del; do send alice@test.example $r; done
send spammer@test.example x1
send spammer@test.example x2
all_deferred() { for r in keep hold exp del x1 x2; do [ "$(tries $r)" -ge 1 ] || return 1; done; }
wait_for 60 all_deferred || { sed "s/^/# /" "$LOG"; bail "not every message was deferred"; }
M_KEEP=$(id_of keep) M_HOLD=$(id_of hold) M_EXP=$(id_of exp) M_DEL=$(id_of del)

# show
qqueue show "$M_KEEP" >"$T_TMP/show" 2>&1
ok "show: the envelope" sh -c "grep -qx 'id: $M_KEEP' '$T_TMP/show' &&
  grep -qx 'sender: <alice@test.example>' '$T_TMP/show' && grep -qx 'recipient: <keep@slow.test>' '$T_TMP/show'"
ok "show: the state log and the content" sh -c "grep -q '^log: Z0 ' '$T_TMP/show' &&
  grep -qx 'Subject: keep' '$T_TMP/show' && grep -q '^Received: (qmta .* id $M_KEEP); ' '$T_TMP/show'"
env -u QHOME qqueue show "$M_KEEP" "$QHOME" >"$T_TMP/show2" 2>&1
ok "show: the instance as a last argument, as for qstat" grep -qx "id: $M_KEEP" "$T_TMP/show2"
qqueue show 0ZZZZZZZZZ1 >/dev/null 2>&1
is "$?" 100 "show: an unknown id exits 100"

# delete one
starts_before=$(grep -c "start $M_DEL\." "$LOG")
qqueue delete "$M_DEL" >"$T_TMP/out" 2>&1
is "$?" 0 "delete: exit 0 once qsend has done it"
ok "delete: qsend logs it and ends the message" sh -c \
  "grep -q 'admin: deleted $M_DEL (1 recipient)' '$LOG' && grep -q 'qsend: end $M_DEL\$' '$LOG'"
ok "delete: gone from the queue" sh -c "! qstat '$QHOME' | grep -q 'del@slow.test'"

# delete every message of a sender (a hijacked account)
qqueue delete -f spammer@test.example >"$T_TMP/out" 2>&1
is "$?:$(grep -c '<spammer@test.example>' "$T_TMP/out")" "0:2" "delete -f: both of the sender's messages selected"
ok "delete -f: both gone" sh -c "! qstat '$QHOME' | grep -q 'spammer@'"

# hold: not tried by a flush, nor after a restart of qsend
qqueue hold "$M_HOLD" >/dev/null 2>&1
is "$?" 0 "hold: exit 0"
is "$(state_of hold)" held "hold: qstat shows it held"
is "$(qstat -s "$QHOME" | sed -n 's/^held //p')" 1 "hold: qstat -s counts it"
hold_tries=$(tries hold)
keep_tries=$(tries keep)
s6-svc -a "$QHOME/service/qsend"
ok "a flush retries the others" wait_for 30 sh -c "[ \$(grep -c ' keep@slow.test deferred: ' '$LOG') -gt $keep_tries ]"
is "$(tries hold)" "$hold_tries" "a flush does not try the held one"
s6-svc -r "$QHOME/service/qsend"
wait_for 20 sh -c "[ \$(grep -c 'qsend: ready' '$LOG') -ge 2 ]" || diag "qsend did not restart"
keep_tries=$(tries keep)
s6-svc -a "$QHOME/service/qsend"
wait_for 30 sh -c "[ \$(grep -c ' keep@slow.test deferred: ' '$LOG') -gt $keep_tries ]" || diag "no retry"
is "$(tries hold):$(state_of hold)" "$hold_tries:held" "still held after qsend restarts"
is "$(grep -c "start $M_DEL\." "$LOG")" "$starts_before" "the deleted message was never tried again"

# release: back in the schedule, tried at once
qqueue release "$M_HOLD" >/dev/null 2>&1
is "$?" 0 "release: exit 0"
ok "release: tried again at once" wait_for 30 sh -c "[ \$(grep -c ' hold@slow.test deferred: ' '$LOG') -gt $hold_tries ]"
is "$(state_of hold)" deferred "release: qstat shows it deferred"

# requeue: the destination takes mail again; tried now, not in an hour
: >"$RULES"
env -u QHOME qqueue requeue "$M_KEEP" "$QHOME" >/dev/null 2>&1
is "$?" 0 "requeue: exit 0 (the instance given as a last argument)"
ok "requeue: delivered at once" wait_for 30 in_sink keep@slow.test

# expire: bounced to the sender as if its lifetime had passed
qqueue expire "$M_EXP" >/dev/null 2>&1
is "$?" 0 "expire: exit 0"
ok "expire: the sender gets the report, naming the message" wait_for 30 sh -c \
  "grep -l '^X-Qmta-Queue-ID: $M_EXP\$' '$ALICE'/new/* 2>/dev/null | xargs grep -q 'expired in the queue'"
ok "expire: logged, the message ends, never delivered" sh -c \
  "grep -q 'admin: expired $M_EXP' '$LOG' && grep -q 'qsend: end $M_EXP\$' '$LOG' && ! grep -q '\"exp@slow.test\"' '$SINK/log.jsonl'"

# the group qmta-admin lists the queue (the setuid copy bin/qstat); others
# may not, and nobody changes it but root
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent group qmta-admin >/dev/null; then
  # as nobody with these groups ("" none); through sh, whose exec checks
  # the permissions as nobody (setpriv's own exec did not, here)
  as_user() { (if [ -n "$1" ]; then g=--groups=$1; else g=--clear-groups; fi; shift
    cd / && env -u QHOME setpriv --reuid=nobody --regid=nogroup $g /bin/sh -c 'exec "$@"' sh "$@"); }
  as_admin() { as_user qmta-admin "$@"; }
  is "$(stat -c '%a %U:%G' "$QHOME/bin/qstat")" "4750 root:qmta-admin" "bin/qstat: setuid, the group qmta-admin's"
  as_admin "$QHOME/bin/qstat" >"$T_TMP/admin.out" 2>&1
  ok "a member of qmta-admin lists the queue" grep -q '<hold@slow.test>' "$T_TMP/admin.out"
  [ "$T_FAIL" = 0 ] || sed "s/^/# /" "$T_TMP/admin.out"
  as_user "" "$QHOME/bin/qstat" >/dev/null 2>&1
  ok "anyone else may not" [ $? -ne 0 ]
  as_admin "$QHOME/bin/qstat" "$T_TMP" >/dev/null 2>&1
  is "$?" 100 "the copy lists its own instance only"
  as_admin "$T_ROOT/bin/qqueue" delete "$M_HOLD" >/dev/null 2>&1
  is "$?" 100 "qqueue: only root changes the queue"
else
  for t in 1 2 3 4 5; do pass "# SKIP not root, or no setpriv"; done
fi

# misuse
qqueue delete >/dev/null 2>&1
is "$?" 100 "an action without ids or filters: usage, 100"
env -u QHOME qqueue delete "$QHOME" >/dev/null 2>&1
is "$?" 100 "the instance alone is no selection: usage, 100"

[ "$T_FAIL" = 0 ] || { diag "qsend log:"; sed 's/^/# /' "$LOG" | tail -60; }
inst_stop
