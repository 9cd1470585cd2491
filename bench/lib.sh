# Shared by the benchmark scripts (sourced). Needs ROOT (the tree) and
# BENCH_NAME; sets WORK (a scratch dir on the filesystem measured), QHOME.
#   bench_setup [qsetup options]   instance in $WORK/inst with user bob@test.example
#   bench_start                    s6-svscan, waits for readiness
#   bench_ceiling SIZE             prints files/s: SIZE-byte files, one fsync each, 3 s
#   bench_wait_mail WANT           waits until bob's Maildir holds WANT files (<= 300 s)
#   BOB_NEW=dir (environment) counts the files there instead of bob's new/
PATH="$ROOT/bin:$PATH"
export PATH
BASE=${BENCHDIR:-$ROOT/bench/out}
mkdir -p "$BASE" || exit 111
WORK=$(mktemp -d "$BASE/$BENCH_NAME.XXXXXX") || exit 111
chmod 755 "$WORK"
QHOME="$WORK/inst"
export QHOME
SVSCAN=

bench_freeze() {
  kill -STOP "$1" 2>/dev/null
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do bench_freeze "$c"; done
}

bench_cleanup() {
  if [ -n "$SVSCAN" ]; then
    s6-svscanctl -t "$QHOME/service" 2>/dev/null
    i=0
    while kill -0 "$SVSCAN" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    # still there: stop the whole tree top down, then kill it (nothing left behind)
    if kill -0 "$SVSCAN" 2>/dev/null; then
      # shellcheck disable=SC2046
      kill -9 $(bench_freeze "$SVSCAN") 2>/dev/null
    fi
  fi
  rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

# The instance's DNS (SPF, DKIM and DMARC of port-25 mail, qremote) is
# tests/nxdns.py on loopback, which answers every query at once
# (NXDOMAIN), as a local caching resolver does for what it knows: a
# resolver across the network would make the figures the network's. It
# ends when its stdin (fd 8 of this shell) closes, with the benchmark.
bench_resolver() {
  mkfifo "$WORK/dns.in" || exit 111
  python3 "$ROOT/tests/nxdns.py" <"$WORK/dns.in" >"$WORK/dns.port" &
  exec 8>"$WORK/dns.in"
  i=0
  while [ ! -s "$WORK/dns.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$WORK/dns.port" ] || { echo "$BENCH_NAME: tests/nxdns.py did not start" >&2; exit 111; }
  echo "127.0.0.1:$(head -n 1 "$WORK/dns.port")" >"$QHOME/control/resolvers"
}

bench_setup() {
  qsetup "$QHOME" --me test.example "$@" >"$WORK/qsetup.out" 2>&1 ||
    { cat "$WORK/qsetup.out" >&2; exit 111; }
  echo 'bob@test.example:!' >>"$QHOME/control/users"
  bench_resolver
  qnewmaps "$QHOME" >/dev/null || exit 111
}

bench_start() {
  s6-svscan "$QHOME/service" >"$WORK/svscan.out" 2>&1 &
  SVSCAN=$!
  for svc in "$QHOME"/service/*/; do
    svc=${svc%/}
    [ -f "$svc/notification-fd" ] || continue
    i=0
    while [ ! -f "$svc/supervise/status" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    s6-svwait -U -t 20000 "$svc" || { echo "$BENCH_NAME: $svc not ready" >&2; exit 111; }
  done
}

# The files stay until the end: removed just before a run, thousands of
# freshly freed inodes would make every file the run creates search past
# them (ext4 without a journal skips recently freed inodes).
bench_ceiling() {
  python3 - "$(mktemp -d "$WORK/fsync.XXXXXX")" "$1" <<'PY'
import os, sys, time
d, size = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
data = b"x" * size
n = 0
t0 = time.monotonic()
while time.monotonic() - t0 < 3.0:
    fd = os.open(os.path.join(d, "f%d" % n), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
PY
}

bench_count_mail() {
  find "${BOB_NEW:-$QHOME/mail/test.example/bob/new}" -type f 2>/dev/null | wc -l
}

# one process that counts by reading the directory: a shell loop starting
# find and wc every 50 ms took a tenth of the CPU the mail system needed
bench_wait_mail() {
  python3 - "${BOB_NEW:-$QHOME/mail/test.example/bob/new}" "$1" <<'PY'
import os, sys, time
d, want = sys.argv[1], int(sys.argv[2])
end = time.monotonic() + 300
def count():
    try:
        with os.scandir(d) as it:
            return sum(1 for e in it if e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return 0
while time.monotonic() < end:
    n = count()
    if n >= want:
        break
    time.sleep(0.01 if want - n < 50 else 0.05)
PY
}

# bench_session_mem NAME...: the memory of the instance's per-session
# processes (those named NAME, working in $QHOME), sampled once. Prints
# "sessions=N rss_per_session=KiB pss_per_session=KiB": a session counts
# one process of the first NAME; RSS counts shared library pages in every
# process, PSS shares them out (what the machine really spends).
bench_session_mem() {
  python3 - "$QHOME" "$@" <<'PY'
import os, sys
qhome, names = os.path.realpath(sys.argv[1]), sys.argv[2:]
sessions = rss = pss = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        comm = open("/proc/%s/comm" % pid).read().strip()
        if comm not in names or os.path.realpath("/proc/%s/cwd" % pid) != qhome:
            continue
        for line in open("/proc/%s/smaps_rollup" % pid):
            f = line.split()
            if f[0] == "Rss:": rss += int(f[1])
            if f[0] == "Pss:": pss += int(f[1])
    except OSError:
        continue
    if comm == names[0]:
        sessions += 1
n = max(sessions, 1)
print("sessions=%d rss_per_session=%d KiB pss_per_session=%d KiB" % (sessions, rss // n, pss // n))
PY
}

# bench_smtp_report SESSIONS N GOT T0 T1 CEILING LOAD_OUTPUT MEM: the result
# line of an SMTP-to-Maildir run (smtp-bench, postfix-bench).
bench_smtp_report() {
  python3 - "$@" <<'PY'
import sys
c, n, got, t0, t1, fs, load, mem = sys.argv[1:9]
secs = float(t1) - float(t0)
rate = int(got) / secs if secs > 0 else 0.0
ratio = rate / float(fs) if float(fs) > 0 else 0.0
accept = load.split("rate=")[-1] if "rate=" in load else "?"
print("sessions=%s delivered=%s/%s seconds=%.2f smtp_to_maildir=%.0f msg/s smtp_accept=%s "
      "fsync_ceiling=%s files/s ratio=%.2f" % (c, got, n, secs, rate, accept, fs, ratio))
print("  memory: %s" % mem)
PY
}

# bench_cpu_read CGROUP...: the CPU time each cpuacct cgroup has spent so
# far (nanoseconds, one number per cgroup, on one line)
bench_cpu_read() {
  for cg in "$@"; do printf '%s ' "$(cat "$cg/cpuacct.usage")"; done
  echo
}

# bench_cpu_report "CGROUP..." "BEFORE" "AFTER" GOT: one line, the CPU per
# message in all and in each cgroup (named by its last component), from two
# bench_cpu_read lines: "  cpu: total=1.23 ms/msg qmta=0.80 rspamd=0.43"
bench_cpu_report() {
  python3 - "$@" <<'PY'
import os, sys
names = [os.path.basename(c) for c in sys.argv[1].split()]
c0, c1, got = sys.argv[2].split(), sys.argv[3].split(), max(int(sys.argv[4]), 1)
per = [(int(b) - int(a)) / 1e6 / got for a, b in zip(c0, c1)]
print("  cpu: total=%.2f ms/msg %s" % (sum(per), " ".join(
    "%s=%.2f" % (n, p) for n, p in zip(names, per))))
PY
}
