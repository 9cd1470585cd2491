#!/bin/sh
# qsend with a big deferred queue: a thousand remote messages to a dead
# host are deferred, and new local mail still flows; deferred recipients
# keep their reason and next try for qstat; a flush retries them; SIGTERM
# stops qsend cleanly and a restart picks up every deferred message again.
. "$(dirname "$0")/lib.sh"
plan 10

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
