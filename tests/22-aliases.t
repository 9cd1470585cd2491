#!/bin/sh
# Alias delivery end to end (qlspawn -> qlocal -A): forwarding to users,
# lists, mbox and Maildir files, pipes with their environment, :include:
# read at delivery, a catch-all with %1, error:, and an alias loop.
# The sender's local part never changes what a catch-all's target is: no
# command or file made of "%1@elsewhere", no shell syntax into "|prog %1"
# (refused at RCPT time, bounced from a local injection). An :include:
# file that others may write lists addresses only: its commands fail.
# A command that hangs (reading nothing of a large message) is killed
# after control/timeoutcommand, with what it started, and deferred.
# DSN requests (NOTIFY, ENVID) go on with the forwarded copy (RFC 3461 6.2.7).
# A Maildir or mbox target the alias account may not write defers (and
# the log says which target and why); once fixed, a flush delivers.
# sendmail's other error: forms (x.y.z:nnn text, a text alone) at RCPT
# time and at delivery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp.sh"
plan 42

OUT="$T_TMP/out"
mkdir -p "$OUT"
chmod 777 "$OUT" # the alias account writes here
PORT=$(free_port)
inst_setup --smtp "127.0.0.1:$PORT"
echo other.example >>"$QHOME/control/locals"
echo other.example >>"$QHOME/control/rcpthosts"
echo fwd.example >>"$QHOME/control/locals"
{
  echo 'bob@test.example:!'
  echo 'carol@test.example:!'
  echo 'dave@test.example:!'
} >>"$QHOME/control/users"
echo bob >"$OUT/list"
chmod 644 "$OUT/list"
printf 'carol\n"|touch %s/incpwn"\n' "$OUT" >"$OUT/openlist"
chmod 666 "$OUT/openlist"
cat >>"$QHOME/control/aliases" <<EOF
info: bob
team: bob,
  carol@test.example
filebox: $OUT/file.mbox
dirbox: $OUT/dir/
piper: "|echo \$SENDER \$RECIPIENT \$LOCAL \$HOST >$OUT/pipe.txt; cat >$OUT/pipe.msg"
inc: :include:$OUT/list
incopen: :include:$OUT/openlist
hang: "|echo \$\$ >$OUT/hang.pid; sleep 600 & echo \$! >$OUT/hang2.pid; wait"
@other.example: "|echo %1 >>$OUT/catch.txt"
@fwd.example: %1@elsewhere.example
loopa: loopb
loopb: loopa
gone: error:5.1.1 this address is gone
moved: error:5.7.0:550 address invalid
nouser: error:No such user
joe: error:nouser 550 No such user here
lockeddir: $OUT/locked/
lockedmbox: $OUT/lockeddir/locked.mbox
fwdbad: nosuch@test.example
EOF
# targets the alias account may not write: root's, mode 0700
mkdir -p "$OUT/locked/tmp" "$OUT/locked/new" "$OUT/locked/cur" "$OUT/lockeddir"
chmod 700 "$OUT/locked" "$OUT/locked/tmp" "$OUT/locked/new" "$OUT/locked/cur" "$OUT/lockeddir"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
CAROL="$QHOME/mail/test.example/carol"
LOG="$QHOME/log/qsend/current"
send() { printf 'Subject: %s\n\nbody of %s\n' "$2" "$2" | qinject -f alice@test.example "$1"; }

send info@test.example one
ok "a bare-name alias forwards to a user" wait_for 20 has_mail "$BOB" 1
send team@test.example two
both() { has_mail "$BOB" 2 && has_mail "$CAROL" 1; }
ok "a list alias reaches both members" wait_for 20 both
send filebox@test.example three
ok "an mbox file target" wait_for 20 grep -q '^body of three$' "$OUT/file.mbox"
send dirbox@test.example four
ok "a Maildir target" wait_for 20 sh -c "grep -q '^body of four$' '$OUT'/dir/new/*"
send piper@test.example five
ok "a pipe target gets the message" wait_for 20 grep -q '^body of five$' "$OUT/pipe.msg"
is "$(cat "$OUT/pipe.txt" 2>/dev/null)" "alice@test.example piper@test.example piper test.example" \
  "the pipe gets SENDER RECIPIENT LOCAL HOST"
send inc@test.example six
ok ":include: is read at delivery" wait_for 20 has_mail "$BOB" 3
echo carol >"$OUT/list"
send inc@test.example seven
ok "a changed :include: file counts without recompiling" wait_for 20 has_mail "$CAROL" 2
send anyone@other.example eight
ok "a catch-all gives %1 the local part" wait_for 20 grep -qx anyone "$OUT/catch.txt"

# the local part of a catch-all is the sender's: it stays inside the target
printf 'EHLO client.example\r\nMAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<"|touch %s/pwned1"@fwd.example>\r\nRCPT TO:<"/%s/pwned2"@fwd.example>\r\nRCPT TO:<`touch${IFS}%s/pwned3`@other.example>\r\nRCPT TO:<ann@fwd.example>\r\nQUIT\r\n' \
  "$OUT" "$OUT" "$OUT" >"$T_TMP/catch.in"
smtp_raw "$PORT" "$T_TMP/catch.in" >"$T_TMP/catch.out"
is "$(grep -c '^550 5.1.1 unknown user' "$T_TMP/catch.out")" 3 \
  "RCPT: a local part that makes %1@x a command or a file, or puts shell syntax into |prog %1: 550"
ok "a plain one still goes through the catch-all" grep -q '^250 2.1.5' "$T_TMP/catch.out"
send '"|touch '"$OUT"'/pwned4"@fwd.example' eight-b
ok "a local injection of it fails as no such user" \
  wait_for 20 grep -q 'pwned4@fwd.example failed: no such user here: the local part may not go' "$LOG"
send "\`touch\${IFS}$OUT/pwned5\`@other.example" eight-c
ok "and so does shell syntax for |prog %1" \
  wait_for 20 grep -q 'pwned5`@other.example failed: no such user here' "$LOG"
ok "nothing ran, nothing was written" sh -c "! ls '$OUT' | grep -q pwned"
ok "sendmail -bv says the same" sh -c \
  "sendmail -bv '\"|x\"@fwd.example' | grep -q 'User unknown'"

send incopen@test.example eight-d
ok "an :include: file others may write: its command fails" wait_for 20 grep -q \
  "incopen@test.example failed: 5.7.1 a command or file in an :include: file owned or writable by another account" "$LOG"
ok "and does not run" sh -c "! test -e '$OUT/incpwn'"
ok "its addresses are still served" wait_for 20 sh -c "grep -l '^Subject: eight-d' '$CAROL'/new/* >/dev/null 2>&1"

echo 2 >"$QHOME/control/timeoutcommand"
{ printf 'Subject: hang\n\n'; i=0; while [ $i -lt 4000 ]; do
    echo "a line of the body that fills the pipe the command never reads"; i=$((i + 1)); done; } |
  qinject -f alice@test.example hang@test.example
ok "a command that runs too long is deferred, saying why" wait_for 30 grep -q \
  'hang@test.example deferred: command ran longer than control/timeoutcommand' "$LOG"
gone() { ! kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
ok "it is killed" wait_for 10 gone "$OUT/hang.pid"
ok "and so is what it started" wait_for 10 gone "$OUT/hang2.pid"
for f in "$OUT/hang.pid" "$OUT/hang2.pid"; do
  p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
done
qqueue delete -r hang@test.example "$QHOME" >/dev/null 2>&1

send loopa@test.example nine
ok "an alias loop fails instead of going round" \
  wait_for 30 grep -q 'failed: mail loop' "$LOG"
send gone@test.example ten
ok "error: fails with its own code and text" wait_for 20 grep -q 'failed: 5.1.1 this address is gone' "$LOG"

send moved@test.example ten-b
ok "error:x.y.z:nnn text fails with x.y.z and the text" \
  wait_for 20 grep -q 'moved@test.example failed: 5.7.0 address invalid$' "$LOG"
send nouser@test.example ten-c
ok "error:text fails with the text" wait_for 20 grep -q 'nouser@test.example failed: No such user$' "$LOG"
send joe@test.example ten-d
ok "error:nouser nnn text fails with 5.1.1 and the text" \
  wait_for 20 grep -q 'joe@test.example failed: 5.1.1 No such user here$' "$LOG"
printf 'EHLO client.example\r\nMAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<moved@test.example>\r\nRCPT TO:<nouser@test.example>\r\nRCPT TO:<joe@test.example>\r\nQUIT\r\n' >"$T_TMP/rcpt.in"
OUT="$T_TMP/rcpt.out"
smtp_raw "$PORT" "$T_TMP/rcpt.in" >"$OUT"
ok "RCPT to error:5.7.0:550 text: 550 5.7.0 text" grep -q '^550 5.7.0 address invalid$' "$OUT"
ok "RCPT to error:text: 550 with the text" grep -q '^550 5.7.1 No such user$' "$OUT"
ok "RCPT to error:nouser 550 text: 550 5.1.1 text" grep -q '^550 5.1.1 No such user here$' "$OUT"
OUT="$T_TMP/out"

# DSN requests behind an alias: NOTIFY=NEVER holds for the forwarded copy,
# ENVID goes with it; SUCCESS is reported for the alias itself
DAVE="$QHOME/mail/test.example/dave"
printf 'Subject: never\n\nx\n' | sendmail -N never -f dave@test.example fwdbad@test.example
ok "NOTIFY=NEVER through an alias: the forwarded copy fails" \
  wait_for 20 grep -q 'nosuch@test.example failed' "$LOG"
id=$(grep 'nosuch@test.example failed' "$LOG" | head -n 1 | sed 's/.*delivery \([A-Z0-9]*\)\..*/\1/')
ok "and nothing bounces" sh -c "! grep -q 'bounce $id:' '$LOG'"
printf 'Subject: envid\n\nx\n' |
  sendmail -N success,failure -V env77 -f dave@test.example fwdbad@test.example
ok "NOTIFY=SUCCESS,FAILURE: a success report for the alias, a bounce for the copy" \
  wait_for 20 has_mail "$DAVE" 2
ok "the bounce carries the ENVID" sh -c "grep -l '^Action: failed' '$DAVE'/new/* |
  xargs grep -q '^Original-Envelope-Id: env77'"
ok "the alias's success report says expanded (RFC 3461 6.2.7.3)" sh -c \
  "f=\$(grep -l '^Subject: Delivery report: mail expanded' '$DAVE'/new/*) &&
   grep -q '^Action: expanded' \$f && grep -q '^Final-Recipient: rfc822; fwdbad@test.example' \$f &&
   grep -q '^Status: 2.0.0' \$f"
printf 'Subject: filed\n\nx\n' | sendmail -N success -f dave@test.example filebox@test.example
ok "an alias that only writes a file: its success report" wait_for 20 has_mail "$DAVE" 3
ok "... says delivered, not expanded" sh -c \
  "grep -l '^Final-Recipient: rfc822; filebox@test.example' '$DAVE'/new/* | xargs grep -q '^Action: delivered'"

# permission errors on file targets: both kinds defer, never bounce
if [ "$(id -u)" = 0 ]; then
  send lockeddir@test.example eleven
  ok "an unwritable Maildir target defers, naming the target and the error" wait_for 20 grep -q \
    "lockeddir@test.example deferred: unable to write the Maildir $OUT/locked/: Permission denied" \
    "$LOG"
  send lockedmbox@test.example twelve
  ok "an unwritable mbox target defers, naming the target and the error" wait_for 20 grep -q \
    "lockedmbox@test.example deferred: unable to open the mbox $OUT/lockeddir/locked.mbox: Permission denied" \
    "$LOG"
  ok "neither bounced" sh -c "! grep -q 'locked[a-z]*@test.example failed' '$LOG'"
  ok "and both stay in the queue" sh -c "qstat '$QHOME' | grep -q 'lockeddir@test.example' &&
    qstat '$QHOME' | grep -q 'lockedmbox@test.example'"
  chmod 777 "$OUT/locked" "$OUT/locked/tmp" "$OUT/locked/new" "$OUT/locked/cur" "$OUT/lockeddir"
  s6-svc -a "$QHOME/service/qsend"
  ok "once the admin fixes the modes, the flush delivers into the Maildir" \
    wait_for 20 sh -c "grep -q '^body of eleven$' '$OUT'/locked/new/*"
  ok "and into the mbox" wait_for 20 grep -q '^body of twelve$' "$OUT/lockeddir/locked.mbox"
else
  for n in 1 2 3 4 5 6; do pass "# SKIP not root: the alias account is the test's own"; done
fi
