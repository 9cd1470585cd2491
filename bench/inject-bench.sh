#!/bin/sh
# qinject-to-Maildir benchmark (issue 2). Creates an instance with qsetup in
# a scratch directory, runs it under s6-svscan, injects N messages of S
# bytes through qinject from C concurrent injectors, and times from the
# first injection to the last Maildir file. The fsync ceiling (S-byte files,
# one fsync each, per second) is measured in the same run on the same
# filesystem; the ratio to it is what to compare across machines. So is
# the process ceiling: the same load fed to bench/nullprog, a program that
# only reads its input, i.e. how many processes per second this machine
# can start, feed and reap at all (one qinject per message is the design).
#
#   sh bench/inject-bench.sh [-n N] [-s BYTES] [CONCURRENCY...]   (default: 10)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree).
# Build first: make build bench/injectload bench/nullprog. Run as root for a root instance.
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
BENCH_NAME=inject-bench
N=2000
SIZE=4096
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -s) SIZE=$2; shift 2 ;;
    -*) echo "usage: inject-bench.sh [-n N] [-s BYTES] [CONCURRENCY...]" >&2; exit 100 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- 10
[ -x bench/injectload ] && [ -x bench/nullprog ] ||
  { echo "inject-bench: make bench/injectload bench/nullprog first" >&2; exit 111; }
. bench/lib.sh

bench_setup
bench_start
echo "inject-bench: $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  fs=$(bench_ceiling "$SIZE")
  # the process ceiling: the same load into a program that only reads it
  nul=$(bench/injectload -n "$N" -c "$C" -s "$SIZE" -q "$ROOT/bench/nullprog" x y |
    sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
  before=$(bench_count_mail)
  t0=$(date +%s.%N)
  bench/injectload -n "$N" -c "$C" -s "$SIZE" -q "$QHOME/bin/qinject" \
    bench@test.example bob@test.example >"$WORK/load.out" ||
    { cat "$WORK/load.out" >&2; echo "inject-bench: injection failed" >&2; exit 1; }
  bench_wait_mail $((before + N))
  t1=$(date +%s.%N)
  got=$(($(bench_count_mail) - before))
  python3 - "$C" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" "${nul:-0}" <<'PY'
import sys
c, n, got, t0, t1, fs, load, nul = sys.argv[1:9]
secs = float(t1) - float(t0)
rate = int(got) / secs if secs > 0 else 0.0
ratio = rate / float(fs) if float(fs) > 0 else 0.0
inj = load.split("rate=")[-1].strip() if "rate=" in load else "?"
print("injectors=%s delivered=%s/%s seconds=%.2f inject_to_maildir=%.0f msg/s inject_only=%s "
      "fsync_ceiling=%s files/s ratio=%.2f process_ceiling=%.0f starts/s" %
      (c, got, n, secs, rate, inj, fs, ratio, float(nul)))
PY
done
