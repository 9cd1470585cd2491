#!/bin/sh
# qauth: the checkpassword interface, run directly with a pipe on fd 3:
# good and bad logins, exit codes, the environment, privileges, Dovecot
# mode, the failure counts per address and per user, the lockout, and no
# password in the log.
. "$(dirname "$0")/lib.sh"
plan 39

inst_setup
echo 'S3cret pass' | qpasswd "$QHOME" bob@test.example >/dev/null 2>&1 || bail "qpasswd failed"
echo 100 >"$QHOME/control/authdelay"
echo 400 >"$QHOME/control/authdelaymax"
ERR="$T_TMP/err"
OUT="$T_TMP/out"
BOB="$QHOME/mail/test.example/bob"

# auth USER PASSWORD PROG...: runs qauth with the record on fd 3, from
# TCPREMOTEIP=$IP; stdout in $OUT, stderr appended to $ERR; prints the code.
IP=192.0.2.10
auth() {
  a_user=$1; a_pass=$2; shift 2
  printf '%s\0%s\0\0' "$a_user" "$a_pass" >"$T_TMP/rec"
  TCPREMOTEIP=$IP qauth "$@" 3<"$T_TMP/rec" >"$OUT" 2>>"$ERR"
  echo $?
}
show='echo "$USER|$HOME|$MAILDIR|$MAILBOX|$(id -un)|$(pwd)"'

is "$(auth bob@test.example 'S3cret pass' sh -c "$show")" 0 "right password: exit 0 of prog"
if [ "$(id -u)" = 0 ]; then VMAIL=qmta-vmail; else VMAIL=$(id -un); fi
is "$(cat "$OUT")" "bob@test.example|$BOB|$BOB|$BOB/|$VMAIL|$BOB" \
  "USER, HOME, MAILDIR, MAILBOX set; runs as the mailbox owner in HOME"
is "$(auth BOB@Test.Example 'S3cret pass' sh -c 'echo "$USER"')" 0 "address in any case"
is "$(cat "$OUT")" "bob@test.example" "USER is the canonical address"
is "$(auth bob@test.example 's3cret pass' true)" 1 "wrong password: 1"
is "$(auth bob@test.example '' true)" 1 "empty password: 1"
is "$(auth nobody@test.example 'S3cret pass' true)" 1 "unknown user: 1"
is "$(auth postmaster@test.example '!' true)" 1 "account without password: 1"
is "$(auth bob 'S3cret pass' true)" 1 "bare user name: 1"
is "$(auth bob@test.example 'S3cret pass' false)" 1 "exit code of prog passed through"
is "$(auth bob@test.example 'S3cret pass' sh -c 'exit 7')" 7 "any exit code of prog"

# misuse of fd 3 is a temporary failure; misuse of argv a usage error
printf 'bob@test.example' >"$T_TMP/rec"
qauth true 3<"$T_TMP/rec" 2>>"$ERR"; is "$?" 111 "record without NULs: 111"
printf 'bob@test.example\0S3cret pass' >"$T_TMP/rec"
qauth true 3<"$T_TMP/rec" 2>>"$ERR"; is "$?" 111 "password without its NUL: 111"
python3 -c 'import sys; sys.stdout.buffer.write(b"bob@test.example\0" + b"x" * 600 + b"\0\0")' \
  >"$T_TMP/rec"
qauth true 3<"$T_TMP/rec" 2>>"$ERR"; is "$?" 111 "record over 512 bytes: 111"
qauth true 3<&- 2>>"$ERR"; is "$?" 111 "fd 3 not open: 111"
printf 'a\0b\0\0' >"$T_TMP/rec"
qauth 3<"$T_TMP/rec" 2>>"$ERR"; is "$?" 100 "no program: usage, 100"

# an unreadable users.cdb is a temporary failure, not a bad password
mv "$QHOME/control/users.cdb" "$QHOME/control/users.cdb.save"
mkdir "$QHOME/control/users.cdb"
is "$(auth bob@test.example 'S3cret pass' true)" 111 "unreadable users.cdb: 111"
rmdir "$QHOME/control/users.cdb"
mv "$QHOME/control/users.cdb.save" "$QHOME/control/users.cdb"

# Dovecot mode: no uid change, the owner in userdb_* listed in EXTRA
auth bob@test.example 'S3cret pass' -d sh -c \
  'echo "$(id -u)|$userdb_uid|$userdb_gid|$userdb_mail|$EXTRA"' >/dev/null
want="$(id -u)|$(id -u "$VMAIL")|$(id -g "$VMAIL")|maildir:$BOB|userdb_uid userdb_gid userdb_mail"
is "$(cat "$OUT")" "$want" "-d: uid kept, userdb_uid/gid/mail in EXTRA"

# failures are counted per address and per user name; a good login
# forgets the user's count, never the address's; another address has its own
IP=192.0.2.77
: >"$ERR"
for i in 1 2 3 4; do auth bob@test.example wrong true >/dev/null; done
N='\([0-9]*\)'
counts=$(sed -n "s/.*($N failures from 192\.0\.2\.77, $N for bob@test\.example, delay $N ms).*/\1:\2:\3/p" \
  "$ERR" | tr '\n' ' ')
is "$counts" "1:1:100 2:2:200 3:3:400 4:4:400 " \
  "failure counts grow per address and user, delays double up to authdelaymax"
ok "the failure table exists" test -f "$QHOME/auth/failures"
IP=192.0.2.78
: >"$ERR"
auth bob@test.example wrong true >/dev/null
ok "another address starts at 1, the user goes on at 5" \
  grep -q "(1 failures from 192.0.2.78, 5 for bob@test.example, delay 400 ms)" "$ERR"
IP=192.0.2.77
auth bob@test.example 'S3cret pass' true >/dev/null
: >"$ERR"
auth bob@test.example wrong true >/dev/null
ok "a good login forgets the user's count, not the address's" \
  grep -q "(5 failures from 192.0.2.77, 1 for bob@test.example, delay 400 ms)" "$ERR"
ok "unknown users are logged as failures too" sh -c \
  "printf 'x@test.example\0y\0\0' | TCPREMOTEIP=$IP qauth true 3<&0 2>&1 | grep -q 'unknown user'"
IP=2001:db8:7:8:1:2:3:4
: >"$ERR"
auth bob@test.example wrong true >/dev/null
IP=2001:db8:7:8::99
auth bob@test.example wrong true >/dev/null
ok "an IPv6 client is counted by its /64" grep -q \
  "for bob@test.example from 2001:db8:7:8::99: bad password (2 failures from 2001:db8:7:8::/64," \
  "$ERR"
ok "a user name cannot put a blank into the log" sh -c \
  "printf 'a from 6.6.6.6:\0y\0\0' | TCPREMOTEIP=$IP qauth true 3<&0 2>&1 |
    grep -q 'login failed for a?from?6.6.6.6: from 2001:db8:7:8::99: unknown user'"

# a lockout: authlockip failures, then refused (111) without a password
# check, even the right one, until authlocktime has passed
echo 3 >"$QHOME/control/authlockip"
echo 2 >"$QHOME/control/authlocktime"
IP=192.0.2.90
: >"$ERR"
codes=
for i in 1 2 3; do codes="$codes$(auth bob@test.example wrong true) "; done
is "$codes" "1 1 1 " "authlockip 3: three wrong passwords, 1 each"
ok "the third locks the address out" \
  grep -q "^qauth: locked out 192.0.2.90 until [-0-9T:]*Z after 3 failures$" "$ERR"
is "$(auth bob@test.example 'S3cret pass' true)" 111 "locked out: the right password gets 111"
ok "the refusal is logged" grep -q \
  "^qauth: login refused for bob@test.example from 192.0.2.90: 192.0.2.90 locked out until " "$ERR"
IP=192.0.2.91
is "$(auth bob@test.example 'S3cret pass' true)" 0 "another address is not locked out"
IP=192.0.2.90
sleep 3
is "$(auth bob@test.example 'S3cret pass' true)" 0 "after authlocktime: 0 again"
rm "$QHOME/control/authlockip" "$QHOME/control/authlocktime"

# the log names users and addresses, never a password
ok "logins are logged" grep -q "login failed for bob@test.example from 192.0.2.90" "$ERR"
ok "no password in the log" sh -c "! grep -q -e 'S3cret' -e 'wrong' '$ERR'"

# root never logs in as a system account, even with authsystem
touch "$QHOME/control/authsystem"
is "$(auth root@test.example "" true)" 1 "root@me refused with authsystem"

# a system account of the "me" domain, with control/authsystem, on a root
# instance: a throwaway account, removed again by the EXIT trap
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  SYSU="qmtat$$"
  trap 'userdel "$SYSU" >/dev/null 2>&1; t_cleanup' EXIT
  useradd -M -d "$T_TMP/home-$SYSU" -s /usr/sbin/nologin "$SYSU" >/dev/null 2>&1 ||
    bail "useradd failed"
  hash=$(openssl passwd -6 'sys pass') || bail "openssl passwd failed"
  echo "$SYSU:$hash" | chpasswd -e || bail "chpasswd failed"
  is "$(auth "$SYSU@test.example" 'sys pass' sh -c "$show")" 0 "system account: right password"
  is "$(cat "$OUT")" \
    "$SYSU@test.example|$T_TMP/home-$SYSU|$T_TMP/home-$SYSU/Maildir|$T_TMP/home-$SYSU/Maildir/|$SYSU|$QHOME" \
    "system account: ~/Maildir, runs as the account itself"
  is "$(auth "$SYSU@test.example" 'sys Pass' true)" 1 "system account: wrong password"
  is "$(auth "$SYSU@other.example" 'sys pass' true)" 1 "system account only in the me domain"
  rm "$QHOME/control/authsystem"
  is "$(auth "$SYSU@test.example" 'sys pass' true)" 1 "no system accounts without authsystem"
else
  for i in 1 2 3 4 5; do pass "# SKIP system accounts need root and useradd"; done
fi
