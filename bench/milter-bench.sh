#!/bin/sh
# The cost of a milter on the SMTP path (issue 17): SMTP to Maildir, with
# and without rspamd, qmta beside Postfix, in one run with one load
# generator (bench/smtpload: N messages of S bytes over C sessions, one
# message per connection: smtpload -1). One private rspamd
# (Debian's 3.4, configured by tests/rspamd-conf.sh: a proxy worker in
# milter mode and a normal worker on loopback, modules that need DNS or
# the network off) serves both MTAs. Four configurations:
#   qmta            qmta -> Maildir, control/milters empty
#   qmta+rspamd     the same instance, control/milters naming rspamd
#   postfix         bench/postfix-bench.sh (Postfix -> Maildir)
#   postfix+rspamd  the same with smtpd_milters naming the same rspamd
# For each: messages per second (first message sent to last Maildir file)
# and CPU milliseconds per message, from cpuacct cgroups of this script's
# own: one for qmta (s6-svscan and everything under it), one for Postfix
# (its master and daemons), one for rspamd (all its processes), counted in
# the configurations that use it. The load generator is in none of them.
# qmta checks no SPF, DKIM or DMARC here (Postfix does not either); rspamd
# is warmed up (its hyperscan database built) before the first timed run,
# and each qmta configuration sends 50 messages before its timed run.
#
#   sh bench/milter-bench.sh [-n N] [-s BYTES] [-p] [-1] [SESSIONS...]
#     (defaults: -n 2000 -s 4096, one message per connection, sessions 10 50)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree, which
#   the _rspamd account must be able to reach).
# Run as root (a root instance, rspamd, Postfix, the cgroups). Build first:
# make build bench/smtpload. Installs Postfix if missing (postfix-bench.sh).
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
PATH="$ROOT/bin:$PATH:/usr/sbin:/sbin"
export PATH

BENCH_NAME=milter-bench
. bench/args.sh
[ -n "$PERCONN" ] || PERCONN=-1
[ "$(id -u)" = 0 ] || { echo "milter-bench: run as root" >&2; exit 111; }
[ -x bench/smtpload ] || { echo "milter-bench: build bench/smtpload first" >&2; exit 111; }
command -v qsetup >/dev/null || { echo "milter-bench: run make build first" >&2; exit 111; }
RSPAMD=$(command -v rspamd) || { echo "milter-bench: rspamd is needed (make deps)" >&2; exit 111; }
CGROOT=/sys/fs/cgroup/cpuacct
CG=$CGROOT/qmta-milter-bench.$$
mkdir "$CG" "$CG/qmta" "$CG/rspamd" "$CG/postfix" ||
  { echo "milter-bench: no cpuacct cgroup" >&2; exit 111; }

. bench/lib.sh

RSPID=
milter_cleanup() {
  if [ -n "$RSPID" ]; then
    kill "$RSPID" 2>/dev/null
    i=0
    while kill -0 "$RSPID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    # shellcheck disable=SC2046
    kill -0 "$RSPID" 2>/dev/null && kill -9 $(bench_freeze "$RSPID") 2>/dev/null
    wait "$RSPID" 2>/dev/null
  fi
  bench_cleanup
  for g in qmta rspamd postfix; do
    for p in $(cat "$CG/$g/cgroup.procs" 2>/dev/null); do echo "$p" >"$CGROOT/cgroup.procs"; done
    rmdir "$CG/$g" 2>/dev/null
  done
  rmdir "$CG" 2>/dev/null
}
trap milter_cleanup EXIT

free_port() {
  python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
answers() {
  python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' "$1" 2>/dev/null
}

# rspamd, in its cgroup; DNS to a loopback port where nothing listens
PORT=$(free_port)
MPORT=$(free_port)
NPORT=$(free_port)
DEAD=$(free_port)
RS=$WORK/rspamd
sh tests/rspamd-conf.sh "$RS" "$MPORT" "$NPORT" "127.0.0.1:$DEAD" || exit 111
echo $$ >"$CG/rspamd/cgroup.procs"
"$RSPAMD" -f -u _rspamd -g _rspamd -c "$RS/rspamd.conf" --var CONFDIR=/etc/rspamd \
  --var LOCAL_CONFDIR="$RS" --var RUNDIR="$RS/run" --var DBDIR="$RS/db" --var LOGDIR="$RS/log" \
  </dev/null >"$RS/stderr" 2>&1 &
RSPID=$!
echo $$ >"$CGROOT/cgroup.procs"
i=0
until answers "$MPORT" && answers "$NPORT"; do
  kill -0 "$RSPID" 2>/dev/null && [ $i -lt 900 ] ||
    { tail -20 "$RS/stderr" "$RS/log/rspamd.log" >&2; echo "milter-bench: rspamd did not start" >&2; exit 111; }
  sleep 0.2; i=$((i + 1))
done
# the normal worker scans with PCRE until the hyperscan database is built
i=0
until grep -q '(normal).*hyperscan database of' "$RS/log/rspamd.log" 2>/dev/null; do
  [ $i -lt 600 ] || { echo "milter-bench: warning: rspamd's hyperscan database not loaded" >&2; break; }
  sleep 0.2; i=$((i + 1))
done

# qmta: s6-svscan and everything it starts in the qmta cgroup
bench_setup --smtp 127.0.0.1:$PORT
echo "127.0.0.1:$DEAD" >"$QHOME/control/resolvers"
touch "$QHOME/control/nospf"
: >"$QHOME/control/milters"
echo $$ >"$CG/qmta/cgroup.procs"
bench_start
echo $$ >"$CGROOT/cgroup.procs"
if [ -d "$QHOME/service/dkimverify" ]; then
  s6-svc -d "$QHOME/service/dkimverify" && s6-svwait -D "$QHOME/service/dkimverify"
  rm -f "$QHOME/run/dkimverify"
fi

# qmta_fail NAME WHAT: what went wrong, and the last lines of qsmtpd's log
qmta_fail() {
  cat "$WORK/load.out" >&2
  tail -n 4 "$QHOME/log/smtp/current" >&2
  echo "milter-bench: $1: $2 failed" >&2
  return 1
}

# qmta_run NAME CGROUPS C: 50 messages to warm up, then N timed
qmta_run() {
  before=$(bench_count_mail)
  bench/smtpload -n 50 -c "$3" -s "$SIZE" $PIPE $PERCONN 127.0.0.1 "$PORT" >"$WORK/load.out" ||
    { qmta_fail "$1" warm-up; return 1; }
  bench_wait_mail $((before + 50))
  fs=$(bench_ceiling "$SIZE")
  before=$(bench_count_mail)
  # shellcheck disable=SC2086
  cpu0=$(bench_cpu_read $2)
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$3" -s "$SIZE" $PIPE $PERCONN 127.0.0.1 "$PORT" >"$WORK/load.out" ||
    { qmta_fail "$1" load; return 1; }
  bench_wait_mail $((before + N))
  t1=$(date +%s.%N)
  # shellcheck disable=SC2086
  cpu1=$(bench_cpu_read $2)
  got=$(($(bench_count_mail) - before))
  echo "$1:"
  bench_smtp_report "$3" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" "-" | grep sessions=
  bench_cpu_report "$2" "$cpu0" "$cpu1" "$got"
}

echo "milter-bench: $N messages of $SIZE bytes per run, smtpload $PERCONN, $("$RSPAMD" --version | head -n 1), filesystem of $BASE"
for C in "$@"; do
  : >"$QHOME/control/milters"
  qmta_run qmta "$CG/qmta" "$C" || exit 1
  echo "inet:127.0.0.1:$MPORT default=tempfail" >"$QHOME/control/milters"
  qmta_run qmta+rspamd "$CG/qmta $CG/rspamd" "$C" || echo "qmta+rspamd: no figures"
done
# Postfix, same load, same rspamd (a Postfix instance of its own each time)
echo "postfix:"
CPU_CGROUPS="$CG/postfix" BENCHDIR="$BASE" \
  sh bench/postfix-bench.sh -n "$N" -s "$SIZE" $PIPE $PERCONN "$@" | grep -E '^sessions=|cpu:|Postfix'
echo "postfix+rspamd:"
PF_MILTER="inet:127.0.0.1:$MPORT" CPU_CGROUPS="$CG/postfix $CG/rspamd" BENCHDIR="$BASE" \
  sh bench/postfix-bench.sh -n "$N" -s "$SIZE" $PIPE $PERCONN "$@" | grep -E '^sessions=|cpu:'
