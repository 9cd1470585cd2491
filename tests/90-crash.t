#!/bin/sh
# Crash test: several hundred messages go in while processes are killed
# with SIGKILL at random moments: qsend (run 1), qinject (run 2), the whole
# supervision tree (run 3), qsmtpd while it queues messages itself (run
# 4, over SMTP). Every message acknowledged (qinject's exit 0, the 250
# after DATA) must be delivered at least once, and nothing half-written
# may stay in the queue.
. "$(dirname "$0")/lib.sh"
plan 10

N=${CRASH_MESSAGES:-300}
PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
echo 'crash@test.example:!' >>"$QHOME/control/users"
echo 1 >"$QHOME/control/backoffmin"
echo 2 >"$QHOME/control/backoffmax"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
BOX="$QHOME/mail/test.example/crash"
ACKED="$T_TMP/acked"
: >"$ACKED"

# inject RUN: N messages from 4 parallel injectors; acked ids go to $ACKED
# (the injectors' PIDs are kept: a bare wait would also wait for s6-svscan)
inject() {
  INJ_PIDS=
  for part in 0 1 2 3; do
    (
      k=$part
      while [ $k -lt "$N" ]; do
        id="$1-$k"
        if printf 'X-Test-Id: %s\nSubject: crash %s\n\nbody %s\n' "$id" "$id" "$id" |
          qinject -f tester@test.example crash@test.example 2>/dev/null; then
          echo "$id" >>"$ACKED.$part"
        fi
        k=$((k + 4))
      done
    ) &
    INJ_PIDS="$INJ_PIDS $!"
  done
}

# kill_ours NAME PAUSE: 20 times, after PAUSE seconds, kill -9 one process
# NAME of this instance (its environment names this QHOME)
kill_ours() {
  i=0
  while [ $i -lt 20 ]; do
    sleep "$2"
    for p in $(pgrep -x "$1"); do
      if { tr "\0" "\n" <"/proc/$p/environ"; } 2>/dev/null | grep -qx "QHOME=$QHOME"; then
        kill -9 "$p" 2>/dev/null
        break
      fi
    done
    i=$((i + 1))
  done
}

svc_pid() { s6-svstat -o pid "$QHOME/service/$1" 2>/dev/null; }

random_sleep() { sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')"; }

delivered_ids() {
  find "$BOX/new" "$BOX/cur" -type f -exec grep -h '^X-Test-Id: ' {} + 2>/dev/null |
    sed 's/^X-Test-Id: //' | sort -u
}

# check RUN: all acked ids of RUN delivered (waits up to 120 s)
check_run() {
  cat "$ACKED".* 2>/dev/null | grep "^$1-" | sort -u >"$T_TMP/want.$1"
  all_there() {
    delivered_ids | grep "^$1-" >"$T_TMP/got.$1"
    [ -z "$(comm -23 "$T_TMP/want.$1" "$T_TMP/got.$1")" ]
  }
  if wait_for 120 all_there; then
    pass "run $1: all $(wc -l <"$T_TMP/want.$1") acknowledged messages delivered"
  else
    fail "run $1: acknowledged messages lost"
    diag "missing: $(comm -23 "$T_TMP/want.$1" "$T_TMP/got.$1" | head -5 | tr '\n' ' ')"
  fi
}

# Run 1: kill -9 qsend repeatedly while mail goes in.
inject r1
i=0
while [ $i -lt 6 ]; do
  random_sleep
  p=$(svc_pid qsend)
  [ -n "$p" ] && [ "$p" -gt 0 ] && kill -9 "$p" 2>/dev/null
  i=$((i + 1))
done
# shellcheck disable=SC2086
wait $INJ_PIDS
ok "run 1: qinject acknowledged most messages" test "$(cat "$ACKED".* | grep -c '^r1-')" -gt $((N / 2))
check_run r1

# Run 2: kill -9 qinject processes at random moments.
rm -f "$ACKED".*
inject r2
kill_ours qinject 0.05
# shellcheck disable=SC2086
wait $INJ_PIDS
check_run r2

# Run 3: kill -9 the whole supervision tree mid-load, then start it again.
rm -f "$ACKED".*
inject r3
random_sleep
tree=$(freeze "$SVSCAN_PID")
# shellcheck disable=SC2086
kill -9 $tree 2>/dev/null
wait "$SVSCAN_PID" 2>/dev/null
SVSCAN_PID=
# shellcheck disable=SC2086
wait $INJ_PIDS
# leftovers of the killed tree that still run would confuse s6: they were killed above
rm -rf "$QHOME"/service/*/supervise "$QHOME"/service/*/log/supervise "$QHOME"/service/.s6-svscan
inst_start
check_run r3

# Run 4: over SMTP, kill -9 qsmtpd processes (which write the queue files
# themselves) at random moments; the clients reconnect and go on.
rm -f "$ACKED".*
INJ_PIDS=
for part in 0 1 2 3; do
  python3 - "$PORT" "$N" "$part" "$ACKED.$part" <<'EOF' &
import smtplib, sys, time
port, n, part, acked = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
end = time.monotonic() + 90
k = part
c = None
while k < n and time.monotonic() < end:
    ident = "r4-%d" % k
    try:
        if c is None:
            c = smtplib.SMTP("127.0.0.1", port, timeout=20)
            c.ehlo("crash.example")
        msg = "X-Test-Id: %s\r\nSubject: crash %s\r\n\r\nbody %s\r\n" % (ident, ident, ident)
        c.sendmail("tester@test.example", ["crash@test.example"], msg)
        with open(acked, "a") as f:
            f.write(ident + "\n")
    except (OSError, smtplib.SMTPException):
        c = None  # killed mid-way: not acknowledged; the next goes on a new connection
    k += 4
EOF
  INJ_PIDS="$INJ_PIDS $!"
done
kill_ours qsmtpd 0.1
# shellcheck disable=SC2086
wait $INJ_PIDS
check_run r4

# After a restart qsend finishes what the crashes left: nothing half-written stays.
s6-svc -r "$QHOME/service/qsend"
sleep 1
s6-svwait -U -t 20000 "$QHOME/service/qsend"
queue_empty() {
  [ "$(find "$QHOME/queue/new" "$QHOME/queue/mess" "$QHOME/queue/info" -type f | wc -l)" -eq 0 ]
}
if wait_for 90 queue_empty; then pass "the queue drains completely"; else
  fail "the queue drains completely"
  for f in $(find "$QHOME/queue/new" "$QHOME/queue/mess" "$QHOME/queue/info" -type f | head -5); do
    diag "left: $f"
    case $f in */info/*) sed 's/^/#   /' "$f" ;; esac
  done
  log_of qsend | tail -20 | sed 's/^/#   /'
fi
ok "no temp files of killed injectors remain" wait_for 20 test "$(count_files "$QHOME/queue/tmp")" = 0
ok "no malformed queue files were set aside" test -z "$(ls -A "$QHOME/queue/bad" 2>/dev/null)"
total=$(delivered_ids | wc -l)
ok "duplicates are allowed, but every delivered id is one we sent ($total)" \
  test "$(delivered_ids | grep -cv '^r[1234]-[0-9]*$')" -eq 0
ok "every Maildir file is complete (ends with its body line)" \
  sh -c "for f in '$BOX'/new/*; do tail -n 1 \"\$f\" | grep -q '^body r' || exit 1; done"
