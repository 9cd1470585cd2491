#!/bin/sh
# Local delivery end to end: qinject -> qsend -> qlspawn -> qlocal, into
# Maildirs and an mbox, compared byte for byte; loops and unknown users.
. "$(dirname "$0")/lib.sh"
plan 28

inst_setup
{
  echo 'bob@test.example:!'
  echo 'dave@test.example:!'
  echo 'carol@test.example:!:mail/test.example/carol.mbox'
  i=0
  while [ $i -lt 1000 ]; do echo "u$i@test.example:!"; i=$((i + 1)); done
} >>"$QHOME/control/users"
echo 20971520 >"$QHOME/control/databytes" # the 10 MB message below
# one delivery at a time: a single Maildir worker in qlspawn takes every
# delivery, and is replaced after its 1000th (during the 1000 below)
echo 1 >"$QHOME/control/concurrencylocal"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start

BOB="$QHOME/mail/test.example/bob"
M="$T_TMP/msg"

# strips what delivery adds (Return-Path, Delivered-To, qinject's Received)
body_of() { tail -n +4 "$1"; }
newest() { ls -t "$1"/new/* 2>/dev/null | head -1; }

# 1. a plain message, byte for byte
printf 'From: alice@else.example\nTo: bob@test.example\nSubject: one\n\nline 1\nline 2\n' >"$M"
qinject -f alice@else.example bob@test.example <"$M"
is "$?" 0 "qinject accepts a message"
ok "delivered to bob's Maildir" wait_for 20 has_mail "$BOB" 1
f=$(newest "$BOB")
is "$(sed -n 1p "$f")" "Return-Path: <alice@else.example>" "Return-Path line first"
is "$(sed -n 2p "$f")" "Delivered-To: bob@test.example" "Delivered-To line second"
ok "qinject's Received line third" sh -c "sed -n 3p '$f' | grep -q '^Received: (qmta '"
ok "the message itself is byte-exact" sh -c "tail -n +4 '$f' | cmp -s - '$M'"
ok "the Maildir file is only in new/ (tmp/ is empty)" test "$(count_files "$BOB/tmp")" = 0

# 2. 8-bit bytes, a 998-byte line, a line without final newline
python3 - "$M" <<'EOF'
import sys
body = b"Subject: 8bit\n\n" + bytes(range(128, 256)) + b"\n" + b"x" * 998 + b"\n" + b"caf\xc3\xa9 \x00 nul and end"
open(sys.argv[1], "wb").write(body)
EOF
qinject -f alice@else.example bob@test.example <"$M"
ok "second message delivered" wait_for 20 has_mail "$BOB" 2
f=$(newest "$BOB")
ok "8-bit bytes, 998-byte line and NUL kept byte-exact" sh -c "tail -n +4 '$f' | cmp -s - '$M'"

# 3. a 10 MB body
python3 -c '
import sys
line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
sys.stdout.buffer.write(b"Subject: big\n\n" + line * (10 * 1024 * 1024 // len(line) + 1))' >"$M"
qinject -f alice@else.example bob@test.example <"$M"
ok "10 MB message delivered" wait_for 60 has_mail "$BOB" 3
f=$(newest "$BOB")
ok "10 MB message byte-exact" sh -c "tail -n +4 '$f' | cmp -s - '$M'"

# 4. mbox: From_ line, >From quoting, blank line between messages
printf 'Subject: mbox\n\nFrom here on\n>From quoted\nplain\n' >"$M"
qinject -f alice@else.example carol@test.example <"$M"
qinject -f '' carol@test.example <"$M"
MBOX="$QHOME/mail/test.example/carol.mbox"
ok "two messages appended to the mbox" wait_for 20 sh -c "[ \$(grep -c '^From ' '$MBOX') -eq 2 ]"
ok "From_ line with the sender" grep -q '^From alice@else.example ' "$MBOX"
ok "null sender shown as MAILER-DAEMON" grep -q '^From MAILER-DAEMON ' "$MBOX"
ok "body From quoted as >From" grep -q '^>From here on$' "$MBOX"
ok ">From quoted as >>From" grep -q '^>>From quoted$' "$MBOX"

# 5. 1000 recipients, each its own mailbox
i=0
rcpts=
while [ $i -lt 1000 ]; do rcpts="$rcpts u$i@test.example"; i=$((i + 1)); done
printf 'Subject: many\n\nto a thousand\n' >"$M"
# shellcheck disable=SC2086
qinject -f alice@else.example $rcpts <"$M"
all_thousand() { [ "$(find "$QHOME/mail/test.example" -path '*/u*/new/*' -type f | wc -l)" -eq 1000 ]; }
ok "1000 recipients of one message each got it once" wait_for 120 all_thousand
ok "no delivery was deferred (the worker's replacement lost nothing)" \
  sh -c "! grep -q 'deferred' '$QHOME/log/qsend/current'"

# 5b. Maildir workers killed while idle: the next delivery gets a new one
workers=
for p in $(pgrep -x qlspawn); do
  # a worker is a qlspawn whose parent is this instance's qlspawn
  [ "$(readlink "/proc/$p/cwd")" = "$QHOME" ] || continue
  parent=$(ps -o ppid= -p "$p" | tr -d ' ')
  [ "$(ps -o comm= -p "$parent")" = qlspawn ] && workers="$workers $p"
done
ok "qlspawn has a Maildir worker" test -n "$workers"
# shellcheck disable=SC2086
kill -9 $workers 2>/dev/null
printf 'Subject: after the workers died\n\nstill here\n' >"$M"
before=$(maildir_count "$BOB")
qinject -f alice@else.example bob@test.example <"$M"
ok "a delivery after the workers were killed arrives, not deferred" \
  sh -c "for i in \$(seq 100); do [ \$(( \$(ls '$BOB/new' | wc -l) + \$(ls '$BOB/cur' | wc -l) )) -gt $before ] && ! grep -q deferred '$QHOME/log/qsend/current' && exit 0; sleep 0.2; done; exit 1"

# 5c. a Maildir with only tmp/ left (new/ and cur/ gone) is made whole
DAVE="$QHOME/mail/test.example/dave"
mkdir -p "$DAVE/tmp" && chown -R --reference="$BOB" "$DAVE" && chmod -R 700 "$DAVE"
printf 'Subject: to dave\n\nhello dave\n' >"$M"
qinject -f alice@else.example dave@test.example <"$M"
ok "a Maildir missing new/ and cur/ is completed and gets the mail" \
  wait_for 20 sh -c "test -d '$DAVE/cur' && grep -q '^hello dave' '$DAVE'/new/*"

# 6. loops and unknown users fail, and nothing is delivered
printf 'Delivered-To: bob@test.example\nSubject: loop\n\nloop\n' >"$M"
qinject -f alice@else.example bob@test.example <"$M"
ok "a message with our Delivered-To fails as a loop" \
  wait_for 20 sh -c "grep -q 'bob@test.example failed: mail loop' '$QHOME/log/qsend/current'"
{
  i=0
  while [ $i -lt 101 ]; do echo "Received: from hop$i"; i=$((i + 1)); done
  printf 'Subject: hops\n\nhops\n'
} >"$M"
qinject -f alice@else.example bob@test.example <"$M"
ok "more than maxhops Received lines fail as a loop" \
  wait_for 20 sh -c "grep -q 'too many Received lines' '$QHOME/log/qsend/current'"
qinject -f alice@else.example nosuchuser@test.example <"$M"
ok "an unknown local user fails permanently" \
  wait_for 20 sh -c "grep -q 'nosuchuser@test.example failed: no such user' '$QHOME/log/qsend/current'"
is "$(maildir_count "$BOB")" 4 "bob got nothing more"

# 7. a login account of the "me" domain on a root instance: ~/Maildir/,
# written by a worker running as that account (a throwaway account,
# removed again by the EXIT trap)
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  SYSU="qmtal$$"
  SYSHOME="$T_TMP/home-$SYSU"
  # the instance first: userdel refuses while a worker still runs as the account
  sys_cleanup() {
    rc=$?
    inst_stop
    w=0
    while pgrep -u "$SYSU" >/dev/null 2>&1 && [ $w -lt 50 ]; do sleep 0.1; w=$((w + 1)); done
    userdel "$SYSU" >/dev/null 2>&1
    (exit $rc)
    t_cleanup
  }
  trap sys_cleanup EXIT
  useradd -M -d "$SYSHOME" -s /usr/sbin/nologin "$SYSU" >/dev/null 2>&1 || bail "useradd failed"
  mkdir "$SYSHOME" && chown "$SYSU" "$SYSHOME" && chmod 700 "$SYSHOME" || bail "no home"
  printf 'Subject: to a login account\n\nhello\n' >"$M"
  qinject -f alice@else.example "$SYSU@test.example" <"$M"
  qinject -f alice@else.example "$SYSU@test.example" <"$M"
  two_there() { [ "$(maildir_count "$SYSHOME/Maildir")" -eq 2 ]; }
  ok "a login account gets its mail in ~/Maildir/" wait_for 20 two_there
  owners=$(find "$SYSHOME/Maildir" -printf '%u\n' | sort -u)
  is "$owners" "$SYSU" "everything in ~/Maildir belongs to the account"
  ok "the message is intact" grep -q '^hello$' "$SYSHOME"/Maildir/new/*
else
  for i in 1 2 3; do pass "# SKIP login accounts need root and useradd"; done
fi
