#!/bin/sh
# queue/pool on a small queue disk (an 8 MB tmpfs mounted on queue/): the
# pool holds at most a small share of the disk, whatever one uid sent; a
# new user's large message then fits. When the disk is short anyway, a
# writer that meets ENOSPC frees the pool and tries again before failing
# (451), and qsend pools nothing more while the disk is short.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "1..0 # SKIP needs root (mounts a tmpfs, runs qinject as two users)"
  exit 0
fi
command -v setpriv >/dev/null || { echo "1..0 # SKIP no setpriv"; exit 0; }

inst_setup
Q=$QHOME/queue
mkdir -p "$T_TMP/try" && mount -t tmpfs -o size=1m tmpfs "$T_TMP/try" 2>/dev/null &&
  umount "$T_TMP/try" || { echo "1..0 # SKIP cannot mount a tmpfs here"; exit 0; }
plan 12

# the queue on its own 8 MB file system; qsetup rerun fills it in
mount -t tmpfs -o size=8m,mode=750 tmpfs "$Q" || bail "mount failed"
MOUNTED=1
pool_cleanup() {
  inst_stop
  if [ -n "$MOUNTED" ]; then umount "$Q" || umount -l "$Q"; fi
  t_cleanup
}
trap pool_cleanup EXIT
inst_setup
# mbox users: each delivery is a child that ends, so that no process
# keeps a delivered queue file open (a Maildir worker keeps its last one
# open until its next delivery, and an unlinked file that is still open
# frees no space)
echo 'bob@test.example:!:mail/test.example/bob.mbox' >>"$QHOME/control/users"
echo 'carol@test.example:!:mail/test.example/carol.mbox' >>"$QHOME/control/users"
echo 0 >"$QHOME/control/databytes"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
BOB=$QHOME/mail/test.example/bob.mbox
CAROL=$QHOME/mail/test.example/carol.mbox
# has_mail MBOX N: at least N messages in the mbox
has_mail() { [ "$(grep -c '^From ' "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
A=40001  # sends a lot
B=40002  # a new user, sends once in a while

# as UID: bin/qinject (setgid) with a message of SIZE KiB to RCPT, subject SUBJ
LINE=$(printf '%01023d' 0)
send() {
  [ -f "$T_TMP/body$2" ] || {
    n=0
    while [ $n -lt "$2" ]; do echo "$LINE"; n=$((n + 1)); done >"$T_TMP/body$2"
  }
  { printf 'Subject: %s\n\n' "$4"; cat "$T_TMP/body$2"; } |
    setpriv --reuid="$1" --regid="$1" --clear-groups "$QHOME/bin/qinject" \
      -f "u$1@test.example" "$3"
}
pool_kib() { du -sk "$Q/pool" | cut -f1; }
pool_files() { find "$Q/pool" -type f | wc -l | tr -d ' '; }

# 1. A queues 64 messages of 100 KiB while qsend is down, then they are
#    all delivered: 64 finished files of A's (6.4 MB) come to the pool
s6-svc -T 20000 -wD -d "$QHOME/service/qsend"
i=0
fails=0
while [ $i -lt 64 ]; do
  send $A 100 bob@test.example "a$i" || fails=$((fails + 1))
  i=$((i + 1))
done
is "$fails" 0 "A queued 64 messages of 100 KiB"
s6-svc -T 20000 -wU -u "$QHOME/service/qsend"
ok "all delivered" wait_for 60 has_mail "$BOB" 64
sleep 1
kib=$(pool_kib)
ok "the pool holds at most 1/64 of the disk (128 KiB), not A's 6.4 MB: $kib KiB" \
  test "$kib" -le 128

# 2. B, a new user: a message of 2.5 MB fits
send $B 2500 carol@test.example b1
is "$?" 0 "a new user's large message is accepted"
ok "and delivered" wait_for 30 has_mail "$CAROL" 1

# 3. the disk short anyway: a filler leaves 40 KiB, the pool holds a file
#    of A's; B's 90 KiB message frees the pool and goes in
sleep 2 # qsend counts the pool again at most once a second (QUEUE_POOL_RECOUNT)
send $A 100 bob@test.example a64
ok "A's next message is delivered" wait_for 30 has_mail "$BOB" 65
# (a put over the budget by qsend's count is refused until the pool may be
# counted again, once a second: when qsend's minute sweep counted it just
# before, the file is dropped instead. A second message then goes back.)
if ! wait_for 10 test "$(pool_files)" -ge 1; then
  sleep 2
  send $A 100 bob@test.example a65 && wait_for 30 has_mail "$BOB" 66
fi
ok "and its file is pooled" wait_for 10 test "$(pool_files)" -ge 1
avail=$(( $(stat -f -c '%a' "$Q") * $(stat -f -c '%S' "$Q") ))
head -c $((avail - 40 * 1024)) /dev/zero >"$Q/filler" 2>/dev/null
send $B 90 carol@test.example b2
is "$?" 0 "disk short: B's message goes in after the pool is freed"
is "$(pool_files)" 0 "the pool was emptied for it"
ok "delivered" wait_for 30 has_mail "$CAROL" 2
sleep 1
is "$(pool_files)" 0 "while the disk is short qsend pools nothing"
rm -f "$Q/filler"
send $B 90 carol@test.example b3
ok "after the filler is gone: accepted and delivered" wait_for 30 has_mail "$CAROL" 3
[ "$T_FAIL" = 0 ] || { diag "qsend log:"; tail -20 "$QHOME/log/qsend/current" | sed 's/^/# /'; df -k "$Q" | sed 's/^/# /'; }
