#!/bin/sh
# qsend with a big deferred queue: a thousand remote messages to a dead
# host are deferred, and new local mail still flows; deferred recipients
# keep their reason and next try for qstat, the ones held back while their
# destination rests too (without counting a try), also across a restart;
# a flush retries them; SIGTERM stops qsend cleanly and a restart picks up
# every deferred message again; idle destinations leave qsend's table.
. "$(dirname "$0")/lib.sh"
plan 18

N=${DEFERRED_MESSAGES:-1000}
DEAD=$(free_port)
inst_setup
echo 'bob@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
# every remote domain goes to a port where nobody listens
echo ":127.0.0.1:$DEAD" >"$QHOME/control/smtproutes"
echo 3600 >"$QHOME/control/backoffmin"
inst_start
BOB="$QHOME/mail/test.example/bob"
LOG="$QHOME/log/qsend/current"

# N remote messages, from 4 injectors in parallel (waited for by PID)
INJ_PIDS=
for part in 0 1 2 3; do
  (
    k=$part
    while [ $k -lt "$N" ]; do
      printf 'Subject: far %s\n\nfar away\n' "$k" |
        qinject -f bob@test.example "user$k@far$((k % 50)).example" || exit 1
      k=$((k + 4))
    done
  ) &
  INJ_PIDS="$INJ_PIDS $!"
done
# shellcheck disable=SC2086
wait $INJ_PIDS
deferred_count() { grep -c ' remote .* deferred: ' "$LOG" 2>/dev/null || echo 0; }
# a dead destination is tried once, then rests: its other messages wait with it
domains_deferred() {
  grep ' remote .* deferred: ' "$LOG" 2>/dev/null | sed 's/.*@\(far[0-9]*\.example\).*/\1/' | sort -u | wc -l
}
all_domains() { [ "$(domains_deferred)" -eq 50 ]; }
ok "each of the 50 dead destinations was tried and deferred" wait_for 120 all_domains
sleep 2
ok "the other messages of a resting destination were not tried (no hammering)" \
  test "$(deferred_count)" -lt 200
diag "deferred attempts: $(deferred_count)"

# new local mail goes through at once although the queue is full of deferred mail
i=0
while [ $i -lt 20 ]; do
  printf 'Subject: near %s\n\nclose by\n' "$i" | qinject -f alice@test.example bob@test.example
  i=$((i + 1))
done
ok "20 new local messages delivered while $N sit deferred" wait_for 30 has_mail "$BOB" 20

in_queue() { find "$QHOME/queue/mess" -type f | wc -l | tr -d ' '; }
is "$(in_queue)" "$N" "the deferred messages stay in the queue"
ok "qstat shows a deferred recipient with its reason" \
  sh -c "qstat '$QHOME' | grep -qi 'deferred' && qstat '$QHOME' | grep -q '127.0.0.1'"

# every recipient held back by a resting destination says why (an H record
# in its info log), and only real attempts count as tries
qs_count() { qstat -s "$QHOME" | sed -n "s/^$1 //p"; }
all_deferred() { [ "$(qs_count deferred)" = "$N" ]; }
ok "qstat: all $N recipients deferred, none pending without a reason" wait_for 60 all_deferred
# snapshot FILE: the listing, then "TRIES HELD REASONS" from it
snapshot() {
  qstat "$QHOME" >"$1"
  tries=$(sed -n 's/.*deferred  *<.*, \([0-9]*\) tr.*/\1/p' "$1" | awk '{s += $1} END {print s + 0}')
  held=$(grep -c '^               .*127\.0\.0\.1.* (destination resting until [0-9: -]*, after [0-9]* failures\{0,1\})$' "$1")
  reasons=$(grep -c '^               .*127\.0\.0\.1' "$1")
  echo "$tries $held $reasons"
}
tries_match_log() { [ "$(snapshot "$T_TMP/qstat1" | cut -d' ' -f1)" = "$(deferred_count)" ]; }
ok "the tries qstat shows are the attempts in the log (a held recipient is no try)" \
  wait_for 10 tries_match_log
before_restart=$(snapshot "$T_TMP/qstat1")
tried=$(deferred_count)
is "$before_restart" "$tried $((N - tried)) $N" \
  "tried ones show their reason, the held ones the destination's and its rest"

# a restart reads the H records back: same reasons, no try added, and the
# held recipients keep waiting for the rest instead of being tried at once
ready_count() { grep -c 'qsend: ready' "$LOG"; }
readies=$(ready_count)
s6-svc -r "$QHOME/service/qsend"
restarted() { [ "$(ready_count)" -gt "$readies" ]; }
ok "qsend restarted" wait_for 20 restarted
sleep 2
is "$(snapshot "$T_TMP/qstat2")" "$before_restart" "after the restart qstat shows the same reasons and tries"
is "$(deferred_count)" "$tried" "no recipient tried again after the restart (next tries kept)"

# a flush retries every deferred recipient now
before=$(deferred_count)
s6-svc -a "$QHOME/service/qsend"
retried() { [ "$(deferred_count)" -ge $((before + 50)) ]; }
ok "s6-svc -a retries every resting destination now" wait_for 120 retried

# SIGTERM: clean stop, nothing lost; a restart reads every message back
s6-svc -d "$QHOME/service/qsend"
ok "qsend stops on SIGTERM" s6-svwait -D -t 20000 "$QHOME/service/qsend"
ok "qsend logged a clean stop" grep -q 'qsend: stopped' "$LOG"
is "$(in_queue)" "$N" "no message lost or removed by the stop"
s6-svc -u "$QHOME/service/qsend"
s6-svwait -U -t 20000 "$QHOME/service/qsend"
printf 'Subject: after restart\n\nagain\n' | qinject -f alice@test.example bob@test.example
ok "after a restart new mail still flows" wait_for 30 has_mail "$BOB" 21

# qsend's table of destinations: 200 new dead domains, each tried once;
# once nothing runs to them, a flush frees every entry (a table that never
# shrank would log nothing)
before=$(deferred_count)
k=0
while [ $k -lt 200 ]; do
  printf 'Subject: d%s\n\nx\n' "$k" | qinject -f bob@test.example "u@d$k.example" || break
  k=$((k + 1))
done
tried_200() { [ "$(deferred_count)" -ge $((before + 200)) ]; }
ok "200 new destinations tried" wait_for 60 tried_200
sweeps=$(grep -c 'qsend: destinations: ' "$LOG")
s6-svc -a "$QHOME/service/qsend"
sweep_line() { grep 'qsend: destinations: ' "$LOG" | tail -n 1; }
swept() { [ "$(grep -c 'qsend: destinations: ' "$LOG")" -gt "$sweeps" ]; }
wait_for 20 swept
freed=$(sweep_line | sed -n 's/.*destinations: \([0-9]*\) idle freed, \([0-9]*\) kept$/\1 \2/p')
ok "the flush freed every idle destination ($freed)" \
  sh -c "[ \"${freed% *}\" -ge 200 ] && [ \"${freed#* }\" -eq 0 ]"
