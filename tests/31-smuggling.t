#!/bin/sh
# SMTP smuggling (CVE-2023-51764/51765/51766): only CRLF.CRLF ends DATA.
# For each of LF.LF, CR.CR, LF.CRLF, CRLF.LF and CRLF.CR, a client sends a
# message with a second "message" hidden behind the fake end, all in one
# write. By default the message is refused (554 5.6.0) after the real end;
# with control/barelf it is accepted as ONE message that contains the
# smuggled text. Never two messages.
. "$(dirname "$0")/lib.sh"
plan 38

. "$(dirname "$0")/smtp.sh"
accepts() { grep -c 'qsmtpd: accept ' "$QHOME/log/smtp/current" 2>/dev/null || true; }

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
# smtp_raw sends whole transcripts in one write, data before the 354:
# the pipelining checks (tests/31-strict.t) would end those sessions
touch "$QHOME/control/relaxpipelining"
echo 'bob@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
IN="$T_TMP/in"
OUT="$T_TMP/out"

# make_input NAME: the session with the variant NAME as the fake end
make_input() {
  python3 - "$IN" "$1" <<'EOF'
import sys
variants = {"LF.LF": b"\n.\n", "CR.CR": b"\r.\r", "LF.CRLF": b"\n.\r\n",
            "CRLF.LF": b"\r\n.\n", "CRLF.CR": b"\r\n.\r"}
name = sys.argv[2]
s = (b"EHLO client.example\r\nMAIL FROM:<alice@else.example>\r\nRCPT TO:<bob@test.example>\r\n"
     b"DATA\r\nX-Test: " + name.encode() + b"\r\n\r\nfirst part" + variants[name] +
     b"MAIL FROM:<evil@else.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\n"
     b"X-Smuggled: " + name.encode() + b"\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
open(sys.argv[1], "wb").write(s)
EOF
}

for v in LF.LF CR.CR LF.CRLF CRLF.LF CRLF.CR; do
  make_input $v
  n0=$(maildir_count "$BOB")
  smtp_raw $PORT "$IN" >"$OUT"
  is_codes "220 250 250 250 354 554 221" "$v: one refusal, the smuggled commands never run"
  ok "$v: 554 5.6.0" grep -q '^554 5.6.0 ' "$OUT"
  wait_for 20 queue_empty
  is "$(maildir_count "$BOB")" "$n0" "$v: nothing delivered"
done
LOG="$QHOME/log/smtp/current"
ok "refusals logged" wait_for 10 \
  sh -c "[ \$(grep -c 'qsmtpd: reject .* code=554 5.6.0' '$LOG') = 5 ]"
is "$(accepts)" 0 "no message accepted"

touch "$QHOME/control/barelf"
for v in LF.LF CR.CR LF.CRLF CRLF.LF CRLF.CR; do
  make_input $v
  a0=$(accepts)
  n0=$(maildir_count "$BOB")
  smtp_raw $PORT "$IN" >"$OUT"
  is_codes "220 250 250 250 354 250 221" "barelf, $v: exactly one message accepted"
  ok "barelf, $v: delivered" wait_for 20 has_mail "$BOB" $((n0 + 1))
  wait_for 20 queue_empty
  is "$(maildir_count "$BOB")" "$((n0 + 1))" "barelf, $v: one message, not two"
  f=$(grep -l "^X-Test: $v\$" "$BOB"/new/* 2>/dev/null | head -1)
  ok "barelf, $v: the smuggled text is inside that one message" \
    sh -c "[ -n '$f' ] && grep -q '^X-Smuggled: $v' '$f' &&
      grep -q '^MAIL FROM:<evil@else.example>' '$f'"
done
ok "five accept lines" wait_for 10 sh -c "[ \$(grep -c 'qsmtpd: accept ' '$LOG') = 5 ]"
