#!/bin/sh
# The admin's tools on one live instance, as an admin coming from sendmail
# uses them: qstats after a known mix of traffic; the alias keys and
# targets the other tests leave out (user@domain beside a bare name, a
# bare name in every local domain, an alias of an alias, a remote target,
# %1 to a user, the default MAILER-DAEMON, pipe exit codes); access keys
# (IP prefix, most specific wins, OK, untagged, user@, To: REJECT and
# DISCARD); generics and masquerade applied to mail sent here and never to
# mail relayed for others; `mail` (s-nail) and mutt as users call them;
# mailq with a deferred message and its reason, its filters, -qS; and
# misuse of every program.
. "$(dirname "$0")/lib.sh"
plan 45

. "$(dirname "$0")/smtp.sh"

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

PORT=$(free_port)
SINK=$(free_port)
CLOSED=$(free_port) # nobody listens there: connection refused
inst_setup --smtp 127.0.0.1:$PORT
C="$QHOME/control"
# smtp_raw sends each transcript in one write
touch "$C/relaxpipelining"
mkdir "$T_TMP/sink"
python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/sink" 127.0.0.1:$SINK >"$T_TMP/sink.out" 2>&1 &
SINK_PID=$!
wait_for 10 test -e "$T_TMP/sink/ready" || bail "smtpsink did not start"

printf 'other.example\ncatch.example\n' >>"$C/locals"
printf 'other.example\ncatch.example\n' >>"$C/rcpthosts"
printf '%s:!\n' bob@test.example carol@test.example trap@test.example nomail@test.example \
  >>"$C/users"
cat >"$C/smtproutes" <<EOF
far.example:127.0.0.1:$SINK
dead.example:127.0.0.1:$CLOSED
gone.example:127.0.0.1:$CLOSED
EOF
echo 3600 >"$C/backoffmin" # deferred mail waits for a flush
echo 7200 >"$C/backoffmax"
cat >>"$C/aliases" <<'EOF'
help: bob@test.example
help@other.example: carol@test.example
sales@test.example: carol
staff: help
ext: friend@far.example
@catch.example: %1@test.example
perm: "|exit 100"
temp: "|echo busy; exit 111"
EOF
cat >>"$C/access" <<'EOF'
Connect:127.0.1	REJECT
Connect:127.0.1.7	OK
127.0.0.6	RELAY
From:spoof@	REJECT
From:ok.example	REJECT
From:boss@ok.example	OK
To:nomail@test.example	REJECT
To:trap@test.example	DISCARD
EOF
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
CAROL="$QHOME/mail/test.example/carol"
PM="$QHOME/mail/test.example/postmaster"
QLOG="$QHOME/log/qsend/current"
IN="$T_TMP/in"
OUT="$T_TMP/out"

# got MAILDIR SUBJECT: a message with that subject is in the Maildir
got() { grep -qx "Subject: $2" "$1"/new/* "$1"/cur/* 2>/dev/null; }
# senders are local or at far.example (the sink): bounces never look up DNS
inject() { printf 'Subject: %s\n\nbody\n' "$3" | qinject -f "$1" "$2"; }
# smtp_msg SENDER RCPT SUBJECT: one SMTP transaction into $IN
smtp_msg() {
  printf 'EHLO c.example\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n' "$1" "$2" >"$IN"
  printf 'DATA\r\nSubject: %s\r\n\r\nx\r\n.\r\nQUIT\r\n' "$3" >>"$IN"
}

# --- 1. qstats after a known mix ----------------------------------------------
# local -> local; SMTP -> local; a refused RCPT; a discard; local -> remote;
# local -> unknown user (bounced, the bounce delivered locally).
printf 'Subject: mix1\n\nx\n' | sendmail bob@test.example
smtp_msg alice@else.example bob@test.example mix2
smtp_raw $PORT "$IN" >"$OUT"
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\n' >"$IN"
printf 'RCPT TO:<nobody@test.example>\r\nQUIT\r\n' >>"$IN"
smtp_raw $PORT "$IN" >"$OUT"
smtp_msg a@else.example trap@test.example mix3
smtp_raw $PORT "$IN" >"$OUT"
inject bob@test.example friend@far.example mix4
inject bob@test.example nobody@test.example mix5
delivered() { has_mail "$BOB" 3 && grep -q 'Subject: mix4' "$T_TMP"/sink/msg-*.eml; }
wait_for 30 delivered && wait_for 20 queue_empty || diag "the mix did not drain"
row() { qstats "$QHOME" | awk -v n="$1" '$1 == n { $1 = ""; print substr($0, 2) }'; }
cols() { # cols "1 2 3" 1,3 -> "1 3 "
  echo "$1" | awk -v f="$2" '{ n = split(f, a, ","); s = ""
    for (i = 1; i <= n; i++) s = s $a[i] " "; print s }'
}
# columns: msgsfr bytes_from msgsto bytes_to deferred bounced rejected discarded
figures() { # the log lines may trail the deliveries by a moment
  L=$(row local)
  E=$(row esmtp)
  [ "$(cols "$L" 1,3,5,6,7,8)" = "3 3 0 1 0 0 " ] && [ "$(cols "$E" 1,3,5,6,7,8)" = "1 1 0 0 1 1 " ]
}
wait_for 10 figures
is "$(cols "$L" 1,3,5,6,7,8)" "3 3 0 1 0 0 " "qstats local: 3 in, 3 delivered, 1 bounced"
is "$(cols "$E" 1,3,5,6,7,8)" "1 1 0 0 1 1 " "qstats esmtp: 1 in, 1 out, 1 rejected, 1 discarded"
ok "qstats: bytes of the SMTP message and the remote delivery" \
  sh -c "[ $(cols "$E" 2 | tr -d ' ') -gt 0 ] && [ $(cols "$E" 4 | tr -d ' ') -gt 0 ]"
ok "qstats: 5 queued, of them 1 bounce" sh -c \
  "qstats '$QHOME' | grep -q '^queued 5 messages .*of them 1 bounces'"
ok "the discarded message reached nobody" sh -c "! grep -rqs 'Subject: mix3' '$BOB' '$T_TMP/sink'"

# --- 2. alias keys and targets ------------------------------------------------
{
  printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\n'
  for r in help@test.example help@other.example sales@test.example sales@other.example \
    staff@test.example ext@test.example carol@catch.example MAILER-DAEMON@test.example; do
    printf 'RCPT TO:<%s>\r\n' "$r"
  done
  printf 'QUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 250 250 550 250 250 250 250 221" \
  "RCPT: bare name, user@domain (not in another domain), alias of alias, %1, MAILER-DAEMON"
inject a@far.example help@test.example a1
ok "a bare name serves the first local domain" wait_for 20 got "$BOB" a1
inject a@far.example help@other.example a2
ok "user@domain wins over the bare name for its domain" wait_for 20 got "$CAROL" a2
inject a@far.example sales@test.example a3
ok "a user@domain key (virtusertable)" wait_for 20 got "$CAROL" a3
inject a@far.example staff@test.example a4
ok "an alias of an alias" wait_for 20 got "$BOB" a4
inject a@far.example staff@other.example a4b
ok "a bare name in every local domain; a bare target takes the recipient's domain" \
  wait_for 20 got "$CAROL" a4b
inject a@far.example ext@test.example a5
ok "a remote address target goes out" wait_for 30 sh -c \
  "grep -q 'Subject: a5' '$T_TMP'/sink/msg-*.eml"
inject a@far.example carol@catch.example a6
ok "a catch-all %1@domain reaches the user" wait_for 20 got "$CAROL" a6
inject a@far.example MAILER-DAEMON@test.example a7
ok "MAILER-DAEMON reaches the postmaster by default" wait_for 20 got "$PM" a7
inject a@far.example perm@test.example a8
ok "a pipe exiting 100 fails the recipient" wait_for 20 grep -q 'perm@test.example failed' "$QLOG"
inject a@far.example temp@test.example a9
ok "a pipe exiting 111 defers it" wait_for 20 grep -q 'temp@test.example deferred' "$QLOG"

# --- 3. access keys and actions -----------------------------------------------
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@else.example>\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" 127.0.1.5 >"$OUT"
is_codes "554 503 503 503 221" "Connect: IP prefix REJECT (127.0.1.5)"
smtp_raw $PORT "$IN" 127.0.1.7 >"$OUT"
is_codes "220 250 250 554 221" "the address wins over its prefix; OK still does not relay"
smtp_raw $PORT "$IN" 127.0.0.6 >"$OUT"
is_codes "220 250 250 250 221" "an untagged IP key: RELAY for that client"
{
  printf 'EHLO c.example\r\n'
  printf 'MAIL FROM:<spoof@anywhere.example>\r\n'  # 550 user@
  printf 'MAIL FROM:<x@mx.ok.example>\r\n'         # 550 domain and subdomains
  printf 'MAIL FROM:<boss@ok.example>\r\n'         # 250 OK, the address wins
  printf 'RCPT TO:<nomail@test.example>\r\n'       # 250: OK skips the To: checks
  printf 'RSET\r\nMAIL FROM:<a@else.example>\r\n'
  printf 'RCPT TO:<nomail@test.example>\r\n'       # 550 To: REJECT
  printf 'RCPT TO:<bob@test.example>\r\n'          # 250
  printf 'QUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 550 550 250 250 250 250 550 250 221" \
  "From: user@ and domain REJECT, address OK over its domain, To: REJECT"
n0=$(maildir_count "$BOB")
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\n' >"$IN"
printf 'RCPT TO:<trap@test.example>\r\nDATA\r\nSubject: trapped\r\n\r\nx\r\n.\r\nQUIT\r\n' >>"$IN"
smtp_raw $PORT "$IN" >"$OUT"
is_codes "220 250 250 250 250 354 250 221" "To: DISCARD: the client sees success"
inject a@far.example bob@test.example after-trap
wait_for 20 got "$BOB" after-trap
ok "To: DISCARD drops the whole message, and says so in the log" wait_for 10 sh -c \
  "! grep -rqs 'Subject: trapped' '$BOB' &&
   [ \$(grep -c 'qsmtpd: discard ' '$QHOME/log/smtp/current') = 2 ]"

# --- 4. generics and masquerade: mail sent here only --------------------------
echo 'carol carol.jones@example.org' >"$C/generics"
echo example.org >"$C/masquerade"
: >"$C/masquerade_envelope"
qnewmaps "$QHOME" >/dev/null
printf 'From: carol@test.example\nSubject: g1\n\nx\n' |
  sendmail -f carol@test.example friend@far.example
printf 'Subject: g2\nReply-To: bob@test.example\n\nx\n' |
  sendmail -f bob@test.example friend@far.example
{
  printf 'EHLO c.example\r\nMAIL FROM:<carol@test.example>\r\nRCPT TO:<friend@far.example>\r\n'
  printf 'DATA\r\nFrom: carol@test.example\r\nReply-To: bob@test.example\r\nSubject: g3\r\n'
  printf '\r\nx\r\n.\r\nQUIT\r\n'
} >"$IN"
smtp_raw $PORT "$IN" 127.0.0.6 >"$OUT"
sink_msg() { grep -l "^Subject: $1" "$T_TMP"/sink/msg-*.eml 2>/dev/null | head -1; }
three() { [ -n "$(sink_msg g1)" ] && [ -n "$(sink_msg g2)" ] && [ -n "$(sink_msg g3)" ]; }
wait_for 30 three || diag "not all of g1 g2 g3 reached the sink"
ok "generics rewrites From: of mail sent here" \
  grep -q '^From: carol.jones@example.org' "$(sink_msg g1)"
ok "masquerade rewrites the other local addresses" sh -c \
  "grep -q '^From: .*<bob@example.org>' '$(sink_msg g2)' &&
   grep -q '^Reply-To: bob@example.org' '$(sink_msg g2)'"
ok "mail relayed for others is not rewritten" sh -c \
  "grep -q '^From: carol@test.example' '$(sink_msg g3)' &&
   grep -q '^Reply-To: bob@test.example' '$(sink_msg g3)'"
# sink_from FILE: the envelope sender the sink recorded for msg-N.eml
sink_from() {
  python3 -c 'import json,re,sys
n = int(re.search(r"msg-(\d+)\.eml$", sys.argv[1]).group(1))
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e["n"] == n:
        print(e["from"])' "$1" "$T_TMP/sink/log.jsonl"
}
is "$(sink_from "$(sink_msg g1)")" carol.jones@example.org \
  "masquerade_envelope: the envelope sender of mail sent here too"
is "$(sink_from "$(sink_msg g3)")" carol@test.example "but not that of relayed mail"
rm -f "$C/generics" "$C/generics.cdb" "$C/masquerade" "$C/masquerade_envelope"

# --- 5. mail (s-nail) and mutt, as users call them ----------------------------
mkdir -p "$T_TMP/home" "$T_TMP/pbin"
ln -s "$(command -v s-nail)" "$T_TMP/pbin/mail"
# what a user (or /etc/s-nail.rc, /etc/Muttrc) says when sendmail is not /usr/sbin/sendmail
printf 'set mta=%s\nset DEAD=%s\n' "$T_ROOT/bin/sendmail" "$T_TMP/dead.letter" \
  >"$T_TMP/home/.mailrc"
printf 'set sendmail="%s -oem -oi"\nset hostname=test.example\n' "$T_ROOT/bin/sendmail" \
  >"$T_TMP/home/.muttrc"
(cd "$T_TMP/home" && echo 'body from mail' | HOME="$T_TMP/home" MAILRC="$T_TMP/home/.mailrc" \
  PATH="$T_TMP/pbin:$PATH" timeout 30 mail -s 'subject from mail' bob)
is "$?" 0 "echo body | mail -s subject user: exit 0"
ok "and it is delivered" wait_for 20 got "$BOB" 'subject from mail'
(cd "$T_TMP/home" && echo 'body from mutt' |
  HOME="$T_TMP/home" timeout 30 mutt -s 'subject from mutt' bob)
is "$?" 0 "echo body | mutt -s subject user: exit 0"
ok "and it is delivered" wait_for 20 got "$BOB" 'subject from mutt'

# --- 6. mailq: deferred mail, its reason, filters, -qS --------------------------
inject ops@test.example u1@dead.example q1
inject other@test.example u2@gone.example q2
deferred_both() {
  mailq >"$OUT" 2>&1 && grep -q 'deferred  *<u1@dead.example>' "$OUT" &&
    grep -q 'deferred  *<u2@gone.example>' "$OUT"
}
ok "mailq lists both deferred messages" wait_for 30 deferred_both
ok "with the reason under the recipient" sh -c \
  "grep -A1 'deferred  *<u1@dead.example>' '$OUT' | tail -1 | grep -qi 'refused'"
ok "and a deferred pipe's reason" sh -c \
  "grep -A1 'deferred  *<temp@test.example>' '$OUT' | tail -1 |
   grep -q 'command failed temporarily'"
mailq -qRdead.example >"$OUT" 2>&1
ok "mailq -qR lists only the matching messages" sh -c \
  "grep -q 'u1@dead.example' '$OUT' && ! grep -q 'u2@gone.example' '$OUT'"
sendmail -bp -qSother@ >"$OUT" 2>&1
ok "sendmail -bp -qS filters by sender" sh -c \
  "grep -q 'u2@gone.example' '$OUT' && ! grep -q 'u1@dead.example' '$OUT'"
tries() { qstat "$QHOME" | sed -n "s/.*deferred  *<$1>.*, \([0-9]*\) tr.*/\1/p"; }
t1=$(tries u1@dead.example)
t2=$(tries u2@gone.example)
sendmail -qSother@TEST.example
is "$?" 0 "sendmail -qS: exit 0"
more() { [ "$(tries u2@gone.example)" -gt "$t2" ]; }
ok "-qS retried the matching sender's message" wait_for 15 more
sleep 1
is "$(tries u1@dead.example)" "$t1" "-qS left the other sender's message alone"

# --- 7. misuse: one usage line on stderr, exit 100 -----------------------------
misuse() { # misuse NAME ARGS...: exit 100 and one line "NAME: ... usage: ..."
  m_name=$1; shift
  (cd "$T_TMP" && QHOME="$T_TMP/nowhere" timeout 10 "$@" </dev/null >/dev/null 2>"$T_TMP/err")
  m_rc=$?
  if [ $m_rc = 100 ] && [ "$(wc -l <"$T_TMP/err")" = 1 ] &&
    grep -q "^$m_name: .*usage: " "$T_TMP/err"; then return 0; fi
  diag "$*: exit $m_rc: $(cat "$T_TMP/err")"
  return 1
}
ok "mailq with an unknown flag" misuse mailq mailq -Z
ok "mailq with an argument" misuse mailq mailq example.org
ok "newaliases with an argument" misuse newaliases newaliases -Z
ok "qrspawn with a bad option" misuse qrspawn qrspawn -Z
ok "qremote with a bad option (no getopt line)" misuse qremote qremote -Z x.example
bad=
for p in "$T_ROOT"/bin/*; do
  n=$(basename "$p")
  misuse "$n" "$p" -Z || bad="$bad $n"
done
is "$bad" "" "every program in bin/ answers -Z with one usage line and 100"
