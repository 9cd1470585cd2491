#!/bin/sh
# SMTP-to-Maildir benchmark (issue 3). Creates an instance with qsetup in a
# scratch directory, runs it under s6-svscan, sends N messages of S bytes
# with bench/smtpload over C concurrent sessions, and counts the Maildir
# files until all have arrived. In the same run and the same filesystem it
# measures the fsync ceiling: S-byte files written with one fsync each, per
# second. Prints messages per second and the ratio to the ceiling.
#
#   sh bench/smtp-bench.sh [-n N] [-s BYTES] [-p] [-1] [SESSIONS...]   (default: 10 50)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree).
# Run as root for a root instance (dedicated accounts), as in production.
# Build first: make build bench/smtpload
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
PATH="$ROOT/bin:$PATH"
export PATH

BENCH_NAME=smtp-bench
. bench/args.sh
[ -x bench/smtpload ] || { echo "smtp-bench: build bench/smtpload first" >&2; exit 111; }
command -v qsetup >/dev/null || { echo "smtp-bench: run make build first" >&2; exit 111; }

. bench/lib.sh

PORT=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bench_setup --smtp 127.0.0.1:$PORT
bench_start

echo "smtp-bench: $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  fs=$(bench_ceiling "$SIZE")
  before=$(bench_count_mail)
  want=$((before + N))
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$C" -s "$SIZE" $PIPE $PERCONN 127.0.0.1 "$PORT" >"$WORK/load.out" &
  load=$!
  # the memory of the sessions, sampled while they run
  sleep 1
  mem=$(bench_session_mem qsmtpd)
  wait "$load" || { cat "$WORK/load.out" >&2; echo "smtp-bench: load failed" >&2; exit 1; }
  bench_wait_mail "$want"
  t1=$(date +%s.%N)
  got=$(($(bench_count_mail) - before))
  bench_smtp_report "$C" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" "$mem"
done
