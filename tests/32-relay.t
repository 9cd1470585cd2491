#!/bin/sh
# Relay control and the access map over real TCP: rcpthosts and locals,
# unknown users refused at RCPT, aliases (error:, catch-all), the relay
# tricks (percent hack, bang path, quoted '@', source route, address
# literal, case and trailing dot, a quoted '@' through a catch-all's %1),
# fail-closed without rcpthosts, and every
# access action with its tag: Connect: from 127.0.0.2..5, From:, To:.
. "$(dirname "$0")/lib.sh"
plan 24

. "$(dirname "$0")/smtp.sh"

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
# smtp_raw sends whole transcripts in one write, data before the 354:
# the pipelining checks (tests/31-strict.t) would end those sessions
touch "$QHOME/control/relaxpipelining"
C="$QHOME/control"
echo 'bob@test.example:!' >>"$C/users"
printf 'other.example\ndead.example\nbare.example\n' >>"$C/locals"
printf 'other.example\nrelayed.example\n.sub.example\n' >>"$C/rcpthosts"
cat >>"$C/aliases" <<'EOF'
gone: error:5.1.6 user has moved
info: bob@test.example
@other.example: bob@test.example
@dead.example: %1@test.example
@bare.example: %1
EOF
cat >>"$C/access" <<'EOF'
Connect:127.0.0.2	RELAY
Connect:127.0.0.3	REJECT
Connect:127.0.0.4	ERROR:4.7.1:421 come back later
Connect:127.0.0.5	DISCARD
From:spammer@bad.example	REJECT
From:bad2.example	ERROR:5.7.1:553 your domain is refused
From:friend@trusted.example	RELAY
From:dropme@else.example	DISCARD
From:<>	ERROR:5.7.1:550 no null sender from here
To:blocked@test.example	ERROR:5.7.1:550 no mail for you
To:relayto.example	RELAY
EOF
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
IN="$T_TMP/in"
OUT="$T_TMP/out"

# 1. recipients, one session, one write
{
  printf 'EHLO client.example\r\nMAIL FROM:<alice@else.example>\r\n'
  printf 'RCPT TO:<bob@test.example>\r\n'                  # 250 user
  printf 'RCPT TO:<BOB@Test.Example.>\r\n'                 # 250 case, trailing dot
  printf 'RCPT TO:<x@else.example>\r\n'                    # 554 relay
  printf 'RCPT TO:<bob%%else.example@test.example>\r\n'    # 550 percent hack
  printf 'RCPT TO:<else.example!bob@test.example>\r\n'     # 550 bang path
  printf 'RCPT TO:<"bob@else.example"@test.example>\r\n'   # 550 quoted @
  printf 'RCPT TO:<@test.example:bob@else.example>\r\n'    # 554 source route dropped
  printf 'RCPT TO:<bob@else.example@test.example>\r\n'     # 501 syntax
  printf 'RCPT TO:<bob@[127.0.0.1]>\r\n'                   # 554 literal
  printf 'RCPT TO:<x@relayed.example>\r\n'                 # 250 rcpthosts
  printf 'RCPT TO:<x@a.sub.example>\r\n'                   # 250 subdomain
  printf 'RCPT TO:<x@sub.example>\r\n'                     # 554 not the parent
  printf 'RCPT TO:<postmaster>\r\n'                        # 250
  printf 'RCPT TO:<PostMaster@test.example>\r\n'           # 250
  printf 'RCPT TO:<postmaster@else.example>\r\n'           # 554
  printf 'RCPT TO:<gone@test.example>\r\n'                 # 550 5.1.6 alias error
  printf 'RCPT TO:<info@test.example>\r\n'                 # 250 alias
  printf 'RCPT TO:<anyone@other.example>\r\n'              # 250 catch-all
  printf 'RCPT TO:<blocked@test.example>\r\n'              # 550 To: ERROR
  printf 'RCPT TO:<x@relayto.example>\r\n'                 # 250 To: RELAY
  printf 'RCPT TO:<nobody@test.example>\r\n'               # 550 5.1.1
  printf 'RCPT TO:<"x@far.example"@bare.example>\r\n'     # 550: %%1 holding '@'
  printf 'QUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 250 554 550 550 550 554 501 554 250 250 554 250 250 554 550 250 250 \
550 250 550 550 221" "relay control: each recipient"
ok "relaying denied is 554 5.7.1" grep -q '^554 5.7.1 relaying denied' "$OUT"
ok "alias error: target answers with its code and text" grep -q '^550 5.1.6 user has moved' "$OUT"
ok "To: ERROR answers with its text" grep -q '^550 5.7.1 no mail for you' "$OUT"
is "$(grep -c '^550 5.1.1 ' "$OUT")" 5 "percent hack, bang path, quoted @ (also through a catch-all's %1), unknown: 550 5.1.1"

# 2. From: actions
{
  printf 'EHLO client.example\r\n'
  printf 'MAIL FROM:<spammer@bad.example>\r\n'             # 550 REJECT
  printf 'MAIL FROM:<x@mx.bad2.example>\r\n'               # 553 ERROR (parent domain)
  printf 'MAIL FROM:<>\r\n'                                # 550 From:<> ERROR
  printf 'MAIL FROM:<friend@trusted.example>\r\n'          # 250
  printf 'RCPT TO:<x@else.example>\r\n'                    # 250 From: RELAY
  printf 'RCPT TO:<bob@dead.example>\r\n'                  # 250 catch-all to a user
  printf 'RCPT TO:<nobody@dead.example>\r\n'               # 550 catch-all to no one
  printf 'QUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 550 553 550 250 250 250 550 221" \
  "From: REJECT, ERROR (parent domain), <>, RELAY; a catch-all's target checked"
ok "From:<> is looked up as <>" grep -q '^550 5.7.1 no null sender from here' "$OUT"
ok "a catch-all whose target at a local domain has no user: 550 5.1.1 at RCPT, no bounce later" \
  grep -q '^550 5.1.1 unknown user' "$OUT"
ok "From: REJECT is 550 5.7.1" grep -q '^550 5.7.1 access denied' "$OUT"
ok "refused sender logged" wait_for 10 grep -q \
  'qsmtpd: reject ip=127.0.0.1 helo=client.example .* from=<spammer@bad.example> code=550 5.7.1' \
  "$QHOME/log/smtp/current"

# 3. Connect: RELAY from 127.0.0.2, REJECT from 127.0.0.3, ERROR 421 from 127.0.0.4
printf 'EHLO client.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@else.example>\r\n' >"$IN"
printf 'QUIT\r\n' >>"$IN"
smtp_raw $PORT "$IN" 127.0.0.2 >"$OUT"
is_codes "220 250 250 250 221" "Connect: RELAY client may relay"
# a recipient repeated is taken once: exactly when relayed (the other
# host's local parts may differ by case), without case when local
printf 'EHLO client.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@else.example>\r\nRCPT TO:<X@else.example>\r\nRCPT TO:<x@else.example>\r\nRCPT TO:<bob@test.example>\r\nRCPT TO:<BOB@test.example>\r\nDATA\r\nSubject: dups\r\n\r\nx\r\n.\r\nQUIT\r\n' >"$T_TMP/dups"
smtp_raw $PORT "$T_TMP/dups" 127.0.0.2 >"$OUT"
is_codes "220 250 250 250 250 250 250 250 354 250 221" "repeated recipients: 250 each"
ok "repeated recipients taken once, relayed ones byte for byte" wait_for 10 grep -q \
  "rcpts=3 .* to=<x@else.example>,<X@else.example>,<bob@test.example> " "$QHOME/log/smtp/current"
smtp_raw $PORT "$IN" 127.0.0.3 >"$OUT"
is_codes "554 503 503 503 221" "Connect: REJECT: 554 greeting, then only QUIT"
ok "Connect: REJECT greeting is 554 5.7.1" grep -q '^554 5.7.1 ' "$OUT"
smtp_raw $PORT "$IN" 127.0.0.4 >"$OUT"
is_codes "421" "Connect: ERROR with 421 closes at once"
smtp_raw $PORT "$IN" 127.0.0.1 >"$OUT"
is_codes "220 250 250 554 221" "127.0.0.1 has no relay right here"

# 4. DISCARD: accepted, never delivered, logged
wait_for 20 queue_empty
n0=$(maildir_count "$BOB")
message() { # message SENDER TAG: one message to bob in $IN
  printf 'EHLO c.example\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@test.example>\r\n' "$1" >"$IN"
  printf 'DATA\r\nX-Test: %s\r\n\r\nx\r\n.\r\nQUIT\r\n' "$2" >>"$IN"
}
message a@else.example discard1
smtp_raw $PORT "$IN" 127.0.0.5 >"$OUT"
is_codes "220 250 250 250 354 250 221" "Connect: DISCARD: the client sees success"
message dropme@else.example discard2
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 354 250 221" "From: DISCARD: the client sees success"
message a@else.example kept
smtp_raw $PORT "$IN" >"$OUT"
ok "an ordinary message after them is delivered" wait_for 20 has_mail "$BOB" $((n0 + 1))
wait_for 20 queue_empty
is "$(maildir_count "$BOB")" "$((n0 + 1))" "the discarded messages were dropped"
LOG="$QHOME/log/smtp/current"
ok "discards logged" wait_for 10 sh -c "[ \$(grep -c 'qsmtpd: discard ' '$LOG') = 2 ]"

# 5. fail closed: without rcpthosts nothing is relayed, local domains still work
rm -f "$C/rcpthosts"
{
  printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@relayed.example>\r\n'
  printf 'RCPT TO:<bob@test.example>\r\nRCPT TO:<x@other.example>\r\nQUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 554 250 250 221" "no rcpthosts: no relaying, locals accepted"
: >"$C/rcpthosts"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 554 250 250 221" "empty rcpthosts: the same"
