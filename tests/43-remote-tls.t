#!/bin/sh
# STARTTLS and AUTH on the way out, through a whole instance: opportunistic
# TLS to a TLS sink, tls=verify with the sink's CA, a required-TLS route
# refusing a plaintext sink (and a certificate that does not verify), a
# smarthost with AUTH over TLS, and credentials refused when the file is
# readable by others.
. "$(dirname "$0")/lib.sh"
plan 14

command -v dnsmasq >/dev/null || { echo "1..0 # SKIP dnsmasq not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a resolver on port 53 of loopback)"; exit 0; }

PIDS=
trap 'rc=$?; for p in $PIDS; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

IP=127.0.43.2
TLSPORT=$(free_port $IP)
PLAINPORT=$(free_port $IP)
AUTHPORT=$(free_port $IP)

# a CA and a certificate for mx.tls.test signed by it
(
  cd "$T_TMP" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj /CN=test-ca >/dev/null 2>&1 &&
  openssl req -newkey rsa:2048 -nodes -keyout mx.key -out mx.csr -subj /CN=mx.tls.test \
    >/dev/null 2>&1 &&
  printf 'subjectAltName=DNS:mx.tls.test\n' >ext &&
  openssl x509 -req -in mx.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out mx.pem -days 2 \
    -extfile ext >/dev/null 2>&1
) || bail "openssl failed"
chmod 644 "$T_TMP/ca.pem"

# the routes name mx.tls.test (for SNI and the certificate check): a resolver knows it
DNSCACHEIP=127.0.43.53
export DNSCACHEIP
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --user=root \
  --listen-address=$DNSCACHEIP --bind-interfaces --port=53 --local=/test/ \
  --host-record=mx.tls.test,$IP >"$T_TMP/dnsmasq.out" 2>&1 &
PIDS="$PIDS $!"

sink() {
  name=$1; shift
  python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/$name" "$@" >"$T_TMP/$name.out" 2>&1 &
  PIDS="$PIDS $!"
}
sink tls "$IP:$TLSPORT" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink plain "$IP:$PLAINPORT"
sink auth "$IP:$AUTHPORT" --tls "$T_TMP/mx.pem,$T_TMP/mx.key" --auth 'relay-user:s3cret pass'
for s in tls plain auth; do wait_for 20 test -e "$T_TMP/$s/ready" || bail "sink $s did not start"; done

inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
printf 'relay-user\ns3cret pass\n' >"$QHOME/control/smarthost.auth"
chmod 600 "$QHOME/control/smarthost.auth"
[ "$(id -u)" != 0 ] || chown qmta-remote "$QHOME/control/smarthost.auth"
printf 'relay-user\ns3cret pass\n' >"$QHOME/control/open.auth"
chmod 644 "$QHOME/control/open.auth"
cat >"$QHOME/control/smtproutes" <<EOF
may.test:mx.tls.test:$TLSPORT
verify.test:mx.tls.test:$TLSPORT tls=verify ca=$T_TMP/ca.pem
noca.test:mx.tls.test:$TLSPORT tls=verify
required.test:mx.tls.test:$PLAINPORT tls=require
plain.test:mx.tls.test:$PLAINPORT
smart.test:mx.tls.test:$AUTHPORT auth=control/smarthost.auth tls=require
leaky.test:mx.tls.test:$AUTHPORT auth=control/open.auth
EOF
inst_start

send() { printf 'From: alice@test.example\nSubject: %s\n\nhi\n' "$1" | qinject -f alice@test.example "$1"; }
L=$QHOME/log/qsend/current

# 1. opportunistic STARTTLS
send a@may.test
ok "delivered to the TLS sink" wait_for 30 sh -c "grep -q a@may.test '$T_TMP/tls/log.jsonl'"
ok "over TLS" sh -c "grep -h a@may.test '$T_TMP/tls/log.jsonl' | grep -q '\"tls\": true'"
ok "the log says what was negotiated" grep -q "rcpt a@may.test tls TLSv1\.[23]/[A-Z0-9_-]*/unverified/mx.tls.test result K: mx.tls.test \[$IP\] said: 250" "$L"

# 2. tls=verify with the CA: verified; without it: deferred
send b@verify.test
ok "tls=verify with the CA: delivered" wait_for 30 sh -c "grep -q b@verify.test '$T_TMP/tls/log.jsonl'"
ok "and logged as verified" grep -q "rcpt b@verify.test.* tls TLSv1\.[23]/[A-Z0-9_-]*/verified/" "$L"
send c@noca.test
ok "tls=verify without the CA: deferred" wait_for 30 sh -c "grep -q 'c@noca.test deferred: 4.7.0 .*TLS failed' '$L'"

# 3. a required-TLS route to a plaintext sink
send d@required.test
ok "required TLS, server without STARTTLS: deferred" \
  wait_for 30 sh -c "grep -q 'd@required.test deferred: 4.7.10 .*does not offer STARTTLS' '$L'"
ok "nothing was sent in the clear" sh -c "! grep -q d@required.test '$T_TMP/plain/log.jsonl' 2>/dev/null"
send e@plain.test
ok "the same sink without tls=require: delivered in the clear" \
  wait_for 30 sh -c "grep -h e@plain.test '$T_TMP/plain/log.jsonl' | grep -q '\"tls\": false'"

# 4. smarthost AUTH
send f@smart.test
ok "smarthost: delivered" wait_for 30 sh -c "grep -q f@smart.test '$T_TMP/auth/log.jsonl'"
ok "after AUTH as relay-user, over TLS" sh -c "grep -h f@smart.test '$T_TMP/auth/log.jsonl' | \
  grep '\"auth\": \"relay-user\"' | grep -q '\"tls\": true'"
send g@leaky.test
ok "credentials readable by others: deferred" \
  wait_for 30 sh -c "grep -q 'g@leaky.test deferred: 4.3.0 .*credentials file others may read' '$L'"
ok "and not sent" sh -c "! grep -q g@leaky.test '$T_TMP/auth/log.jsonl'"
ok "no password in the logs" sh -c "! grep -rq 's3cret' '$QHOME/log'"
