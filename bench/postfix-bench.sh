#!/bin/sh
# The SMTP-to-Maildir benchmark of smtp-bench.sh, run against Postfix, so
# that qmta's figures have a reference measured on the same machine with the
# same load generator. Installs postfix with apt-get if it is missing (debconf
# "No configuration": the system's own instance stays unconfigured and off),
# then runs a separate Postfix instance of its own (postfix -c DIR, main.cf,
# master.cf, queue and data directories in a scratch directory): smtpd on
# 127.0.0.1:PORT only, bob@test.example a virtual mailbox whose Maildir lies
# in the scratch directory (fixed uid: nobody's), Postfix's default
# durability, no DNS, nothing delivered anywhere else. Sends N messages of S
# bytes with bench/smtpload over C concurrent sessions and times from the
# first message to the last Maildir file; the fsync ceiling is measured in
# the same run on the same filesystem. Prints lines in smtp-bench.sh's format.
# The instance is stopped and the scratch directory removed on exit.
# With PF_LMTP=unix:/path (or host:port) in the environment, bob's mail
# goes to that LMTP server instead (virtual_transport), and BOB_NEW names
# the directory where its files appear (bench/lmtp-bench.sh does this).
# With PF_MILTER=inet:HOST:PORT, smtpd asks that milter (smtpd_milters,
# protocol 6, default action tempfail; bench/milter-bench.sh does this).
# With CPU_CGROUPS="DIR..." (cpuacct cgroups), Postfix is started in the
# first, and each run also prints the CPU per message they spent, in all
# and each (bench_cpu_report's line).
#
#   sh bench/postfix-bench.sh [-n N] [-s BYTES] [-p] [-1] [SESSIONS...]   (default: 10 50)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree).
# Run as root (Postfix's master starts as root). Build first: make bench/smtpload
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
BENCH_NAME=postfix-bench
. bench/args.sh
[ "$(id -u)" = 0 ] || { echo "postfix-bench: run as root" >&2; exit 111; }
[ -x bench/smtpload ] || { echo "postfix-bench: build bench/smtpload first" >&2; exit 111; }
PATH="$PATH:/usr/sbin:/sbin"
. bench/lib.sh

PF=$WORK/postfix     # config_directory of the instance
PFQ=$WORK/queue      # its queue_directory (the daemons' working directory)
PFD=$WORK/data       # its data_directory
PFLOG=$WORK/maillog
PF_STARTED=
MASTER=
load=

# The PIDs of processes working in the instance's queue directory (every
# Postfix daemon chdirs there).
pf_procs() {
  python3 - "$PFQ" <<'PY'
import os, sys
q = os.path.realpath(sys.argv[1])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.path.realpath("/proc/%s/cwd" % pid) == q:
            print(pid)
    except OSError:
        pass
PY
}

pf_stop() {
  [ -n "$PF_STARTED" ] || return 0
  PF_STARTED=
  [ -n "$MASTER" ] || MASTER=$(tr -dc 0-9 2>/dev/null <"$PFQ/pid/master.pid")
  postfix -c "$PF" stop >/dev/null 2>&1
  i=0
  while [ -n "$MASTER" ] && kill -0 "$MASTER" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
  # the daemons leave when master's status pipe closes; wait, then kill the rest
  i=0
  while [ -n "$(pf_procs)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -z "$MASTER" ] || kill -9 "$MASTER" 2>/dev/null
  for p in $(pf_procs); do kill -9 "$p" 2>/dev/null; done
}
trap 'rc=$?; [ -z "$load" ] || kill "$load" 2>/dev/null; pf_stop; bench_cleanup; exit $rc' EXIT

# The system's Postfix (default queue directory): is its master running?
sys_master() {
  p=$(tr -dc 0-9 2>/dev/null </var/spool/postfix/pid/master.pid)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

pf_install() {
  command -v postfix >/dev/null && command -v postconf >/dev/null && return 0
  echo "postfix-bench: installing postfix" >&2
  before=$(sys_master)
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  inst() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix \
      >>"$WORK/apt.out" 2>&1
  }
  if ! inst; then
    # no lists yet (or stale ones): update once and try again
    apt-get update -q >>"$WORK/apt.out" 2>&1
    inst || { tail -20 "$WORK/apt.out" >&2; echo "postfix-bench: cannot install postfix" >&2; exit 111; }
  fi
  # the package's own service must not run on account of this script
  if [ -z "$before" ]; then
    if command -v systemctl >/dev/null && systemctl is-active --quiet postfix 2>/dev/null; then
      systemctl stop postfix >/dev/null 2>&1
    fi
    p=$(sys_master)
    if [ -n "$p" ]; then
      postfix stop >/dev/null 2>&1
      sleep 1
      kill -0 "$p" 2>/dev/null && kill "$p"
    fi
  fi
}
pf_install

PORT=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BOB_UID=$(id -u nobody) && BOB_GID=$(id -g nobody) || exit 111
mkdir -p "$PF" "$PFQ" "$PFD" "$QHOME/mail/test.example/bob/new" \
  "$QHOME/mail/test.example/bob/cur" "$QHOME/mail/test.example/bob/tmp" || exit 111
chown -R "$BOB_UID:$BOB_GID" "$QHOME/mail/test.example" || exit 111
# data_directory belongs to mail_owner (default: postfix)
chown postfix "$PFD" || exit 111
echo "bob@test.example test.example/bob/" >"$PF/vmailbox"

cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PFQ
data_directory = $PFD
maillog_file = $PFLOG
maillog_file_prefixes = $WORK
myhostname = mail.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = \$myhostname ESMTP
virtual_mailbox_domains = test.example
virtual_mailbox_base = $QHOME/mail
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_uid_maps = static:$BOB_UID
virtual_gid_maps = static:$BOB_GID
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:no local delivery in this benchmark
default_transport = error:no remote delivery in this benchmark
relay_transport = error:no relay in this benchmark
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
EOF
[ -z "$PF_LMTP" ] || echo "virtual_transport = lmtp:$PF_LMTP" >>"$PF/main.cf"
if [ -n "$PF_MILTER" ]; then
  cat >>"$PF/main.cf" <<EOF
smtpd_milters = $PF_MILTER
milter_protocol = 6
milter_default_action = tempfail
milter_mail_macros = i {mail_addr} {client_addr} {client_name} {auth_authen}
EOF
fi

# master.cf: Debian's stock services, without chroot, smtpd on loopback only
cat >"$PF/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

postfix -c "$PF" check >"$WORK/check.out" 2>&1 ||
  { cat "$WORK/check.out" "$PFLOG" >&2 2>/dev/null; echo "postfix-bench: postfix check failed" >&2; exit 111; }
PF_STARTED=1
# in the first of CPU_CGROUPS while it starts: master and its daemons stay
# there; then back into the cpuacct cgroup this script was in
pf_cg=${CPU_CGROUPS%% *}
pf_home=/sys/fs/cgroup/cpuacct$(sed -n 's/^[0-9]*:[a-z,]*cpuacct[a-z,]*:\(.*\)/\1/p' /proc/$$/cgroup)
[ -z "$pf_cg" ] || echo $$ >"$pf_cg/cgroup.procs" || exit 111
postfix -c "$PF" start >"$WORK/start.out" 2>&1 ||
  { cat "$WORK/start.out" >&2; tail -20 "$PFLOG" >&2 2>/dev/null; exit 111; }
[ -z "$pf_cg" ] || echo $$ >"${pf_home%/}/cgroup.procs" || exit 111
MASTER=$(tr -dc 0-9 2>/dev/null <"$PFQ/pid/master.pid")
python3 - "$PORT" <<'PY' || { tail -20 "$PFLOG" >&2 2>/dev/null; echo "postfix-bench: smtpd not listening" >&2; exit 111; }
import socket, sys, time
t0 = time.monotonic()
while time.monotonic() - t0 < 20:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
        ok = s.recv(512).startswith(b"220")
        s.sendall(b"QUIT\r\n"); s.close()
        if ok:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY

echo "postfix-bench: Postfix $(postconf -c "$PF" -h mail_version), $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  fs=$(bench_ceiling "$SIZE")
  before=$(bench_count_mail)
  # shellcheck disable=SC2086
  [ -z "$CPU_CGROUPS" ] || cpu0=$(bench_cpu_read $CPU_CGROUPS)
  want=$((before + N))
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$C" -s "$SIZE" $PIPE $PERCONN 127.0.0.1 "$PORT" >"$WORK/load.out" &
  load=$!
  # the memory of the sessions (smtpd, and the cleanup daemons that take their messages)
  sleep 1
  mem=$(QHOME=$PFQ; bench_session_mem smtpd cleanup)
  wait "$load" || { load=; cat "$WORK/load.out" >&2; tail -20 "$PFLOG" >&2; echo "postfix-bench: load failed" >&2; exit 1; }
  load=
  bench_wait_mail "$want"
  t1=$(date +%s.%N)
  got=$(($(bench_count_mail) - before))
  # shellcheck disable=SC2086
  [ -z "$CPU_CGROUPS" ] || cpu1=$(bench_cpu_read $CPU_CGROUPS)
  bench_smtp_report "$C" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" "$mem"
  [ -z "$CPU_CGROUPS" ] || bench_cpu_report "$CPU_CGROUPS" "$cpu0" "$cpu1" "$got"
done
