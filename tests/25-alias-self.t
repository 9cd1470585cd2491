#!/bin/sh
# "Keep a copy" aliases (sendmail's "dl: dl, lee" and "\dl"): a recipient
# that names itself in its own alias gets the message in its own mailbox
# once, and the others get theirs; "\name" is that mailbox with no
# further aliasing. An alias for a user that does not name the user is
# shadowed by the user, and qnewmaps says so. The same for a login
# account of the me domain (a root instance), which used to loop.
. "$(dirname "$0")/lib.sh"
plan 15

inst_setup
{
  echo 'dl@test.example:!'
  echo 'lee@test.example:!'
  echo 'kim@test.example:!'
} >>"$QHOME/control/users"
cat >>"$QHOME/control/aliases" <<EOF
dl: dl, lee
sales: \\dl
kim: lee
both: \\kim, \\lee@test.example
EOF
SYSU=
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  login_account qmtak
  echo "$SYSU: $SYSU, lee" >>"$QHOME/control/aliases"
fi

qnewmaps "$QHOME" >"$T_TMP/newmaps.out" 2>&1
is "$?" 0 "qnewmaps takes \\name targets and self-references"
ok "qnewmaps warns that the alias kim is shadowed by the user kim@test.example" \
  grep -q "warning: control/aliases:[0-9]*: the alias is shadowed by the user kim@test.example" "$T_TMP/newmaps.out"
ok "no warning for a keep-a-copy alias" sh -c "! grep -q 'alias dl ' '$T_TMP/newmaps.out'"
inst_start
DL="$QHOME/mail/test.example/dl"
LEE="$QHOME/mail/test.example/lee"
KIM="$QHOME/mail/test.example/kim"
LOG="$QHOME/log/qsend/current"
send() { printf 'Subject: %s\n\nbody of %s\n' "$2" "$2" | qinject -f alice@else.example "$1"; }
queue_empty() { [ "$(find "$QHOME/queue/mess" -type f | wc -l)" -eq 0 ]; }

send dl@test.example one
ok "dl: dl, lee reaches lee" wait_for 20 has_mail "$LEE" 1
ok "and dl's own mailbox" wait_for 20 has_mail "$DL" 1
ok "the queue drains" wait_for 20 queue_empty
is "$(maildir_count "$DL") $(maildir_count "$LEE")" "1 1" "each exactly once"
ok "no loop, no bounce" sh -c "! grep -q 'dl@test.example failed' '$LOG'"

send sales@test.example two
ok "\\dl delivers into dl's mailbox" wait_for 20 has_mail "$DL" 2
ok "the queue drains" wait_for 20 queue_empty
is "$(maildir_count "$DL") $(maildir_count "$LEE")" "2 1" "with no further aliasing (lee got nothing)"

send kim@test.example three
send both@test.example four
both() { has_mail "$KIM" 2 && has_mail "$LEE" 2; }
ok "a shadowed alias: the user wins; \\kim and \\lee@domain both delivered" wait_for 20 both

if [ -n "$SYSU" ]; then
  send "$SYSU@test.example" five
  ok "a login account's keep-a-copy alias: ~/Maildir gets it" wait_for 20 has_mail "$SYSHOME/Maildir" 1
  ok "and lee too" wait_for 20 has_mail "$LEE" 3
  ok "with no loop and no bounce" sh -c "! grep -q '$SYSU@test.example failed' '$LOG'"
else
  for i in 1 2 3; do pass "# SKIP login accounts need root and useradd"; done
fi
