#!/bin/sh
# Relay benchmark (issue 4). Creates a send-only instance with qsetup in a
# scratch directory (an SMTP listener on loopback, the local host relays),
# routes every domain (control/smtproutes ":host:port") to a local SMTP
# sink, sends N messages of S bytes with bench/smtpload over C concurrent
# sessions, and times from the first message in to the last one received
# by the sink. The fsync ceiling (S-byte files, one fsync each, per second)
# is measured in the same run on the same filesystem; the ratio to it is
# the figure to compare across machines.
# Then one message to 1,000 recipients in 100 domains is injected, and the
# SMTP transactions the sink receives for it are counted.
#
#   sh bench/relay-bench.sh [-n N] [-s BYTES] [-p] [SESSIONS...]   (default: 10 50)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree).
# Build first: make build bench/smtpload bench/smtpsink. Run as root for a root instance.
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
BENCH_NAME=relay-bench
. bench/args.sh
[ -x bench/smtpload ] && [ -x bench/smtpsink ] || { echo "relay-bench: make bench/smtpload bench/smtpsink first" >&2; exit 111; }
[ -x bin/qremote ] && [ -x bin/qrspawn ] || { echo "relay-bench: run make build first" >&2; exit 111; }
. bench/lib.sh

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; bench_cleanup; exit $rc' EXIT

free_port() {
  python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$1"
}

SINK_IP=127.0.0.2
SINK_PORT=$(free_port $SINK_IP)
SINK=$WORK/sink
mkdir -p "$SINK"
# a sink in C (bench/smtpsink.c): the sink's own CPU should not be what is measured
bench/smtpsink "$SINK_IP" "$SINK_PORT" "$SINK/log" >"$WORK/sink.out" 2>&1 &
SINK_PID=$!
i=0
while ! grep -q ready "$WORK/sink.out" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
grep -q ready "$WORK/sink.out" || { echo "relay-bench: the sink did not start" >&2; exit 111; }

PORT=$(free_port 127.0.0.1)
qsetup "$QHOME" --me relay.example --send-only --smtp 127.0.0.1:$PORT >"$WORK/qsetup.out" 2>&1 ||
  { cat "$WORK/qsetup.out" >&2; exit 111; }
echo ":$SINK_IP:$SINK_PORT" >"$QHOME/control/smtproutes"
bench_start

# sink_count [SENDER]: transactions the sink received (from SENDER).
sink_count() {
  if [ -n "$1" ]; then grep -c "^from $1 " "$SINK/log" 2>/dev/null || true
  else grep -c '' "$SINK/log" 2>/dev/null || true; fi
}
sink_wait() {
  i=0
  while [ "$(sink_count "$2")" -lt "$1" ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i + 1)); done
}

echo "relay-bench: $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  fs=$(bench_ceiling "$SIZE")
  before=$(sink_count)
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$C" -s "$SIZE" $PIPE -t someone@far.example 127.0.0.1 "$PORT" \
    >"$WORK/load.out" ||
    { cat "$WORK/load.out" >&2; echo "relay-bench: load failed" >&2; exit 1; }
  sink_wait $((before + N))
  t1=$(date +%s.%N)
  got=$(($(sink_count) - before))
  python3 - "$C" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" <<'PY'
import sys
c, n, got, t0, t1, fs, load = sys.argv[1:8]
secs = float(t1) - float(t0)
rate = int(got) / secs if secs > 0 else 0.0
ratio = rate / float(fs) if float(fs) > 0 else 0.0
accept = load.split("rate=")[-1].strip() if "rate=" in load else "?"
print("sessions=%s relayed=%s/%s seconds=%.2f smtp_in_to_smtp_out=%.0f msg/s smtp_accept=%s "
      "fsync_ceiling=%s files/s ratio=%.2f" % (c, got, n, secs, rate, accept, fs, ratio))
PY
done

# One message, 1,000 recipients in 100 domains (10 each).
rcpts=$(python3 -c 'print(" ".join("u%d@d%d.example" % (i, i % 100) for i in range(1000)))')
t0=$(date +%s.%N)
# shellcheck disable=SC2086
printf 'From: many@relay.example\nSubject: one to a thousand\n\nhello\n' |
  qinject -f many@relay.example $rcpts || { echo "relay-bench: qinject failed" >&2; exit 1; }
i=0
many_rcpts() { awk '$2 == "many@relay.example" { n += $4 } END { print n + 0 }' "$SINK/log"; }
while [ "$(many_rcpts)" -lt 1000 ] && [ $i -lt 1200 ]; do
  sleep 0.1; i=$((i + 1))
done
t1=$(date +%s.%N)
python3 - "$SINK/log" "$t0" "$t1" <<'PY'
import sys
tx = [l.split() for l in open(sys.argv[1]) if l.startswith("from many@relay.example ")]
rcpts = sum(int(t[3]) for t in tx)
conns = len(set(t[7] for t in tx))
print("one message to 1000 recipients in 100 domains: recipients=%d smtp_transactions=%d "
      "connections=%d seconds=%.2f" % (rcpts, len(tx), conns, float(sys.argv[3]) - float(sys.argv[2])))
PY
