#!/bin/sh
# Remote results and delivery status notifications through a whole
# instance routed (control/smtproutes) to a recording sink: several
# recipients in one transaction, a 5xx bounce landing in the local
# sender's Maildir as a valid multipart/report, a 4xx deferral delivered
# after `s6-svc -a`, a double bounce to the postmaster, and a delay warning
# then the final bounce with a short queuewarn and queuelifetime; NOTIFY=SUCCESS
# to a server with DSN (no report here) and to one without (Action: relayed).
. "$(dirname "$0")/lib.sh"
plan 28

SINK_PID=
SINK2_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null
  [ -z "$SINK2_PID" ] || kill "$SINK2_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

IP=127.0.42.2
PORT=$(free_port $IP)
SINK=$T_TMP/sink
RULES=$T_TMP/rules
{ echo "rcpt bad@remote.test 550 5.1.1 no such user"
  echo "rcpt later@remote.test 451 4.3.0 try later"
  echo "rcpt slow@remote.test 451 4.4.0 still busy"; } >"$RULES"
python3 "$T_ROOT/tests/smtpsink.py" "$SINK" "$IP:$PORT" --rules "$RULES" --dsn >"$T_TMP/sink.out" 2>&1 &
SINK_PID=$!
wait_for 20 test -e "$SINK/ready" || bail "smtpsink did not start"
PORT2=$(free_port $IP)
SINK2=$T_TMP/sink2
python3 "$T_ROOT/tests/smtpsink.py" "$SINK2" "$IP:$PORT2" >"$T_TMP/sink2.out" 2>&1 &
SINK2_PID=$!
wait_for 20 test -e "$SINK2/ready" || bail "second smtpsink did not start"

inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
printf 'remote.test:%s:%s\nnodsn.test:%s:%s\n' "$IP" "$PORT" "$IP" "$PORT2" \
  >"$QHOME/control/smtproutes"
inst_start

ALICE=$QHOME/mail/test.example/alice
POSTMASTER=$QHOME/mail/test.example/postmaster
in_sink() { grep -q "\"$1\"" "$SINK/log.jsonl" 2>/dev/null; }
qlog() { cat "$QHOME/log/qsend/current"; }

# check_report FILE ACTION STATUS RCPT: a valid RFC 3464 report about RCPT
check_report() {
  python3 - "$@" <<'EOF'
import email, sys
fn, action, status, rcpt = sys.argv[1:5]
m = email.message_from_binary_file(open(fn, "rb"))
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
assert m["Auto-Submitted"] == "auto-replied"
parts = m.get_payload()
assert parts[0].get_content_type() == "text/plain"
assert parts[1].get_content_type() == "message/delivery-status"
assert parts[2].get_content_type() in ("message/rfc822", "text/rfc822-headers")
groups = parts[1].get_payload()
assert groups[0]["Reporting-MTA"] == "dns; test.example", groups[0]["Reporting-MTA"]
r = [g for g in groups[1:] if g["Final-Recipient"] == "rfc822; " + rcpt]
assert r, [g["Final-Recipient"] for g in groups[1:]]
assert r[0]["Action"] == action, r[0]["Action"]
assert r[0]["Status"] == status, r[0]["Status"]
EOF
}
newest() { ls -t "$1"/new/* 2>/dev/null | head -1; }

# 1. several recipients of one domain: one transaction
printf 'From: alice@test.example\nSubject: three\n\nhi\n' |
  qinject -f alice@test.example one@remote.test two@remote.test three@remote.test
ok "three recipients delivered" wait_for 30 in_sink three@remote.test
is "$(grep -c '' "$SINK/log.jsonl")" 1 "in one SMTP transaction"

# 2. a 5xx for one recipient: the other is delivered, alice gets a bounce
printf 'From: alice@test.example\nSubject: bounce me\n\nbody of the bounced message\n' |
  qinject -f alice@test.example bad@remote.test good@remote.test
ok "the good recipient delivered" wait_for 30 in_sink good@remote.test
ok "a bounce in alice's Maildir" wait_for 30 has_mail "$ALICE" 1
f=$(newest "$ALICE")
ok "a valid multipart/report: failed, 5.1.1" check_report "$f" failed 5.1.1 bad@remote.test
ok "with the server's reply as Diagnostic-Code" grep -q "^Diagnostic-Code: smtp; 550 5.1.1 no such user" "$f"
ok "and the Remote-MTA" grep -q "^Remote-MTA: dns; $IP" "$f"
ok "the original message attached" grep -q "^body of the bounced message" "$f"
ok "only the failed recipient is reported" sh -c "! grep -q 'good@remote.test' '$f'"
ok "Return-Path of the bounce is empty" grep -q '^Return-Path: <>' "$f"

# 3. a 4xx defers with the server's reply; after the rule goes and a flush, delivered
printf 'From: alice@test.example\nSubject: later\n\nhi\n' | qinject -f alice@test.example later@remote.test
ok "deferred" wait_for 30 sh -c "grep -q 'later@remote.test deferred: .*said: 451 4.3.0 try later' \
  '$QHOME/log/qsend/current'"
sed -i '/later@remote.test/d' "$RULES"
s6-svc -a "$QHOME/service/qsend"
ok "delivered after s6-svc -a" wait_for 30 in_sink later@remote.test
is "$(maildir_count "$ALICE")" 1 "no report for it"

# 4. a bounce of a bounce goes to the postmaster, from #@[]
pm_before=$(maildir_count "$POSTMASTER")
printf 'From: MAILER-DAEMON@else.example\nSubject: a bounce\n\nreport\n' | qinject -f '' bad@remote.test
ok "double bounce in the postmaster's Maildir" wait_for 30 has_mail "$POSTMASTER" $((pm_before + 1))
f=$(newest "$POSTMASTER")
ok "its Return-Path is #@[]" grep -q '^Return-Path: <#@\[\]>' "$f"
ok "it reports the failed recipient" check_report "$f" failed 5.1.1 bad@remote.test
is "$(maildir_count "$ALICE")" 1 "nothing to alice"

# 5. NOTIFY=SUCCESS: a server with DSN gets the NOTIFY and reports itself,
# one without DSN makes a "relayed" report here (RFC 3461, RFC 3464 2.3.3)
printf 'From: alice@test.example\nSubject: passed\n\nhi\n' |
  sendmail -N success -f alice@test.example ok1@remote.test
ok "delivered to the DSN server" wait_for 30 in_sink ok1@remote.test
ok "with NOTIFY=SUCCESS passed on" sh -c "grep '\"ok1@remote.test\"' '$SINK/log.jsonl' |
  grep -q 'NOTIFY=SUCCESS'"
printf 'From: alice@test.example\nSubject: relayed\n\nhi\n' |
  sendmail -N success -f alice@test.example ok2@nodsn.test
ok "a report for alice" wait_for 30 has_mail "$ALICE" 2
f=$(newest "$ALICE")
ok "a valid report: relayed, 2.0.0" check_report "$f" relayed 2.0.0 ok2@nodsn.test
is "$(grep -l '^Final-Recipient:' "$ALICE"/new/* | xargs grep -l 'ok1@remote.test' | wc -l)" 0 \
  "no report for the one the DSN server took"
ok "the report's subject says relayed" grep -q '^Subject: Delivery report: mail relayed' "$f"

# 6. a delay warning at queuewarn, the final bounce at queuelifetime
echo 2 >"$QHOME/control/queuewarn"
echo 8 >"$QHOME/control/queuelifetime"
echo 1 >"$QHOME/control/backoffmin"
echo 2 >"$QHOME/control/backoffmax"
s6-svc -h "$QHOME/service/qsend"
sleep 1
printf 'From: alice@test.example\nSubject: slow\n\nhi\n' | qinject -f alice@test.example slow@remote.test
ok "a delay warning for alice" wait_for 30 has_mail "$ALICE" 3
f=$(newest "$ALICE")
ok "a valid report: delayed, 4.4.0" check_report "$f" delayed 4.4.0 slow@remote.test
ok "with Will-Retry-Until" grep -q '^Will-Retry-Until: ' "$f"
ok "then the final bounce" wait_for 40 has_mail "$ALICE" 4
f=$(newest "$ALICE")
ok "a valid report: failed, 5.4.7 (expired)" check_report "$f" failed 5.4.7 slow@remote.test
