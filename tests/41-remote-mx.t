#!/bin/sh
# Remote delivery by MX through a whole instance (qinject -> qsend ->
# qrspawn -> qremote), with a real resolver (dnsmasq on a loopback
# address, DNSCACHEIP) and recording sinks on port 25 of loopback
# addresses: MX preference and fallback when the first host is down, the
# A fallback without MX, null MX, NXDOMAIN, an MX pointing back at us, and
# equal preferences shuffled.
. "$(dirname "$0")/lib.sh"
plan 16

command -v dnsmasq >/dev/null || { echo "1..0 # SKIP dnsmasq not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (port 25 and 53 on loopback)"; exit 0; }

PIDS=
trap 'rc=$?; for p in $PIDS; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

NET=127.0.41
DNSCACHEIP=$NET.53
export DNSCACHEIP
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --user=root \
  --listen-address=$DNSCACHEIP --bind-interfaces --port=53 --local=/test/ --local=/example/ \
  --mx-host=pref.test,mx1.pref.test,10 --mx-host=pref.test,mx2.pref.test,20 \
  --host-record=mx1.pref.test,$NET.3 --host-record=mx2.pref.test,$NET.2 \
  --host-record=plain.test,$NET.2 --mx-host=nodns.test,mx2.pref.test,10 \
  --mx-host=null.test,.,0 \
  --mx-host=loop.test,mx.loop.test,10 --host-record=mx.loop.test,127.0.0.1 \
  --mx-host=self.test,test.example,10 \
  --mx-host=eq.test,e1.eq.test,10 --mx-host=eq.test,e2.eq.test,10 \
  --host-record=e1.eq.test,$NET.4 --host-record=e2.eq.test,$NET.5 \
  --log-facility="$T_TMP/dnsmasq.log" >"$T_TMP/dnsmasq.out" 2>&1 &
PIDS="$PIDS $!"

for n in 2 4 5; do
  python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/sink$n" "$NET.$n:25" >"$T_TMP/sink$n.out" 2>&1 &
  PIDS="$PIDS $!"
done
for n in 2 4 5; do
  wait_for 20 test -e "$T_TMP/sink$n/ready" || bail "sink $n did not start (port 25 taken?)"
done
wait_for 10 sh -c "ss -lunH | grep -q '$DNSCACHEIP:53 '" || bail "dnsmasq did not start"

inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
inst_start

ALICE=$QHOME/mail/test.example/alice
sent() { grep -h "\"$1\"" "$T_TMP"/sink*/log.jsonl 2>/dev/null; }
inject() { printf 'From: alice@test.example\nSubject: %s\n\nhello\n' "$2" |
  qinject -f alice@test.example "$1"; }

# 1. MX preference: mx1 (preferred) refuses connections, mx2 takes the mail
inject bob@pref.test pref
ok "delivered by MX" wait_for 30 sh -c "grep -q bob@pref.test '$T_TMP/sink2/log.jsonl'"
ok "after trying the preferred MX first" grep -q "mx1.pref.test \[$NET.3\]: unable to connect" \
  "$QHOME/log/qsend/current"
ok "the log line names host and IP of the delivery" \
  grep -q "rcpt bob@pref.test tls no result K: mx2.pref.test \[$NET.2\] said: 250" "$QHOME/log/qsend/current"

# 2. no MX: the domain's own address
inject carol@plain.test plain
ok "no MX: delivered to the A record" wait_for 30 sh -c "grep -q carol@plain.test '$T_TMP/sink2/log.jsonl'"

# 3. failures that bounce at once to alice
inject dave@null.test null
inject erin@nx.test nx
inject frank@loop.test loop
inject gina@self.test self
ok "four bounces in alice's Maildir" wait_for 60 has_mail "$ALICE" 4
reports=$(cat "$ALICE"/new/* 2>/dev/null)
ok "null MX: 5.1.10" sh -c "printf '%s' \"\$1\" | grep -q 'Status: 5.1.10'" - "$reports"
ok "NXDOMAIN: 5.1.2" sh -c "printf '%s' \"\$1\" | grep -q 'Status: 5.1.2'" - "$reports"
ok "MX with our address: points back to me, 5.4.6" \
  sh -c "printf '%s' \"\$1\" | grep -q 'MX for loop.test points back to me'" - "$reports"
ok "MX named control/me: points back to me" \
  sh -c "printf '%s' \"\$1\" | grep -q 'MX for self.test points back to me'" - "$reports"
ok "every bounce is a multipart/report from MAILER-DAEMON" python3 - "$ALICE/new" <<'EOF'
import email, os, sys
d = sys.argv[1]
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"))
    assert m.get_content_type() == "multipart/report", m.get_content_type()
    assert m.get_param("report-type") == "delivery-status"
    assert "MAILER-DAEMON@test.example" in m["From"]
    parts = m.get_payload()
    assert [p.get_content_type() for p in parts] == \
        ["text/plain", "message/delivery-status", "message/rfc822"], parts
    status = parts[1].get_payload()
    assert any(s.get("Action") == "failed" for s in status)
EOF
ok "nothing reached a sink for them" sh -c "! grep -qE 'null.test|nx.test|loop.test|self.test' \
  '$T_TMP'/sink*/log.jsonl"

# 4. equal preferences are shuffled: 16 fresh qremotes, both hosts used
mkdir -p "$T_TMP/q/control" "$T_TMP/q/queue/mess/4"
echo me.test >"$T_TMP/q/control/me"
{ printf 'Q1 %020d\n' 8; printf 'Subj: x\n'; printf 'T1\000Fa@me.test\000'; } >"$T_TMP/q/queue/mess/4/100"
i=0
while [ $i -lt 16 ]; do
  printf 'I100\000Sa@me.test\000Rx@eq.test\000\000' | QHOME=$T_TMP/q timeout 30 qremote eq.test \
    >/dev/null 2>&1
  i=$((i + 1))
done
n4=$(grep -c '' "$T_TMP/sink4/log.jsonl" 2>/dev/null)
n5=$(grep -c '' "$T_TMP/sink5/log.jsonl" 2>/dev/null)
is "$((n4 + n5))" 16 "16 deliveries to eq.test"
ok "both MX hosts of equal preference used ($n4 + $n5)" test "${n4:-0}" -gt 0 -a "${n5:-0}" -gt 0

# 5. the resolver going away defers (and does not bounce); a domain not
# tried before, so that no open connection can take it
kill $(echo $PIDS | cut -d' ' -f1)
inject hal@nodns.test nodns
ok "no resolver: deferred" wait_for 150 sh -c "grep -q 'hal@nodns.test.*deferred' '$QHOME/log/qsend/current'"
ok "with an MX lookup failure as the reason" grep -q 'hal@nodns.test.*4.4.3 MX lookup for nodns.test failed' \
  "$QHOME/log/qsend/current"
is "$(maildir_count "$ALICE")" 4 "and no bounce for it"
