#!/bin/sh
# The cost of mail authentication on the SMTP path (issue 13): SMTP to
# Maildir, SESSIONS clients at once (default 10), each sending one message
# of S bytes (default 4096) per connection (bench/smtpload -1), N messages
# per run (default 2000), on one instance (qsetup in a scratch directory,
# under s6-svscan in a cpuacct cgroup of its own) in these modes:
#   off            control/nospf, no verifier, no control/dkim: nothing
#   verify-closed  port 25 from the world: SPF in qsmtpd, DKIM and DMARC
#                  in qdkimd -v, the Authentication-Results field, and
#                  signing on for submission (control/dkim holds the
#                  keys: the issue's "all checks on"); DNS is
#                  a loopback port where nothing listens (each lookup
#                  fails at once, nothing is cached) and the message is
#                  not signed: the old pessimistic figure
#   verify-ttl0    the same with a DNS that answers (bench/authdns.py):
#                  SPF "a include:" (3 lookups), the DKIM key, _dmarc;
#                  the message carries a valid dual signature (RSA-2048
#                  and Ed25519, made once before the runs); TTL 0, so
#                  that every lookup goes to the resolver, as for mail
#                  from many domains
#   verify-ttl300  the same with a TTL of 300 s: the processes' DNS caches
#                  answer, as for the mail of a few big senders
#   sign-ed25519, sign-rsa, sign-dual   the client is a relay client
#                  (control/access RELAY, control/nospf: as a submission
#                  session, no SPF): qdkimd -s signs the message for
#                  bench.example with Ed25519, RSA-2048, or both
# Every mode but verify-ttl* sends the unsigned message; both files have
# the same size (S bytes with the signatures).
# The verifier checks one good signature per domain (qdkimd(8)): of the
# dual signature, the RSA half.
# For each mode: messages per second, the instance's CPU per message (the
# cgroup's cpuacct.usage: every process of the instance, none of the
# load generator's or the DNS server's) and the part of it that qdkimd
# spent (its processes' times, to 10 ms), DNS queries per message, the
# verdicts found in the last message delivered, and the process starts of
# the instance per message (clone/fork/vfork calls, counted by strace -f
# attached to every process of the instance during a separate run of N/10
# messages). At the end, for each mode over the rounds: the median rate,
# the median CPU per message, and the median and range of its rate as a
# share of the same round's off (run off among the modes for that).
#
#   sh bench/auth-bench.sh [-n N] [-s BYTES] [SESSIONS]   (the first SESSIONS given)
# ROUNDS=R (default 2): the modes R times over, interleaved, so that the
# load of other work on the machine falls on each alike. MODES="m1 m2..."
# picks modes (default: all, in the order above).
# BYPROC=1: also the CPU per message of the instance's processes by name
# (those alive at the end; the time of children they reaped counts for
# them).
# PROFILE=dir: each mode's timed run is recorded by perf record -g (or
# PERFCG, e.g. "--call-graph dwarf") into
# dir/MODE.data: every process of the instance, and those they start
# (then: perf report -i dir/MODE.data --sort comm,dso,sym).
# Run as root (a root instance, and the cgroup). Build first: make build
# bench/smtpload.
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
BENCH_NAME=auth-bench
. bench/args.sh
C=$1
command -v qsetup >/dev/null || PATH="$ROOT/bin:$PATH"
command -v strace >/dev/null || { echo "auth-bench: strace is needed" >&2; exit 111; }
[ -x bench/smtpload ] || { echo "auth-bench: build bench/smtpload first" >&2; exit 111; }
CG=/sys/fs/cgroup/cpuacct/qmta-auth-bench.$$
mkdir "$CG" || { echo "auth-bench: no cpuacct cgroup (run as root)" >&2; exit 111; }
MODES=${MODES:-off verify-closed verify-ttl0 verify-ttl300 sign-ed25519 sign-rsa sign-dual}

. bench/lib.sh
DNSPID=
cg_cleanup() {
  [ -z "$DNSPID" ] || { kill "$DNSPID" 2>/dev/null; wait "$DNSPID" 2>/dev/null; }
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
KEYDIR=$QHOME/control/dkim/bench.example
(cd "$QHOME" && qdkim-keygen -t both bench.example s1 >"$WORK/zone") || exit 111
qsetup "$QHOME" >/dev/null 2>&1 || exit 111   # the keys' owner and mode

# the zone of bench.example: the DKIM keys (both at s1, told apart by
# k=), SPF that passes 127.0.0.1 after an A lookup and an include, DMARC
# p=reject (nothing fails here: the policy is never applied)
cat >>"$WORK/zone" <<'ZONE'
bench.example. IN TXT "v=spf1 a include:_spf.bench.example -all"
bench.example. IN A 192.0.2.1
_spf.bench.example. IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.bench.example. IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r"
ZONE
python3 bench/authdns.py "$WORK/zone" "$WORK/dnsports" "$WORK/dnsstats" 0 300 &
DNSPID=$!
i=0
while [ ! -s "$WORK/dnsports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
DNS0=$(sed -n 1p "$WORK/dnsports")
DNS300=$(sed -n 2p "$WORK/dnsports")
[ -n "$DNS300" ] || { echo "auth-bench: the DNS server did not start" >&2; exit 111; }

# the messages: unsigned, and the same signed twice (RSA, then Ed25519
# above it); the body is padded so that each is SIZE bytes on the wire
message() { # BYTES
  python3 - "$1" <<'PY'
import sys
want = int(sys.argv[1])
head = ("From: Load <load@bench.example>\nTo: bob@test.example\nSubject: load\n"
        "Date: Sun, 6 Dec 2026 12:00:00 +0000\nMessage-ID: <load.1@bench.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\n"
out = head
while len(out) + out.count("\n") + len(line) + 1 <= want:  # LF is CRLF on the wire
    out += line
sys.stdout.write(out)
PY
}
sign_file() { # IN OUT
  (cd "$QHOME" &&
    qdkim sign -d bench.example -s s1 -k "$KEYDIR/s1.rsa" -m "$1" >"$1.r" &&
    qdkim sign -d bench.example -s s1 -k "$KEYDIR/s1.ed25519" -m "$1.r" >"$2") || exit 111
}
wire_size() {
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(len(d)+d.count(b"\n"))' "$1"
}
message "$SIZE" >"$WORK/plain.eml"
sign_file "$WORK/plain.eml" "$WORK/draft.eml"
extra=$(( $(wire_size "$WORK/draft.eml") - $(wire_size "$WORK/plain.eml") ))
message $((SIZE - extra)) >"$WORK/tosign.eml"
sign_file "$WORK/tosign.eml" "$WORK/signed.eml"

# s6-svscan in the cgroup: every process of the instance is counted (this
# shell is in it only while it starts s6-svscan)
echo $$ >"$CG/cgroup.procs"
bench_start
echo $$ >/sys/fs/cgroup/cpuacct/cgroup.procs

# load N: N messages, C clients at a time, one message per connection
MSGFILE=$WORK/plain.eml
load() {
  bench/smtpload -1 -m "$MSGFILE" -n "$1" -c "$C" 127.0.0.1 "$PORT" >"$WORK/load.out" ||
    { cat "$WORK/load.out" >&2; echo "auth-bench: messages refused" >&2; return 1; }
}

# the DNS server's count of queries so far
dns_total() {
  rm -f "$WORK/dnsstats"
  kill -USR1 "$DNSPID"
  i=0
  while [ ! -s "$WORK/dnsstats" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  sed -n 's/^total //p' "$WORK/dnsstats"
}

# what the last message delivered carries: the verdicts of its
# Authentication-Results field and the algorithms of its signatures
verdicts() {
  python3 - "$QHOME/mail/test.example/bob/new" <<'PY'
import os, re, sys
d = sys.argv[1]
names = sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime)
if not names:
    print("-")
    sys.exit(0)
head = open(os.path.join(d, names[-1]), "rb").read().split(b"\n\n", 1)[0]
head = re.sub(r"\n[ \t]+", " ", head.decode("ascii", "replace"))
out = []
for f in head.split("\n"):
    name = f.split(":", 1)[0].lower()
    if name == "authentication-results":
        out += re.findall(r"(?:^|[\s;])((?:spf|dkim|dmarc)=\w+)", f)
    elif name == "dkim-signature":
        m = re.search(r"\ba=([\w-]+)", f)
        out.append("sig:" + (m.group(1) if m else "?"))
print(",".join(out) or "-")
PY
}

# strace -f on every process of the instance while `load N` runs: the
# process starts per message
starts() {
  pids=$(sed 's/^/-p /' "$CG/cgroup.procs" | tr '\n' ' ')
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

# the CPU of the instance's qdkimd processes so far, ms: the services
# (working in QHOME), their children (a child that has ended is a zombie
# without a working directory until its parent reaps it) and the children
# they have reaped
dkimd_cpu() {
  python3 - "$QHOME" <<'PY'
import os, sys
qhome = os.path.realpath(sys.argv[1])
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open("/proc/%s/stat" % pid).read()
    except OSError:
        continue
    comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
    if comm == "qdkimd":
        f = rest.split()
        try:
            cwd = os.path.realpath("/proc/%s/cwd" % pid)
        except OSError:
            cwd = None
        procs[pid] = (f[1], cwd, sum(int(x) for x in f[11:15]))  # ppid, utime..cstime
services = {p for p, (ppid, cwd, t) in procs.items() if cwd == qhome and procs.get(ppid) is None}
ticks = sum(t for p, (ppid, cwd, t) in procs.items() if p in services or ppid in services)
print(ticks * 1000 // os.sysconf("SC_CLK_TCK"))
PY
}

# BYPROC=1: the CPU of the instance's processes by name, in clock ticks
# ("name ticks" lines; a reaped child's time counts for its parent's name)
comm_cpu() {
  python3 - "$CG/cgroup.procs" <<'PY'
import os, sys
out = {}
for pid in open(sys.argv[1]).read().split():
    try:
        stat = open("/proc/%s/stat" % pid).read()
    except OSError:
        continue
    comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
    f = rest.split()
    out[comm] = out.get(comm, 0) + sum(int(x) for x in f[11:15])
for k, v in sorted(out.items()):
    print(k, v)
PY
}

# SERVICE down, then up and ready: a fresh process with empty caches
svc_restart() {
  s6-svc -d "$QHOME/service/$1"; s6-svwait -D "$QHOME/service/$1"
  s6-svc -u "$QHOME/service/$1"; s6-svwait -U "$QHOME/service/$1"
}

# keys TYPE...: the signer sees s1.rsa and s1.ed25519 but the TYPEs given
keys() {
  for k in rsa ed25519; do
    [ ! -f "$KEYDIR/s1.$k.off" ] || mv "$KEYDIR/s1.$k.off" "$KEYDIR/s1.$k"
  done
  for k in "$@"; do mv "$KEYDIR/s1.$k" "$KEYDIR/s1.$k.off"; done
}

mode() {
  MSGFILE=$WORK/plain.eml
  case $1 in
    off)
      touch "$QHOME/control/nospf"
      [ ! -d "$QHOME/control/dkim" ] || mv "$QHOME/control/dkim" "$QHOME/control/dkim.off"
      s6-svc -d "$QHOME/service/dkimverify"; s6-svwait -D "$QHOME/service/dkimverify"
      rm -f "$QHOME/run/dkimverify"
      : >"$QHOME/control/access" ;;
    verify-closed|verify-ttl0|verify-ttl300)
      rm -f "$QHOME/control/nospf"
      [ ! -d "$QHOME/control/dkim.off" ] || mv "$QHOME/control/dkim.off" "$QHOME/control/dkim"
      keys
      : >"$QHOME/control/access"
      svc_restart dkimsign
      case $1 in
        verify-closed) echo "127.0.0.1:$DEAD" ;;
        verify-ttl0) echo "127.0.0.1:$DNS0"; MSGFILE=$WORK/signed.eml ;;
        verify-ttl300) echo "127.0.0.1:$DNS300"; MSGFILE=$WORK/signed.eml ;;
      esac >"$QHOME/control/resolvers"
      svc_restart dkimverify ;;
    sign-ed25519|sign-rsa|sign-dual)
      touch "$QHOME/control/nospf"
      [ ! -d "$QHOME/control/dkim.off" ] || mv "$QHOME/control/dkim.off" "$QHOME/control/dkim"
      case $1 in
        sign-ed25519) keys rsa ;;
        sign-rsa) keys ed25519 ;;
        sign-dual) keys ;;
      esac
      svc_restart dkimsign
      echo 'Connect:127.0.0.1 RELAY' >"$QHOME/control/access" ;;
    *) echo "auth-bench: no mode $1" >&2; exit 100 ;;
  esac
  qnewmaps "$QHOME" >/dev/null || exit 111
  # fresh pools: no session process remembers the previous mode's
  # connections or DNS answers
  svc_restart smtp
}

echo "auth-bench: $N messages of $SIZE bytes per run, $C sessions, one message per connection"
for m in $(i=0; while [ $i -lt "${ROUNDS:-2}" ]; do echo "$MODES"; i=$((i + 1)); done); do
  mode "$m"
  before=$(bench_count_mail)
  load 50 || exit 1   # warm: pools, qdkimd children, caches
  bench_wait_mail $((before + 50))
  before=$(bench_count_mail)
  dns0=$(dns_total)
  dk0=$(dkimd_cpu)
  [ -z "$BYPROC" ] || comm_cpu >"$WORK/byproc0"
  cpu0=$(cat "$CG/cpuacct.usage")
  t0=$(date +%s.%N)
  if [ -n "$PROFILE" ]; then
    # the instance's processes and those they start, not the machine's
    # shellcheck disable=SC2086
    perf record -q ${PERFCG:--g} -p "$(paste -sd, "$CG/cgroup.procs")" -o "$PROFILE/$m.data" \
      >/dev/null 2>&1 &
    perf=$!
    sleep 1
  fi
  load "$N" || exit 1
  bench_wait_mail $((before + N))
  t1=$(date +%s.%N)
  if [ -n "$PROFILE" ]; then kill -INT "$perf"; wait "$perf"; fi
  cpu1=$(cat "$CG/cpuacct.usage")
  dk1=$(dkimd_cpu)
  if [ -n "$BYPROC" ]; then
    comm_cpu >"$WORK/byproc1"
    python3 - "$WORK/byproc0" "$WORK/byproc1" "$N" <<'PY'
import os, sys
a = dict(l.split() for l in open(sys.argv[1]))
b = dict(l.split() for l in open(sys.argv[2]))
tick = 1000.0 / os.sysconf("SC_CLK_TCK")
print("  by process, ms/msg: " + " ".join(
    "%s=%.3f" % (k, (int(v) - int(a.get(k, 0))) * tick / int(sys.argv[3]))
    for k, v in sorted(b.items()) if int(v) - int(a.get(k, 0)) > 0))
PY
  fi
  dns1=$(dns_total)
  got=$(($(bench_count_mail) - before))
  v=$(verdicts)
  sp=$(starts $((N / 10)))
  python3 - "$m" "$N" "$got" "$t0" "$t1" "$cpu0" "$cpu1" "$sp" "$dns0" "$dns1" "$v" \
    "$dk0" "$dk1" <<'PY' | tee -a "$WORK/results"
import sys
m, n, got, t0, t1, c0, c1, sp, d0, d1, v, k0, k1 = sys.argv[1:14]
secs = float(t1) - float(t0)
print("mode=%-13s delivered=%s/%s seconds=%.2f rate=%.0f msg/s cpu=%.2f ms/msg "
      "qdkimd=%.2f ms/msg starts=%s /msg dns=%.2f /msg last=%s"
      % (m, got, n, secs, int(got) / secs, (int(c1) - int(c0)) / 1e6 / int(got),
         (int(k1) - int(k0)) / int(got), sp, (int(d1 or 0) - int(d0 or 0)) / int(got), v))
PY
done

# the summary: medians over the rounds; a mode's rate against the off of
# its own round (the machine's load changes between rounds more than
# within one)
python3 - "$WORK/results" <<'PY'
import re, statistics, sys
rounds, cur = [], {}
for line in open(sys.argv[1]):
    m = re.match(r"mode=(\S+) .* rate=(\d+) msg/s cpu=([\d.]+) ms/msg", line)
    if not m:
        continue
    if m.group(1) in cur:
        rounds.append(cur)
        cur = {}
    cur[m.group(1)] = (float(m.group(2)), float(m.group(3)))
if cur:
    rounds.append(cur)
modes = []
for r in rounds:
    modes += [k for k in r if k not in modes]
print("summary over %d rounds: mode, median msg/s, median CPU ms/msg, "
      "msg/s as a share of the round's off (median, range)" % len(rounds))
for k in modes:
    rates = [r[k][0] for r in rounds if k in r]
    cpus = [r[k][1] for r in rounds if k in r]
    shares = [r[k][0] / r["off"][0] for r in rounds if k in r and "off" in r and r["off"][0] > 0]
    share = ("%.2f (%.2f-%.2f)" % (statistics.median(shares), min(shares), max(shares))
             if shares and k != "off" else "-")
    print("  %-13s %6.0f %5.2f  %s" % (k, statistics.median(rates), statistics.median(cpus), share))
PY
