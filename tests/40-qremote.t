#!/bin/sh
# qremote and qrspawn driven directly, as qsend drives them: jobs on stdin,
# queue files written by hand, a recording SMTP sink on loopback.
# Covers the SMTP client: one transaction for several recipients, CRLF and
# dot-stuffing byte for byte, per-recipient replies, 452 continuation,
# SIZE, SMTPUTF8, 8BITMIME, DSN parameters, HELO fallback without
# pipelining, connection reuse by qrspawn, and the protocol checks.
. "$(dirname "$0")/lib.sh"
plan 49

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

IP=127.0.40.2
mkdir -p "$QHOME/control" "$QHOME/queue/mess"
echo me.test >"$QHOME/control/me"
echo 10 >"$QHOME/control/timeoutremote"
echo 5 >"$QHOME/control/timeoutconnect"

# sink_start [OPTIONS]: a fresh sink in $T_TMP/sinkN on a fresh port; SINK_DIR, SINK_PORT.
SINK_N=0
sink_start() {
  [ -z "$SINK_PID" ] || { kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; }
  SINK_N=$((SINK_N + 1))
  SINK_DIR=$T_TMP/sink$SINK_N
  SINK_PORT=$(free_port $IP)
  : >"$T_TMP/rules"
  python3 "$T_ROOT/tests/smtpsink.py" "$SINK_DIR" "$IP:$SINK_PORT" --rules "$T_TMP/rules" "$@" \
    >"$SINK_DIR.out" 2>&1 &
  SINK_PID=$!
  wait_for 20 test -e "$SINK_DIR/ready" || bail "smtpsink did not start"
  echo "dest.test:$IP:$SINK_PORT" >"$QHOME/control/smtproutes"
}

# mkqueue ID FILE [ENVELOPE-RECORDS]: queue/mess/NN/ID with message FILE.
mkqueue() {
  d="$QHOME/queue/mess/$(($1 % 32))"
  mkdir -p "$d"
  { printf 'Q1 %020d\n' "$(wc -c <"$2")"; cat "$2"; printf 'T1700000000\000Fa@me.test\000'; } \
    >"$d/$1"
}

# run_qremote JOB-FORMAT ARGS...: runs qremote for dest.test with that job
# on stdin; results one a line in $T_TMP/res, log in $T_TMP/log.
run_qremote() {
  fmt=$1; shift
  # shellcheck disable=SC2059
  printf "$fmt" "$@" | timeout 60 qremote dest.test >"$T_TMP/res.raw" 2>"$T_TMP/log"
  RC=$?
  tr '\0' '\n' <"$T_TMP/res.raw" >"$T_TMP/res"
}
res_line() { sed -n "${1}p" "$T_TMP/res"; }
last_log() { tail -n 1 "$SINK_DIR/log.jsonl" 2>/dev/null; }
json() { python3 -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2])]
print(eval(sys.argv[3], {}, {"e": e}))' "$SINK_DIR/log.jsonl" "$@"; }

M=$T_TMP/msg
printf 'From: a@me.test\nSubject: dots\n\n.leading dot\n.\n..two\nlast line without newline' >"$M"
mkqueue 100 "$M"

# 1. several recipients, one transaction, byte-exact
sink_start
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000Ry@dest.test\000\000'
is "$RC" 0 "qremote exits 0 at the end of its jobs"
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "KK" "two recipients delivered"
ok "the result names the host and its reply" grep -q "^K$IP \[$IP\] said: 250 " "$T_TMP/res"
is "$(wc -l <"$SINK_DIR/log.jsonl" | tr -d ' ')" 1 "one transaction"
is "$(json 0 'e["rcpt"]')" "['x@dest.test', 'y@dest.test']" "both recipients in it"
ok "CRLF, dot-stuffing undone by the server, final line end added" sh -c \
  "{ sed 's/\$/\r/' '$M'; printf '\n'; } | cmp -s - '$SINK_DIR/msg-1.eml'"
ok "one log line per recipient with tls, result and the host once (in the reply's text)" \
  sh -c "grep -c 'rcpt [xy]@dest.test tls no result K: $IP \[$IP\] said: 250 ' '$T_TMP/log' |
    grep -qx 2"

# 2. per-recipient replies
{ echo "rcpt bad@dest.test 550 5.1.1 no such user"; echo "rcpt tmp@dest.test 451 4.2.0 busy"; } \
  >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rbad@dest.test\000Rtmp@dest.test\000Rok@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "DTK" "550 fails, 451 defers that recipient alone (T), 250 delivers, in order"
ok "the server's reply is the reason" sh -c "res_line() { sed -n \"\$1p\" '$T_TMP/res'; }; \
  res_line 1 | grep -q 'said: 550 5.1.1 no such user' && res_line 2 | grep -q 'said: 451 4.2.0 busy'"
is "$(json -1 'e["rcpt"]')" "['ok@dest.test']" "only the accepted recipient got the message"
run_qremote 'I100\000Sa@me.test\000Rtmp@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "T" "a 451 to the only recipient: T, the destination answered"
echo "rcpt tmp2@dest.test 452 4.2.2 mailbox full" >>"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rtmp@dest.test\000Rtmp2@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "ZZ" "a 4xx to every one of several recipients: Z, the destination's"
echo "rcpt full@dest.test 552 5.2.2 mailbox full" >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rfull@dest.test\000Rok@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "TK" "552 to a RCPT is a 452 (RFC 5321 4.5.3.1.10): T, not a bounce"
echo "rcpt x@dest.test 421 4.3.2 shutting down" >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "Z" "421 to a RCPT: Z"
echo "mail 451 4.3.2 not now" >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "Z" "451 to MAIL: Z"
echo "data 451 4.7.0 scanner unavailable" >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000Ry@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "TT" "451 after the data: T, that message alone"

# 3. a 554 to the final dot fails the accepted recipients; a 452 sends the rest in another transaction
echo "data 554 5.6.0 content rejected" >"$T_TMP/rules"
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000\000'
ok "554 after the dot: D with the reply" grep -q '^D.*said: 554 5.6.0 content rejected' "$T_TMP/res"
echo "rcptmax 2" >"$T_TMP/rules"
before=$(wc -l <"$SINK_DIR/log.jsonl")
run_qremote 'I100\000Sa@me.test\000R1@dest.test\000R2@dest.test\000R3@dest.test\000R4@dest.test\000R5@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "KKKKK" "452 too many recipients: all delivered in the end"
is "$(($(wc -l <"$SINK_DIR/log.jsonl") - before))" 3 "in three transactions (2 + 2 + 1)"
is "$(json -1 'e["conn"]')" "$(json -3 'e["conn"]')" "on one connection"
: >"$T_TMP/rules"

# 4. SIZE
sink_start --size 60
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000\000'
ok "message over the server's SIZE limit fails with 5.3.4" grep -q '^D5.3.4 .*exceeds' "$T_TMP/res"
ok "and nothing was sent" test ! -e "$SINK_DIR/log.jsonl"
printf 'Subject: s\n\nsmall\n' >"$T_TMP/small"
mkqueue 101 "$T_TMP/small"
run_qremote 'I101\000Sa@me.test\000Rx@dest.test\000\000'
is "$(json 0 'e["mail_params"]')" "SIZE=21" "SIZE declared (CRLF counted)"

# 5. SMTPUTF8 and 8BITMIME
sink_start --no-smtputf8
run_qremote 'I101\000Sa@me.test\000Rj\303\266rg@dest.test\000\000'
ok "UTF-8 address to a server without SMTPUTF8: 5.6.7" grep -q '^D5.6.7 ' "$T_TMP/res"
sink_start
printf 'Subject: 8bit\n\ncaf\303\251\n' >"$T_TMP/8bit"
mkqueue 102 "$T_TMP/8bit"
run_qremote 'I102\000Sa@me.test\000Rj\303\266rg@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res")" "K" "UTF-8 address delivered where SMTPUTF8 is offered"
is "$(json 0 'e["mail_params"]')" "BODY=8BITMIME SMTPUTF8" "BODY=8BITMIME and SMTPUTF8 declared"
sink_start --no-8bitmime
run_qremote 'I102\000Sa@me.test\000Rx@dest.test\000\000'
ok "8-bit message to a server without 8BITMIME: D 5.6.3 (RFC 6152 3)" grep -q '^D5.6.3 ' "$T_TMP/res"
ok "and nothing was sent" test ! -e "$SINK_DIR/log.jsonl"
run_qremote 'I101\000Sa@me.test\000Rx@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res")" "K" "a 7-bit one goes there"

# 6. DSN parameters pass on only to servers that offer DSN
run_qremote 'I101\000Sa@me.test\000VHDRS\000Xid+1=x\000Rx@dest.test\000NSUCCESS,FAILURE\000Orfc822;X@dest.test\000\000'
is "$(json -1 'e["mail_params"] + "|" + e["rcpt_params"][0]')" "|" "no DSN parameters without DSN"
is "$(cut -c1 "$T_TMP/res")" "K" "K from a server without DSN (qsend reports relayed)"
sink_start --dsn
run_qremote 'I101\000Sa@me.test\000VHDRS\000Xid+1=x\000Rx@dest.test\000NSUCCESS,FAILURE\000Orfc822;X@dest.test\000\000'
is "$(json 0 'e["mail_params"]')" "RET=HDRS ENVID=id+2B1+3Dx" "RET and ENVID (xtext) passed on"
is "$(json 0 'e["rcpt_params"][0]')" "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;X@dest.test" \
  "NOTIFY and ORCPT passed on"
is "$(cut -c1 "$T_TMP/res")" "P" "P from a server with DSN: it reports success itself"

# 6b. lines over 998 octets are broken (RFC 5321 4.5.3.1.6): a continuation
# line in the header, two lines in the body, dot-stuffed where one starts with '.'
python3 -c 'import sys
sys.stdout.write("X-Long: " + "h" * 2500 + "\nSubject: long\n\n" + "a" * 998 + "." + "b" * 1500 + "\nend\n")' \
  >"$T_TMP/long"
mkqueue 103 "$T_TMP/long"
run_qremote 'I103\000Sa@me.test\000Rx@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res")" "P" "the long-lined message delivered"
ok "no line over 1000 octets with its CRLF" python3 -c 'import sys
sys.exit(max(len(l) for l in open(sys.argv[1], "rb").read().split(b"\n")) > 1000)' \
  "$SINK_DIR/msg-$(wc -l <"$SINK_DIR/log.jsonl" | tr -d ' ').eml"
ok "header folded, body split, the period kept" python3 -c 'import sys
got = open(sys.argv[1], "rb").read().decode().replace("\r\n", "\n")
head, body = got.split("\n\n", 1)
want = open(sys.argv[2]).read()
whead, wbody = want.split("\n\n", 1)
sys.exit(not (head.replace("\n ", "") == whead.rstrip("\n") and
              body.replace("\n", "") == wbody.replace("\n", "") and
              body.split("\n")[1].startswith(".b")))' \
  "$SINK_DIR/msg-$(wc -l <"$SINK_DIR/log.jsonl" | tr -d ' ').eml" "$T_TMP/long"

# 7. HELO fallback, no pipelining
sink_start --no-ehlo --no-pipelining
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000Ry@dest.test\000\000'
is "$(cut -c1 "$T_TMP/res" | tr -d '\n')" "KK" "delivered after EHLO was refused"
is "$(json 0 'e["helo"]')" "me.test" "HELO with control/me"

# 8. the null sender and the double-bounce sender go out as <>
run_qremote 'I100\000S\000Rx@dest.test\000\000'
run_qremote 'I100\000S#@[]\000Rx@dest.test\000\000'
is "$(json -2 'e["from"]')/$(json -1 'e["from"]')" "/" "MAIL FROM:<> for both"

# 9. nobody listening: deferred with the reason
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null; SINK_PID=
run_qremote 'I100\000Sa@me.test\000Rx@dest.test\000\000'
ok "connection refused: Z 4.4.1" grep -q "^Z4.4.1 $IP \[$IP\]: unable to connect" "$T_TMP/res"

# 10. a missing queue file defers
sink_start
run_qremote 'I999\000Sa@me.test\000Rx@dest.test\000\000'
ok "missing queue file: T 4.3.0" grep -q '^T4.3.0 unable to open queue/mess/7/999' "$T_TMP/res"

# 11. qrspawn: two jobs for one destination share one connection; results carry the slot
{ printf 'J0\000I100\000Sa@me.test\000Rx@dest.test\000\000'; sleep 2
  printf 'J1\000I101\000Sb@me.test\000Rz@DEST.test\000\000'; sleep 1; } |
  timeout 60 qrspawn 5 >"$T_TMP/rs.raw" 2>"$T_TMP/rs.log"
is "$?" 0 "qrspawn exits 0 after end of file"
is "$(tr '\0' '\n' <"$T_TMP/rs.raw" | grep -c '')" 6 "two results of three records each"
ok "slots and results in order" sh -c "tr '\0' '\n' <'$T_TMP/rs.raw' | sed -n '1p;2p;4p;5p' | \
  cut -c1-2 | tr '\n' ' ' | grep -qx 'J0 K1 J1 K1 '"
is "$(json 0 'e["conn"]')" "$(json 1 'e["conn"]')" "the second job used the first one's connection"

# 12. protocol errors and misuse
printf 'J0\000I100\000Sa@me.test\000Rx@dest.test\000Ry@other.test\000\000' | timeout 20 qrspawn 5 \
  >/dev/null 2>&1
is "$?" 111 "qrspawn: recipients of two domains in one job is a protocol error"
printf 'J7\000I100\000Sa@me.test\000Rx@dest.test\000\000' | timeout 20 qrspawn 5 >/dev/null 2>&1
is "$?" 111 "qrspawn: slot out of range"
qremote >/dev/null 2>&1
is "$?" 100 "qremote without a domain: usage, 100"
