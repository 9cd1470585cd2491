#!/bin/sh
# qsmtpd conformance over real TCP: the greeting and EHLO, a whole session
# pipelined in one write, every reply class, byte-exact delivery (8-bit,
# 998-byte lines, dot-stuffing, client Return-Path removed), BDAT, the DSN
# parameters in the queue file, SIZE and databytes, maxrcpt, and swaks.
. "$(dirname "$0")/lib.sh"
plan 54

. "$(dirname "$0")/smtp.sh"

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

# 1. greeting and EHLO
printf 'EHLO client.example\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
ok "greeting 220 without enhanced code" grep -q '^220 test.example ESMTP' "$OUT"
for kw in PIPELINING 'SIZE 10485760' 8BITMIME ENHANCEDSTATUSCODES SMTPUTF8 CHUNKING DSN STARTTLS; do
  ok "EHLO offers $kw" grep -qx "250[- ]$kw" "$OUT"
done
ok "no AUTH before TLS" sh -c "! grep -q AUTH '$OUT'"
is_codes "220 250 221" "EHLO and QUIT"

# 2. a whole session pipelined in one write; byte-exact delivery
python3 - "$IN" <<'EOF'
import sys
msg = (b"X-Test: exact\r\nReturn-Path: <forged@evil.example>\r\n  folded part\r\n"
       b"Subject: exact\r\n\r\n" + bytes(b for b in range(128, 256)) + b"\r\n" +
       b"x" * 998 + b"\r\n..leading dot\r\n.\r\n")
s = (b"EHLO client.example\r\nMAIL FROM:<alice@else.example> BODY=8BITMIME\r\n"
     b"RCPT TO:<bob@test.example>\r\nRCPT TO:<nobody@test.example>\r\nDATA\r\n" + msg +
     b"QUIT\r\n")
open(sys.argv[1], "wb").write(s)
open(sys.argv[1] + ".want", "wb").write(
    b"X-Test: exact\nSubject: exact\n\n" + bytes(b for b in range(128, 256)) + b"\n" +
    b"x" * 998 + b"\n.leading dot\n")
EOF
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 550 354 250 221" "pipelined session: replies in order"
ok "unknown local user: 550 5.1.1" grep -q '^550 5.1.1 ' "$OUT"
ok "delivered" wait_for 20 has_mail "$BOB" 1
f=$(ls "$BOB"/new/* | head -1)
ok "8-bit, 998-byte line, dot-unstuffing byte-exact" \
  sh -c "sed -n '/^X-Test: exact\$/,\$p' '$f' | cmp -s - '$IN.want'"
is "$(grep -c '^Return-Path:' "$f")" 1 "client's Return-Path (and its continuation) removed"
is "$(sed -n 1p "$f")" "Return-Path: <alice@else.example>" "Return-Path from the envelope"
ok "Received: names HELO, IP and protocol" \
  grep -q '^Received: from client.example (\[127.0.0.1\])$' "$f"
ok "Received: by line" grep -q '^	by test.example (qmta qsmtpd) with ESMTP$' "$f"
ok "Received: the queue id" grep -q '^	id [0-9A-Z]\{11,\};$' "$f"
L='qsmtpd: accept ip=127.0.0.1 helo=client.example tls=none auth=- from=<alice@else.example> '
ok "log line for the message" wait_for 10 grep -q "${L}rcpts=1 " "$QHOME/log/smtp/current"

# 3. every reply class in one session
{
  printf 'MAIL FROM:<a@else.example>\r\n'             # 503 before EHLO
  printf 'EHLO bad_host..x\r\n'                       # 501
  printf 'FOO bar\r\n'                                # 500
  printf 'EHLO client.example\r\n'                    # 250
  printf 'RCPT TO:<bob@test.example>\r\n'             # 503 need MAIL
  printf 'DATA\r\n'                                   # 503 need MAIL
  printf 'MAIL FROM:a@b@c\r\n'                        # 501 5.1.7
  printf 'MAIL FROM:<a@else.example> FOO=1\r\n'       # 555
  printf 'MAIL FROM:<a@else.example> SIZE=99999999\r\n' # 552
  printf 'MAIL FROM:<a@else.example>\r\n'             # 250
  printf 'MAIL FROM:<a@else.example>\r\n'             # 503 nested
  printf 'DATA\r\n'                                   # 503 need RCPT
  printf 'RCPT TO:<x@else.example>\r\n'               # 554 relaying denied
  printf 'DATA\r\n'                                   # 554 no valid recipients
  printf 'VRFY bob\r\n'                               # 252
  printf 'EXPN list\r\n'                              # 502
  printf 'HELP\r\n'                                   # 214
  printf 'NOOP\r\n'                                   # 250
  printf 'RSET x\r\n'                                 # 501 (no parameters)
  printf 'RSET\r\n'                                   # 250
  printf 'MAIL FROM:<%01200d@else.example>\r\n' 0     # 500 line too long
  printf 'DATA x\r\n'                                 # 501
  printf 'STARTTLS x\r\n'                             # 501
  printf 'AUTH PLAIN\r\n'                             # 538 (no TLS)
  printf 'RCPT TO:<bob@test.example>\r\n'             # 503 after RSET
  printf 'QUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 503 501 500 250 503 503 501 555 552 250 503 503 554 554 252 502 214 250 501 250 \
500 501 501 538 503 221" "each error gets its reply"
sed -n '/^250 HELP/,$p' "$OUT" | tail -n +2 | grep -E '^[0-9]{3}[ -]' | grep -vE '^(354|334) ' \
  >"$T_TMP/replies"
ok "every reply after EHLO has an enhanced code" \
  sh -c "! grep -vqE '^[0-9]{3}[ -][245]\.[0-9]+\.[0-9]+ ' '$T_TMP/replies'"

# 3b. the extensions make MAIL and RCPT longer than 512 octets (SIZE, DSN,
#     AUTH=: RFC 1870, 3461 5, 4954 5); other commands stay at 512
python3 - "$IN" <<'EOF'
import sys
addr = "s" * 64 + "@" + ".".join(["d" * 63, "d" * 63, "d" * 50]) + ".example"
s = (b"EHLO client.example\r\n" +
     ("MAIL FROM:<%s> SIZE=1000 RET=HDRS ENVID=%s AUTH=%s\r\n" % (addr, "E" * 100, addr)).encode() +
     ("RCPT TO:<bob@test.example> NOTIFY=SUCCESS ORCPT=rfc822;%s%s\r\n" % (addr, "+2B" * 80)).encode() +
     b"NOOP " + b"x" * 600 + b"\r\nQUIT\r\n")
open(sys.argv[1], "wb").write(s)
EOF
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 500 221" "MAIL of 648 and RCPT of 548 octets taken, NOOP of 607 not"

# 4. BDAT (RFC 3030), also after a refused chunk
python3 - "$IN" <<'EOF'
import sys
c1 = b"X-Test: bdat\r\nSubject: chunks\r\n\r\nfirst part\r\n.\r\n"
c2 = b"second part, no final newline"
s = (b"EHLO client.example\r\nBDAT 5\r\nhello" +
     b"MAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\n" +
     b"BDAT %d\r\n" % len(c1) + c1 + b"BDAT %d LAST\r\n" % len(c2) + c2 + b"QUIT\r\n")
open(sys.argv[1], "wb").write(s)
open(sys.argv[1] + ".want", "wb").write(
    b"X-Test: bdat\nSubject: chunks\n\nfirst part\n.\nsecond part, no final newline")
EOF
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 503 250 250 250 250 221" "BDAT: refused chunk skipped, then two chunks"
ok "BDAT message delivered" wait_for 20 has_mail "$BOB" 2
f=$(grep -l '^X-Test: bdat' "$BOB"/new/* | head -1)
ok "BDAT message byte-exact (dots are data)" \
  sh -c "[ -n '$f' ] && sed -n '/^X-Test: bdat\$/,\$p' '$f' | cmp -s - '$IN.want'"

# 5. DSN parameters reach the queue file (qsend stopped meanwhile)
s6-svc -d "$QHOME/service/qsend"
s6-svwait -D -t 10000 "$QHOME/service/qsend"
{
  printf 'EHLO client.example\r\n'
  printf 'MAIL FROM:<a@else.example> RET=HDRS ENVID=id+2B42\r\n'
  printf 'RCPT TO:<bob@test.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob+40test.example\r\n'
  printf 'RCPT TO:<postmaster> NOTIFY=NEVER\r\n'
  printf 'DATA\r\nX-Test: dsn\r\n\r\nbody\r\n.\r\nQUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 250 354 250 221" "DSN parameters accepted"
qf=$(find "$QHOME/queue/new" -type f | head -1)
ok "queue file written" test -n "$qf"
ENV="$T_TMP/env"
tr '\0' '\n' <"$qf" | tail -n 12 >"$ENV"
ok "RET and ENVID in the envelope" sh -c "grep -qx 'VHDRS' '$ENV' && grep -qx 'Xid+42' '$ENV'"
ok "NOTIFY and ORCPT after the recipient" \
  sh -c "grep -A2 -x 'Rbob@test.example' '$ENV' | grep -qx 'NSUCCESS,DELAY' &&
    grep -qx 'Orfc822;Bob@test.example' '$ENV'"
ok "bare postmaster becomes postmaster@me" grep -qx 'Rpostmaster@test.example' "$ENV"
s6-svc -u "$QHOME/service/qsend"

# 6. databytes: a message over it is refused after its end, nothing queued
echo 1000 >"$QHOME/control/databytes"
echo 3 >"$QHOME/control/maxrcpt"
wait_for 20 queue_empty
n0=$(maildir_count "$BOB")
python3 - "$IN" <<'EOF'
import sys
big = b"X-Test: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 40
s = (b"EHLO client.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\n"
     b"DATA\r\n" + big + b".\r\n" +
     b"MAIL FROM:<a@else.example> SIZE=2000\r\n"
     b"MAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\nRCPT TO:<bob@test.example>\r\n"
     b"RCPT TO:<bob@test.example>\r\nRCPT TO:<bob@test.example>\r\nRSET\r\n"
     b"MAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\nBDAT 2000 LAST\r\n" +
     b"z" * 2000 + b"QUIT\r\n")
open(sys.argv[1], "wb").write(s)
EOF
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 354 552 552 250 250 250 250 452 250 250 250 552 221" \
  "databytes (DATA, SIZE=, BDAT) and maxrcpt"
ok "552 5.3.4 and 452 4.5.3" sh -c "grep -q '^552 5.3.4 ' '$OUT' && grep -q '^452 4.5.3 ' '$OUT'"
ok "queue drained" wait_for 20 queue_empty
is "$(maildir_count "$BOB")" "$n0" "nothing of the refused messages delivered"
# RFC 1870: the size counts CRLF, not the stuffing dots nor the final dot line:
# a message of exactly databytes octets fits, one octet more does not
python3 - "$IN" <<'EOF'
import sys
def msg(n):
    m = b"X-Test: fits\r\n\r\n" + (b".dot" + b"y" * 64 + b"\r\n") * 14
    m += b"z" * (n - len(m) - 2) + b"\r\n"
    assert len(m) == n
    return m.replace(b"\r\n.", b"\r\n..") + b".\r\n"
s = b"EHLO client.example\r\n"
for n in (1000, 1001):
    s += b"MAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\n" + msg(n)
open(sys.argv[1], "wb").write(s + b"QUIT\r\n")
EOF
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 354 250 250 250 354 552 221" \
  "databytes 1000: a 1000-octet message with stuffed dots fits, 1001 does not"
echo 10485760 >"$QHOME/control/databytes"
echo 1000 >"$QHOME/control/maxrcpt"

# 6b. the same recipient given again (in another case, or as bare postmaster
#     and postmaster@me) is taken once: one copy in the mailbox, not one per RCPT
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\nRCPT TO:<Bob@Test.Example>\r\nRCPT TO:<bob@test.example> NOTIFY=NEVER\r\nRCPT TO:<postmaster>\r\nRCPT TO:<postmaster@test.example>\r\nDATA\r\nX-Test: dup\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 250 250 250 250 354 250 221" "recipients repeated: all 250"
ok "the log names each recipient once" wait_for 10 grep -q \
  "rcpts=2 .* to=<bob@test.example>,<postmaster@test.example> " "$QHOME/log/smtp/current"
ok "delivered" wait_for 20 sh -c "grep -l '^X-Test: dup' '$BOB'/new/* >/dev/null 2>&1"
ok "queue drained" wait_for 10 queue_empty
is "$(grep -l '^X-Test: dup' "$BOB"/new/* | wc -l)" 1 "bob got the message once"

# 7. swaks, a real client, and EHLO with address literals
swaks --server 127.0.0.1:$PORT --helo '[127.0.0.1]' --from alice@else.example \
  --to bob@test.example --header 'X-Test: swaks' >"$OUT" 2>&1
ok "swaks: message accepted" grep -q '^<-  250 2.0.0 ' "$OUT"
ok "swaks message delivered" wait_for 20 sh -c "grep -q '^X-Test: swaks' '$BOB'/new/*"
printf 'EHLO [IPv6:::1]\r\nHELO [1.2.3.4]\r\nEHLO [1.2.3]\r\nHELO\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 501 501 221" "address literals in EHLO/HELO"

# 8. SMTPUTF8: a UTF-8 address needs the parameter
{
  printf 'EHLO c.example\r\nMAIL FROM:<j\303\266rg@else.example>\r\n'
  printf 'MAIL FROM:<j\303\266rg@else.example> SMTPUTF8\r\nRCPT TO:<bob@test.example>\r\n'
  printf 'DATA\r\nX-Test: utf8\r\n\r\nhi\r\n.\r\nQUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 553 250 250 354 250 221" "SMTPUTF8 sender"
ok "UTF-8 message delivered with UTF8SMTP in Received:" \
  wait_for 20 sh -c "grep -l '^X-Test: utf8' '$BOB'/new/* | xargs grep -q 'with UTF8SMTP$'"

# 9. misuse: arguments, and root (we are root here)
qsmtpd x </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 100 "an argument is misuse: exit 100"
if [ "$(id -u)" = 0 ]; then
  QHOME=$QHOME qsmtpd </dev/null >"$OUT" 2>"$T_TMP/err"
  is "$?:$(cat "$T_TMP/err")" "100:qsmtpd: fatal: refusing to run as root" "refuses to run as root"
else
  pass "refuses to run as root (not checked: not root)"
fi

# 10. the queue writer: without QINJECT qsmtpd queues the message itself
#     (qinject's code) and names the queue id; with QINJECT that program,
#     here a qmail-queue filter in front of qinject, gets the message
printf 'EHLO c.example\r\nMAIL FROM:<alice@else.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\nX-Test: own\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
ok "no QINJECT: 250 names the queue id" grep -q '^250 2.0.0 ok: queued as [0-9A-Z]\{11,\}' "$OUT"
id=$(sed -n 's/^250 2.0.0 ok: queued as \([0-9A-Z]*\).*/\1/p' "$OUT")
ok "the log line names the same id" \
  wait_for 10 grep -q "qsmtpd: accept .* id=$id to=<bob@test.example>" "$QHOME/log/smtp/current"
ok "delivered, with one Received: line, qsmtpd's, naming the id" wait_for 20 sh -c \
  "f=\$(grep -l '^X-Test: own' '$BOB'/new/*) && [ \$(grep -c '^Received:' \$f) = 1 ] &&
   grep -A3 '^Received: from c.example' \$f | grep -q '^	id $id;\$'"
cat >"$QHOME/filter.sh" <<EOF
#!/bin/sh
# a qmail-queue filter: one header more, then qinject
{ echo 'X-Filtered: yes'; cat; } | "$T_ROOT/bin/qinject"
EOF
chmod 755 "$QHOME/filter.sh"
sed -i "/^exec qlisten/i QINJECT=$QHOME/filter.sh; export QINJECT" "$QHOME/service/smtp/run"
s6-svc -T 20000 -wR -t "$QHOME/service/smtp" || diag "smtp service not restarted in time"
printf 'EHLO c.example\r\nMAIL FROM:<alice@else.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\nX-Test: filtered\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 354 250 221" "QINJECT: the filter accepts the message"
ok "QINJECT: the filter's header is in the delivered message, and qinject added no Received:" \
  wait_for 20 sh -c "f=\$(grep -l '^X-Test: filtered' '$BOB'/new/*) && grep -q '^X-Filtered: yes' \$f &&
   [ \$(grep -c '^Received:' \$f) = 1 ]"
