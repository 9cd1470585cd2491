#!/bin/sh
# SMTP-to-LMTP benchmark (issue 17): one instance, one run, two paths.
# bob@test.example is a Maildir of qmta's own; ann@lmtp.example goes to a
# Dovecot LMTP server this script starts on a Unix socket
# (control/lmtpdomains). For each session count, N messages of S bytes go
# over SMTP (bench/smtpload) to bob, then N to ann; prints both rates and
# how many LMTP connections Dovecot saw in all, Dovecot's own rate, then
# (when Postfix is installed) bench/postfix-bench.sh with Postfix delivering
# to the same Dovecot over LMTP.
#
#   sh bench/lmtp-bench.sh [-n N] [-s BYTES] [-p] [SESSIONS...]   (default: 10 50)
# Run as root (Dovecot, qmta-vmail). Build first: make build bench/smtpload
cd "$(dirname "$0")/.." || exit 111
ROOT=$(pwd)
PATH="$ROOT/bin:$PATH"
export PATH

BENCH_NAME=lmtp-bench
. bench/args.sh
[ -x bench/smtpload ] || { echo "lmtp-bench: build bench/smtpload first" >&2; exit 111; }
command -v qsetup >/dev/null || { echo "lmtp-bench: run make build first" >&2; exit 111; }
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
[ -x /usr/lib/dovecot/lmtp ] || { echo "lmtp-bench: dovecot-lmtpd is needed" >&2; exit 111; }

. bench/lib.sh

DV="$WORK/dovecot"
DVPID=
lmtp_cleanup() {
  [ -n "$DVPID" ] && kill "$DVPID" 2>/dev/null && wait "$DVPID" 2>/dev/null
  bench_cleanup
}
trap lmtp_cleanup EXIT

mkdir -p "$DV/home" && chown nobody:nogroup "$DV/home" || exit 111
cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
instance_name = qmta-lmtp-bench
protocols = lmtp
log_path = $DV/dovecot.log
ssl = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DV/home/%d/%n
}
mail_location = maildir:~/Maildir
service lmtp {
  unix_listener lmtp {
    path = $DV/lmtp.sock
    mode = 0666
  }
}
CONF
"$DOVECOT" -F -c "$DV/dovecot.conf" >/dev/null 2>&1 &
DVPID=$!
i=0
while [ ! -S "$DV/lmtp.sock" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$DV/lmtp.sock" ] || { echo "lmtp-bench: no LMTP socket from dovecot" >&2; exit 111; }

PORT=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bench_setup --smtp 127.0.0.1:$PORT
echo 'ann@lmtp.example:!' >>"$QHOME/control/users"
echo lmtp.example >>"$QHOME/control/locals"
echo lmtp.example >>"$QHOME/control/rcpthosts"
echo "lmtp.example:lmtp:unix:$DV/lmtp.sock" >"$QHOME/control/lmtpdomains"
qnewmaps "$QHOME" >/dev/null || exit 111
bench_start

count_bob() { bench_count_mail; }
count_ann() { find "$DV/home/lmtp.example/ann/Maildir/new" -type f 2>/dev/null | wc -l; }
# one_run C RCPT COUNT: N messages to RCPT over C sessions; prints
# "RATE msg/s (GOT/N)" once COUNT (count_bob, count_ann) has them all (<= 300 s)
one_run() {
  before=$($3)
  t0=$(date +%s.%N)
  bench/smtpload -n "$N" -c "$1" -s "$SIZE" $PIPE -t "$2" 127.0.0.1 "$PORT" \
    >"$WORK/load.out" || { cat "$WORK/load.out" >&2; exit 1; }
  i=0
  while [ "$($3)" -lt $((before + N)) ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
  t1=$(date +%s.%N)
  got=$(($($3) - before))
  python3 -c "import sys; print('%.0f msg/s (%s/%s)' % (int(sys.argv[1]) /
    (float(sys.argv[3]) - float(sys.argv[2])), sys.argv[1], sys.argv[4]))" "$got" "$t0" "$t1" "$N"
}

# Dovecot's own rate: C Python clients straight to its socket, one
# message per transaction, MAIL, RCPT and DATA pipelined
direct() {
  python3 - "$DV/lmtp.sock" "$1" "$2" "$SIZE" <<'PY'
import socket, sys, threading, time
path, n, c, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
body = b"Subject: direct\r\n\r\n" + (b"x" * 76 + b"\r\n") * max(1, size // 78) + b".\r\n"
def client(k):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    def reply():
        while True:
            l = f.readline()
            if len(l) < 4 or l[3:4] != b"-":
                return l
    reply()
    f.write(b"LHLO bench\r\n"); f.flush(); reply()
    for i in range(k):
        f.write(b"MAIL FROM:<load@bench.example>\r\nRCPT TO:<direct@lmtp.example>\r\nDATA\r\n")
        f.flush()
        reply(); reply(); reply()
        f.write(body); f.flush(); reply()
    f.write(b"QUIT\r\n"); f.flush(); reply()
t0 = time.monotonic()
ts = [threading.Thread(target=client, args=(n // c,)) for _ in range(c)]
[t.start() for t in ts]
[t.join() for t in ts]
print("%.0f" % ((n // c) * c / (time.monotonic() - t0)))
PY
}

echo "lmtp-bench: $N messages of $SIZE bytes per run, filesystem of $BASE"
for C in "$@"; do
  md=$(one_run "$C" bob@test.example count_bob)
  lmtp=$(one_run "$C" ann@lmtp.example count_ann)
  echo "sessions=$C smtp_to_maildir=$md smtp_to_lmtp_dovecot=$lmtp" \
    "lmtp_connections=$(grep -c 'Connect from local' "$DV/dovecot.log")" \
    "dovecot_lmtp_direct=$(direct "$N" "$C") msg/s"
done
# Postfix to the same Dovecot over LMTP, same load
if command -v postfix >/dev/null || [ -x /usr/sbin/postfix ]; then
  echo "lmtp-bench: Postfix to the same Dovecot over LMTP:"
  PF_LMTP="unix:$DV/lmtp.sock" BOB_NEW="$DV/home/test.example/bob/Maildir/new" \
    BENCHDIR="$BASE" sh bench/postfix-bench.sh -n "$N" -s "$SIZE" $PIPE "$@" | grep sessions=
fi
