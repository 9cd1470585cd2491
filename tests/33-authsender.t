#!/bin/sh
# authsender by default on the submission listeners (587 with STARTTLS,
# 465 with implicit TLS): an authenticated user sends as itself and as the
# addresses whose alias names it; any other sender is 553 5.7.1. Port 25
# keeps the old default (off), and control/authsender overrides both.
. "$(dirname "$0")/lib.sh"
plan 12

PORT=$(free_port)
SUB=$(free_port)
SMTPS=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT --submission 127.0.0.1:$SUB --smtps 127.0.0.1:$SMTPS
echo 'bob@test.example:!' >>"$QHOME/control/users"
echo secret | qpasswd "$QHOME" alice@test.example >/dev/null 2>&1 || bail "qpasswd failed"
cat >>"$QHOME/control/aliases" <<'A'
info@test.example: alice@test.example, bob@test.example
sales: alice
@other.test: alice@test.example
A
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start

# mail_from PORT TLS-OPTION SENDER: the reply to MAIL FROM after AUTH
mail_from() {
  swaks --server 127.0.0.1:$1 $2 --auth PLAIN --auth-user alice@test.example \
    --auth-password secret --from "$3" --to bob@test.example --quit-after MAIL \
    2>&1 | awk '/> MAIL FROM/ { m = 1; next } m && /^</ { sub(/^<[~* ]* /, ""); print; exit }'
}
reply_is() {
  case "$1" in "$2"*) pass "$3";; *) fail "$3"; diag "got: $1";; esac
}

reply_is "$(mail_from $SUB --tls mallory@test.example)" "553 5.7.1" \
  "587: another user's address is 553 5.7.1"
reply_is "$(mail_from $SUB --tls alice@test.example)" "250" "587: the login itself"
reply_is "$(mail_from $SUB --tls Alice@Test.Example)" "250" "587: the login in another case"
reply_is "$(mail_from $SUB --tls info@test.example)" "250" "587: an alias naming the login"
reply_is "$(mail_from $SUB --tls sales@test.example)" "250" "587: an alias naming its local part"
reply_is "$(mail_from $SUB --tls x@other.test)" "553 5.7.1" "587: a catch-all gives no address"
reply_is "$(mail_from $SUB --tls '<>')" "250" "587: the null sender (read receipts, RFC 8098)"
reply_is "$(mail_from $SMTPS --tlsc '<>')" "250" "465: the null sender"
reply_is "$(mail_from $SMTPS --tlsc mallory@test.example)" "553 5.7.1" \
  "465: another user's address is 553 5.7.1"
ok "the refusal is logged" grep -q '553 5.7.1 sender address not owned' \
  "$QHOME/log/submission/current"
reply_is "$(mail_from $PORT --tls mallory@test.example)" "250" "25: off unless set"
echo off >"$QHOME/control/authsender"
reply_is "$(mail_from $SUB --tls mallory@test.example)" "250" "587: control/authsender off"
