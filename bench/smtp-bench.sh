#!/bin/sh
# SMTP-to-Maildir benchmark (issue 3). Creates an instance with qsetup in a
# scratch directory, runs it under s6-svscan, sends N messages of S bytes
# with bench/smtpload over C concurrent sessions, and counts the Maildir
# files until all have arrived. In the same run and the same filesystem it
# measures the fsync ceiling: S-byte files written with one fsync each, per
# second. Prints messages per second and the ratio to the ceiling.
#
#   sh bench/smtp-bench.sh [-n N] [-s BYTES] [-p] [SESSIONS...]   (default: 10 50)
#   BENCHDIR=dir picks the filesystem (default bench/out in the tree).
# Run as root for a root instance (dedicated accounts), as in production.
# Build first: make build bench/smtpload
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
PATH="$ROOT/bin:$PATH"
export PATH

N=2000
SIZE=4096
PIPE=
while [ $# -gt 0 ]; do
  case $1 in
    -n) N=$2; shift 2 ;;
    -s) SIZE=$2; shift 2 ;;
    -p) PIPE=-p; shift ;;
    -*) echo "usage: smtp-bench.sh [-n N] [-s BYTES] [-p] [SESSIONS...]" >&2; exit 100 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- 10 50
[ -x bench/smtpload ] || { echo "smtp-bench: build bench/smtpload first" >&2; exit 111; }
command -v qsetup >/dev/null || { echo "smtp-bench: run make build first" >&2; exit 111; }

BASE=${BENCHDIR:-$ROOT/bench/out}
mkdir -p "$BASE" || exit 111
WORK=$(mktemp -d "$BASE/smtp.XXXXXX") || exit 111
chmod 755 "$WORK"
SVSCAN=
cleanup() {
  if [ -n "$SVSCAN" ]; then
    s6-svscanctl -t "$WORK/inst/service" 2>/dev/null
    i=0
    while kill -0 "$SVSCAN" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$SVSCAN" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The fsync ceiling: SIZE-byte files, one fsync each, for about 3 seconds.
ceiling() {
  python3 - "$1" "$SIZE" <<'EOF'
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
EOF
}

count_mail() { find "$WORK/inst/mail/test.example/bob/new" -type f 2>/dev/null | wc -l; }

PORT=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
QHOME="$WORK/inst"
export QHOME
qsetup "$QHOME" --me test.example --smtp 127.0.0.1:$PORT >"$WORK/qsetup.out" 2>&1 ||
  { cat "$WORK/qsetup.out" >&2; exit 111; }
echo 'bob@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" >/dev/null || exit 111
s6-svscan "$QHOME/service" >"$WORK/svscan.out" 2>&1 &
SVSCAN=$!
for svc in "$QHOME"/service/*/; do
  svc=${svc%/}
  [ -f "$svc/notification-fd" ] || continue
  i=0
  while [ ! -p "$svc/supervise/control" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  s6-svwait -U -t 20000 "$svc" || { echo "smtp-bench: $svc not ready" >&2; exit 111; }
done

echo "smtp-bench: $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  rm -rf "$WORK/fsync"
  fs=$(ceiling "$WORK/fsync")
  rm -rf "$WORK/fsync"
  before=$(count_mail)
  want=$((before + N))
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$C" -s "$SIZE" $PIPE 127.0.0.1 "$PORT" >"$WORK/load.out" ||
    { cat "$WORK/load.out" >&2; echo "smtp-bench: load failed" >&2; exit 1; }
  i=0
  while [ "$(count_mail)" -lt "$want" ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i + 1)); done
  t1=$(date +%s.%N)
  got=$(($(count_mail) - before))
  python3 - "$C" "$N" "$got" "$t0" "$t1" "$fs" "$(cat "$WORK/load.out")" <<'EOF'
import sys
c, n, got, t0, t1, fs, load = sys.argv[1:8]
secs = float(t1) - float(t0)
rate = int(got) / secs if secs > 0 else 0.0
ratio = rate / float(fs) if float(fs) > 0 else 0.0
accept = load.split("rate=")[-1] if "rate=" in load else "?"
print("sessions=%s delivered=%s/%s seconds=%.2f smtp_to_maildir=%.0f msg/s smtp_accept=%s "
      "fsync_ceiling=%s files/s ratio=%.2f" % (c, got, n, secs, rate, accept, fs, ratio))
EOF
done
