#!/bin/sh
# Generics and masquerading for submission (Postfix's smtp_generic_maps,
# sendmail's genericstable for mail its users submit): with
# control/submissiongenerics, mail that an authenticated user sends over
# submission gets From:, Sender: and Reply-To: rewritten by
# control/generics (and the envelope sender with masquerade_envelope);
# without it, or without AUTH, nothing is rewritten.
. "$(dirname "$0")/lib.sh"
plan 9

PORT=$(free_port)
SUB=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT --submission 127.0.0.1:$SUB
echo 'bob@test.example:!' >>"$QHOME/control/users"
echo secret | qpasswd "$QHOME" alice@test.example >/dev/null 2>&1 || bail "qpasswd failed"
echo 'alice@test.example  alice.smith@example.org' >"$QHOME/control/generics"
touch "$QHOME/control/masquerade_envelope"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"

# send PORT TAG [auth]: one message from alice to bob
send() {
  python3 - "$1" "$2" "${3:-}" <<'EOF'
import smtplib, ssl, sys
port, tag, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = ("From: Alice <alice@test.example>\r\n"
       "Sender:\r\n alice@test.example\r\n"
       "Reply-To: alice@test.example, other@else.example\r\n"
       "To: bob@test.example\r\n"
       "X-Test: " + tag + "\r\n\r\nhello alice@test.example\r\n")
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
s.ehlo("client.example")
if auth:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo("client.example")
    s.login("alice@test.example", "secret")
s.sendmail("alice@test.example", ["bob@test.example"], msg)
s.quit()
EOF
}
msg_of() { grep -l "^X-Test: $1\$" "$BOB"/new/* 2>/dev/null | head -1; }
arrived() { [ -n "$(msg_of "$1")" ]; }

send "$SUB" plain auth || diag "send failed"
ok "without the setting: delivered" wait_for 20 arrived plain
ok "and not rewritten" grep -q '^From: Alice <alice@test.example>$' "$(msg_of plain)"

touch "$QHOME/control/submissiongenerics"
send "$SUB" rewritten auth || diag "send failed"
ok "with control/submissiongenerics: delivered" wait_for 20 arrived rewritten
M=$(msg_of rewritten)
ok "From: rewritten by generics" grep -q '^From: Alice <alice.smith@example.org>$' "$M"
ok "a folded Sender: too" sh -c "grep -A1 '^Sender:$' '$M' | grep -q '^ alice.smith@example.org$'"
ok "Reply-To: rewritten, the other address kept" \
  grep -q '^Reply-To: alice.smith@example.org, other@else.example$' "$M"
ok "To: and the body untouched" sh -c "grep -q '^To: bob@test.example$' '$M' &&
  grep -q '^hello alice@test.example$' '$M'"
ok "the envelope sender too (masquerade_envelope)" \
  grep -q '^Return-Path: <alice.smith@example.org>$' "$M"

send "$PORT" port25 || diag "send failed"
wait_for 20 arrived port25
ok "mail that did not log in is left as it came" \
  grep -q '^From: Alice <alice@test.example>$' "$(msg_of port25)"
