#!/bin/sh
# Damaged queue files are set aside: qsetup makes queue/bad (owned like the
# other queue directories); qsend moves a file it cannot parse there once,
# with one log line naming its id, and never looks at it again; qstat lists
# it as set aside and counts it (-s: bad). One damaged file is planted in
# queue/mess before qsend starts (its start-up scan), one in queue/new while
# it runs (take-in); good mail keeps flowing past them. A torn line in an
# info log (a full disk cut an append short), run on by the next line,
# marks no recipient that was not delivered.
. "$(dirname "$0")/lib.sh"
plan 23

inst_setup
echo 'bob@test.example:!' >>"$QHOME/control/users"
i=0
while [ $i -le 12 ]; do echo "u$i@test.example:!" >>"$QHOME/control/users"; i=$((i + 1)); done
qnewmaps "$QHOME" || bail "qnewmaps failed"
Q=$QHOME/queue
BOB=$QHOME/mail/test.example/bob
LOG=$QHOME/log/qsend/current

ok "qsetup made queue/bad" test -d "$Q/bad"
if [ "$(id -u)" = 0 ]; then
  is "$(stat -c '%a %U:%G' "$Q/bad")" "$(stat -c '%a %U:%G' "$Q/mess/0")" \
    "queue/bad is owned like queue/mess/NN"
else
  is "$(stat -c '%a' "$Q/bad")" "$(stat -c '%a' "$Q/mess/0")" "queue/bad has the mode of queue/mess/NN"
fi

# plant NAME DIR: a damaged queue file (a header that lies about the length,
# no envelope), readable by the queue group like a real one; written beside
# and renamed in, so that qsend never sees it half-written
plant() {
  printf 'Q1 00000000000000099999\nSubject: torn\n\nhalf a message' >"$Q/$2/.plant"
  if [ "$(id -u)" = 0 ]; then chgrp "$(stat -c %g "$Q/$2")" "$Q/$2/.plant"; fi
  chmod 640 "$Q/$2/.plant"
  mv "$Q/$2/.plant" "$Q/$2/$1"
}
OLD=900000017          # in mess/17 before qsend starts: its start-up scan
NEW=900000042          # in new/ while qsend runs: take-in
plant "$OLD" "mess/$((OLD % 32))"
inst_start

plant "$NEW" new
printf 'Subject: good 1\n\nfine\n' | qinject -f alice@else.example bob@test.example
ok "good mail is delivered past the damaged files" wait_for 20 has_mail "$BOB" 1
ok "the damaged file from queue/new is in queue/bad" wait_for 20 test -f "$Q/bad/$NEW"
ok "the damaged file from queue/mess is in queue/bad" test -f "$Q/bad/$OLD"
ok "neither is left where it was" \
  sh -c "! test -e '$Q/new/$NEW' && ! test -e '$Q/mess/$((OLD % 32))/$OLD'"

# more scans: each qinject pokes the trigger (a scan of queue/new), and a
# flush; the damaged files must not come back into any log line
for i in 2 3 4; do
  printf 'Subject: good %s\n\nfine\n' "$i" | qinject -f alice@else.example bob@test.example
done
s6-svc -a "$QHOME/service/qsend"
ok "later mail delivered too" wait_for 20 has_mail "$BOB" 4
sleep 1
is "$(grep -c "$NEW" "$LOG")" 1 "one log line for the file from queue/new"
is "$(grep -c "$OLD" "$LOG")" 1 "one log line for the file from queue/mess"
ok "the line names the id and queue/bad" grep -q "damaged queue file $NEW .*queue/bad/$NEW" "$LOG"

out=$(qstat "$QHOME" 2>&1)
ok "qstat lists the file set aside" sh -c "printf '%s\n' \"\$1\" | grep -q '^$NEW .*set aside in queue/bad'" sh "$out"
ok "qstat lists both" sh -c "printf '%s\n' \"\$1\" | grep -q '^$OLD .*set aside in queue/bad'" sh "$out"
ok "qstat's summary names them" sh -c "printf '%s\n' \"\$1\" | grep -q '^2 damaged files set aside in queue/bad'" sh "$out"
is "$(qstat -s "$QHOME" | sed -n 's/^bad //p')" 2 "qstat -s counts them (bad 2)"
# a FIFO in queue/new (the queue group can put one there): neither qsend
# nor qstat (run by root) may hang on it; it is set aside like the others
FIFO=900000077
mkfifo "$Q/new/.fifo" && mv "$Q/new/.fifo" "$Q/new/$FIFO"
printf 'Subject: good 9\n\nfine\n' | qinject -f alice@else.example bob@test.example
ok "a FIFO in queue/new is set aside" wait_for 20 test -p "$Q/bad/$FIFO"
ok "mail goes on past it" wait_for 20 has_mail "$BOB" 5
# one in queue/mess (qsend reads mess/ only when it starts): qstat passes it by
FIFO2=900000109
mkfifo "$Q/mess/$((FIFO2 % 32))/$FIFO2"
ok "qstat does not hang on a FIFO" sh -c 'timeout 20 qstat "$1" >/dev/null 2>&1' sh "$QHOME"
rm -f "$Q/mess/$((FIFO2 % 32))/$FIFO2"

# queue/bad refuses it (as an instance from before queue/bad, where qsend
# cannot make it): the file stays, said once, not at every scan
STUCK=900000099
chmod 550 "$Q/bad"
plant "$STUCK" new
printf 'Subject: good 5\n\nfine\n' | qinject -f alice@else.example bob@test.example
ok "a file that cannot be moved is logged" wait_for 20 grep -q "damaged queue file $STUCK .*left in queue/new/$STUCK" "$LOG"
for i in 6 7 8; do
  printf 'Subject: good %s\n\nfine\n' "$i" | qinject -f alice@else.example bob@test.example
done
ok "mail still delivered" wait_for 20 has_mail "$BOB" 9
sleep 1
is "$(grep -c "$STUCK" "$LOG")" 1 "once, not at every scan"
chmod 2770 "$Q/bad"

# a torn info line: 13 recipients; the mark "D12\n" of recipient 12 was cut
# after "D1" by a full disk and the next append ran on from it. qsend reads
# info logs when it starts: recipient 1 must still be delivered, not taken
# for done ("D1Z3 ..."); recipient 12 may be delivered again.
s6-svc -T 20000 -wD -d "$QHOME/service/qsend"
set --
i=0
while [ $i -le 12 ]; do set -- "$@" "u$i@test.example"; i=$((i + 1)); done
printf 'Subject: torn info\n\nfine\n' | qinject -f alice@else.example "$@"
TORN=$(ls "$Q/new" | grep -vx "$STUCK")  # the damaged file above is still there
mv "$Q/new/$TORN" "$Q/mess/$((TORN % 32))/$TORN"
printf 'D1Z3 1 1 deferred\n' >"$Q/info/$((TORN % 32))/$TORN"
if [ "$(id -u)" = 0 ]; then chown qmta-send "$Q/info/$((TORN % 32))/$TORN"; fi
s6-svc -T 20000 -wU -u "$QHOME/service/qsend"
ok "torn info line: every recipient delivered" \
  wait_for 20 sh -c 'for i in 0 1 2 3 4 5 6 7 8 9 10 11 12; do
    [ -n "$(ls "$1/mail/test.example/u$i/new")" ] || exit 1; done' sh "$QHOME"
is "$(ls "$QHOME/mail/test.example/u1/new" | wc -l)" 1 "recipient 1 once"
ok "and the message is gone from the queue" wait_for 20 test ! -e "$Q/mess/$((TORN % 32))/$TORN"

[ "$T_FAIL" = 0 ] || { diag "qstat:"; printf '%s\n' "$out" | sed 's/^/# /'; diag "qsend log:"; sed 's/^/# /' "$LOG"; }
