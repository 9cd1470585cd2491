# Sourced by the SMTP benchmarks (smtp-, relay-, postfix-, milter-bench)
# before bench/lib.sh: reads their options [-n N] [-s BYTES] [-p] [-1]
# [SESSIONS...] into N, SIZE, PIPE, PERCONN (smtpload's -1: a new
# connection for every message; empty: all of a client's messages on one)
# and leaves the session counts as the positional parameters (default 10
# 50). Needs BENCH_NAME.
N=2000
SIZE=4096
PIPE=
PERCONN=
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -s) SIZE=$2; shift 2 ;;
    -p) PIPE=-p; shift ;;
    -1) PERCONN=-1; shift ;;
    -*) echo "$BENCH_NAME: usage: $BENCH_NAME.sh [-n N] [-s BYTES] [-p] [-1] [SESSIONS...]" >&2
      exit 100 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- 10 50
