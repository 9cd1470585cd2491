#!/bin/sh
# The cost of mail authentication on the SMTP path (issue 13): SMTP to
# Maildir, SESSIONS clients at once (default 10), each sending one message
# of S bytes (default 4096) per connection, N messages per run (default
# 2000), on one instance (qsetup in a scratch directory, under s6-svscan in
# a cpuacct cgroup of its own) in three modes:
#   off     control/nospf, no verifier socket, no control/dkim: nothing
#   verify  port 25 from the world: SPF in qsmtpd, DKIM and DMARC in qdkimd
#           -v, the Authentication-Results field put before the message
#   sign    the client is a relay client (control/access RELAY): the
#           message is DKIM-signed by qdkimd -s (RSA-2048, bench.example)
# For each mode: messages per second, the instance's CPU per message (the
# cgroup's cpuacct.usage: every process of the instance, none of the
# load generator's), and the process starts of the instance per message
# (clone/fork/vfork calls, counted by strace -f attached to every process
# of the instance during a separate run of N/10 messages).
# DNS goes to a loopback port where nothing listens (each lookup fails at
# once): the figures are the pipeline's and the crypto's, not the
# network's; an unsigned message is verified (DKIM none, DMARC lookups).
#
#   sh bench/auth-bench.sh [-n N] [-s BYTES] [SESSIONS]   (the first SESSIONS given)
# ROUNDS=R (default 2): the three modes R times over, interleaved, so that
# the load of other work on the machine falls on each alike.
# PROFILE=dir: each mode's timed run is recorded by perf record -a -g into
# dir/MODE.data (then: perf report -i dir/MODE.data --sort comm,dso,sym).
# Run as root (a root instance, and the cgroup). Build first: make build.
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
BENCH_NAME=auth-bench
. bench/args.sh
C=$1
command -v qsetup >/dev/null || PATH="$ROOT/bin:$PATH"
command -v strace >/dev/null || { echo "auth-bench: strace is needed" >&2; exit 111; }
CG=/sys/fs/cgroup/cpuacct/qmta-auth-bench.$$
mkdir "$CG" || { echo "auth-bench: no cpuacct cgroup (run as root)" >&2; exit 111; }

. bench/lib.sh
cg_cleanup() {
  bench_cleanup
  for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do echo "$p" >/sys/fs/cgroup/cpuacct/cgroup.procs; done
  rmdir "$CG" 2>/dev/null
}
trap cg_cleanup EXIT

PORT=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEAD=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bench_setup --smtp 127.0.0.1:$PORT
echo "127.0.0.1:$DEAD" >"$QHOME/control/resolvers"
echo 9999 >"$QHOME/control/concurrencyloopback"
(cd "$QHOME" && qdkim-keygen -t rsa bench.example s1 >/dev/null) || exit 111
qsetup "$QHOME" >/dev/null 2>&1 || exit 111   # the key's owner and mode
# s6-svscan in the cgroup: every process of the instance is counted (this
# shell is in it only while it starts s6-svscan)
echo $$ >"$CG/cgroup.procs"
bench_start
echo $$ >/sys/fs/cgroup/cpuacct/cgroup.procs

# load N: N messages, C connections at a time, one message per connection
load() {
  python3 - 127.0.0.1 "$PORT" "$1" "$C" "$SIZE" <<'PY'
import socket, sys, threading
host, port, n, c, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
body = b"From: load@bench.example\r\nTo: bob@test.example\r\nSubject: load\r\n\r\n"
while len(body) < size:
    body += b"x" * 74 + b"\r\n"
body += b".\r\n"
left = [n]
bad = [0]
lock = threading.Lock()
def reply(f):
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line
def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        s = socket.create_connection((host, port))
        f = s.makefile("rb")
        reply(f)
        for cmd in (b"EHLO load.example", b"MAIL FROM:<load@bench.example>", b"RCPT TO:<bob@test.example>", b"DATA"):
            s.sendall(cmd + b"\r\n")
            reply(f)
        s.sendall(body)
        if not reply(f).startswith(b"250"):
            bad[0] += 1
        s.sendall(b"QUIT\r\n")
        reply(f)
        s.close()
ts = [threading.Thread(target=worker) for _ in range(c)]
for t in ts: t.start()
for t in ts: t.join()
if bad[0]:
    print("auth-bench: %d messages refused" % bad[0], file=sys.stderr)
    sys.exit(1)
PY
}

# strace -f on every process of the instance while `load N` runs: the
# process starts per message
starts() {
  pids=$(cat "$CG/cgroup.procs" | sed 's/^/-p /' | tr '\n' ' ')
  # shellcheck disable=SC2086
  strace -qq -f -e trace=clone,clone3,fork,vfork -e signal=none -o "$WORK/strace.out" $pids &
  st=$!
  sleep 2
  before=$(bench_count_mail)
  load "$1" || exit 1
  bench_wait_mail $((before + $1))
  sleep 1
  kill -INT "$st"; wait "$st" 2>/dev/null
  python3 - "$WORK/strace.out" "$1" <<'PY'
import re, sys
n = 0
for line in open(sys.argv[1]):
    if re.search(r"\b(clone3?|v?fork)\(.*\)\s+=\s+\d+", line):
        n += 1
print("%.3f" % (n / int(sys.argv[2])))
PY
}

mode() {
  case $1 in
    off)
      touch "$QHOME/control/nospf"
      [ ! -d "$QHOME/control/dkim" ] || mv "$QHOME/control/dkim" "$QHOME/control/dkim.off"
      s6-svc -d "$QHOME/service/dkimverify"; s6-svwait -D "$QHOME/service/dkimverify"
      rm -f "$QHOME/run/dkimverify"
      : >"$QHOME/control/access" ;;
    verify)
      rm -f "$QHOME/control/nospf"
      s6-svc -u "$QHOME/service/dkimverify"; s6-svwait -U "$QHOME/service/dkimverify" ;;
    sign)
      mv "$QHOME/control/dkim.off" "$QHOME/control/dkim"
      echo 'Connect:127.0.0.1 RELAY' >"$QHOME/control/access" ;;
  esac
  qnewmaps "$QHOME" >/dev/null || exit 111
  # fresh pools: no session process remembers the previous mode's connections
  s6-svc -r "$QHOME/service/smtp"; sleep 1; s6-svwait -U "$QHOME/service/smtp"
}

echo "auth-bench: $N messages of $SIZE bytes per run, $C sessions, one message per connection"
for m in $(i=0; while [ $i -lt "${ROUNDS:-2}" ]; do echo off verify sign; i=$((i + 1)); done); do
  mode "$m"
  load 50 >/dev/null || exit 1   # warm: pools, qdkimd children
  bench_wait_mail $(( $(bench_count_mail) ))
  before=$(bench_count_mail)
  cpu0=$(cat "$CG/cpuacct.usage")
  t0=$(date +%s.%N)
  if [ -n "$PROFILE" ]; then
    perf record -q -a -g -o "$PROFILE/$m.data" sleep 600 >/dev/null 2>&1 &
    perf=$!
    sleep 1
  fi
  load "$N" || exit 1
  bench_wait_mail $((before + N))
  t1=$(date +%s.%N)
  if [ -n "$PROFILE" ]; then kill -INT "$perf"; wait "$perf"; fi
  cpu1=$(cat "$CG/cpuacct.usage")
  got=$(($(bench_count_mail) - before))
  sp=$(starts $((N / 10)))
  python3 - "$m" "$N" "$got" "$t0" "$t1" "$cpu0" "$cpu1" "$sp" <<'PY'
import sys
m, n, got, t0, t1, c0, c1, sp = sys.argv[1:9]
secs = float(t1) - float(t0)
print("mode=%-6s delivered=%s/%s seconds=%.2f rate=%.0f msg/s cpu=%.2f ms/msg starts=%s /msg"
      % (m, got, n, secs, int(got) / secs, (int(c1) - int(c0)) / 1e6 / int(got), sp))
PY
done
