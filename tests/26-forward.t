#!/bin/sh
# ~/.forward of a login account (root instance): read as the account,
# never as root; the account's own name is its mailbox, ./path is under
# its home, addresses are forwarded, a command runs as the account with a
# clean environment (a shell only when the line uses shell syntax); an
# unsafe file is ignored with a log line; a loop through it bounces.
# qsmtpd takes mail for the account at RCPT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp.sh"
plan 12

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null 2>&1; then
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do pass "# SKIP login accounts need root and useradd"; done
  exit 0
fi
PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
touch "$QHOME/control/relaxpipelining" # smtp_raw writes the whole dialogue at once
echo 'bob@test.example:!' >>"$QHOME/control/users"
login_account qmtaf
H="$SYSHOME"
echo "loopx: $SYSU@test.example" >>"$QHOME/control/aliases"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
LOG="$QHOME/log/qsend/current"
send() { printf 'Subject: %s\n\nbody of %s\n' "$1" "$1" | qinject -f alice@else.example "$SYSU@test.example"; }
fwd() { printf '%s\n' "$@" >"$H/.forward"; chown "$SYSU" "$H/.forward"; chmod 644 "$H/.forward"; }

IN="$T_TMP/in"
OUT="$T_TMP/out"
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<%s@test.example>\r\nRCPT TO:<nologin%s@test.example>\r\nQUIT\r\n' \
  "$SYSU" "$$" >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 550 221" "SMTP: a login account of the me domain is taken at RCPT, no such account is 550"

fwd "# keep a copy, forward one, a Maildir of its own, two commands" \
  "\\$SYSU, bob@test.example" './Other/' \
  '|/usr/bin/tee ./tee.txt' \
  '"|env > ./env.txt; echo done, with a shell >> ./env.txt"'
send one
ok "\\user: a copy in ~/Maildir" wait_for 20 has_mail "$H/Maildir" 1
ok "an address: forwarded to bob" wait_for 20 has_mail "$BOB" 1
ok "./Other/: a Maildir under the home" wait_for 20 has_mail "$H/Other" 1
ok "a command with no shell syntax runs directly, in the home" \
  wait_for 20 grep -q '^body of one$' "$H/tee.txt"
ok "a command with shell syntax runs through /bin/sh" \
  wait_for 20 grep -q '^done, with a shell$' "$H/env.txt"
ok "as the account, with a clean environment" sh -c "
  [ \"\$(stat -c %U '$H/env.txt')\" = '$SYSU' ] && grep -qx 'HOME=$H' '$H/env.txt' &&
  grep -qx 'USER=$SYSU' '$H/env.txt' && grep -qx 'RECIPIENT=$SYSU@test.example' '$H/env.txt' &&
  ! grep -q '^QHOME=' '$H/env.txt'"

chmod 666 "$H/.forward"
send two
ok "a .forward writable by others is ignored: the mail goes to ~/Maildir" \
  wait_for 20 has_mail "$H/Maildir" 2
ok "with a log line saying why" \
  grep -q "warning: ignoring $H/.forward for $SYSU@test.example: writable by group or others" "$LOG"
fwd "bob@test.example"
chown nobody "$H/.forward"
send three
ok "one owned by another account is ignored too" wait_for 20 has_mail "$H/Maildir" 3
ok "and logged" grep -q "ignoring $H/.forward for $SYSU@test.example: not owned by the account" "$LOG"

fwd "loopx@test.example"
send four
ok "a loop through ~/.forward bounces as a mail loop" \
  wait_for 30 grep -q "$SYSU@test.example failed: mail loop" "$LOG"
