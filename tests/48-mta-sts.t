#!/bin/sh
# MTA-STS (RFC 8461) on the way out: a resolver (dnsmasq) with the
# domains' MX and _mta-sts TXT records, a small HTTPS server of ours
# with their policies (certificates by a test CA, trusted through
# SSL_CERT_FILE), and recording sinks on port 25. enforce with the right
# certificate delivers (verified); with a certificate for another name,
# or to an MX the policy does not list, it defers and sends nothing;
# testing delivers; the policy is fetched once and then taken from the
# cache in sts/, also after a restart with the policy server gone.
. "$(dirname "$0")/lib.sh"
plan 18

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (sinks on port 25, HTTPS on 443)"; exit 0; }
command -v dnsmasq >/dev/null || { echo "1..0 # SKIP dnsmasq not installed"; exit 0; }
unset DNSCACHEIP

PIDS=
trap 'rc=$?; for p in $PIDS; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

NET=127.0.48
DNS=$NET.53
DNSPORT=$(free_port $DNS)
WEB=$NET.80

# ---- a CA; the MX's certificate; one for another name; the policy host's ----
(
  cd "$T_TMP" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj /CN=sts-test-ca >/dev/null 2>&1 || exit 1
  leaf() {
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" \
      >/dev/null 2>&1 &&
    printf 'subjectAltName=%s\n' "$3" >"$1.ext" &&
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" \
      -days 2 -extfile "$1.ext" >/dev/null 2>&1
  }
  leaf mx mx.enf.test "DNS:mx.enf.test,DNS:mx.notlisted.test" &&
  leaf other other.test "DNS:other.test" &&
  leaf web mta-sts "DNS:mta-sts.enf.test,DNS:mta-sts.wrong.test,DNS:mta-sts.notlisted.test,DNS:mta-sts.testing.test"
) || bail "openssl failed"
chmod 644 "$T_TMP/ca.pem"

# ---- the policies and the HTTPS server (one request logged per line) ----
mkdir -p "$T_TMP/web"
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.enf.test\r\nmax_age: 86400\r\n' >"$T_TMP/web/mta-sts.enf.test"
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.wrong.test\r\nmax_age: 86400\r\n' >"$T_TMP/web/mta-sts.wrong.test"
printf 'version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 86400\r\n' >"$T_TMP/web/mta-sts.notlisted.test"
printf 'version: STSv1\r\nmode: testing\r\nmx: mx.testing.test\r\nmax_age: 86400\r\n' >"$T_TMP/web/mta-sts.testing.test"
cat >"$T_TMP/https.py" <<'EOF'
import http.server, os, ssl, sys
root, ip, cert, key, log = sys.argv[1:6]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with open(log, "a") as f:
            f.write("%s %s\n" % (host, self.path))
        p = os.path.join(root, host)
        if self.path != "/.well-known/mta-sts.txt" or "/" in host or not os.path.isfile(p):
            self.send_error(404)
            return
        body = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer((ip, 443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(os.path.join(root, "..", "web.ready"), "w").close()
s.serve_forever()
EOF
python3 "$T_TMP/https.py" "$T_TMP/web" $WEB "$T_TMP/web.pem" "$T_TMP/web.key" "$T_TMP/web.log" \
  >"$T_TMP/web.out" 2>&1 &
WEB_PID=$!
PIDS="$PIDS $WEB_PID"

# ---- DNS ----
set --
for d in enf wrong notlisted testing; do
  set -- "$@" --txt-record="_mta-sts.$d.test,v=STSv1; id=20261206" \
    --host-record="mta-sts.$d.test,$WEB"
done
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --user=root --pid-file= \
  --listen-address=$DNS --bind-interfaces --port=$DNSPORT --local=/test/ \
  --mx-host=enf.test,mx.enf.test,10 --host-record=mx.enf.test,$NET.2 \
  --mx-host=wrong.test,mx.wrong.test,10 --host-record=mx.wrong.test,$NET.3 \
  --mx-host=notlisted.test,mx.notlisted.test,10 --host-record=mx.notlisted.test,$NET.2 \
  --mx-host=testing.test,mx.testing.test,10 --host-record=mx.testing.test,$NET.3 \
  --txt-record="_smtp._tls.enf.test,v=TLSRPTv1; rua=mailto:tls-reports@test.example" \
  "$@" >"$T_TMP/dnsmasq.out" 2>&1 &
PIDS="$PIDS $!"

sink() {
  name=$1; shift
  python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/$name" "$@" >"$T_TMP/$name.out" 2>&1 &
  PIDS="$PIDS $!"
}
sink good "$NET.2:25" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink bad "$NET.3:25" --tls "$T_TMP/other.pem,$T_TMP/other.key"
for s in good bad; do wait_for 20 test -e "$T_TMP/$s/ready" || bail "sink $s did not start"; done
wait_for 20 test -e "$T_TMP/web.ready" || { cat "$T_TMP/web.out" >&2; bail "HTTPS server did not start"; }
wait_for 20 sh -c "ss -lunH | grep -q '$DNS:$DNSPORT '" || bail "dnsmasq did not start"

# ---- the instance: the test CA is the WebPKI here ----
SSL_CERT_FILE=$T_TMP/ca.pem
export SSL_CERT_FILE
inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
echo "$DNS:$DNSPORT" >"$QHOME/control/resolvers"
inst_start
L=$QHOME/log/qsend/current
send() { printf 'From: alice@test.example\nSubject: %s\n\nhi\n' "$1" | qinject -f alice@test.example "$1"; }
in_sink() { grep -q "$2" "$T_TMP/$1/log.jsonl" 2>/dev/null; }
not_in_sink() { ! grep -q "$2" "$T_TMP/$1/log.jsonl" 2>/dev/null; }
fetches() { grep -c "^mta-sts.$1 " "$T_TMP/web.log" 2>/dev/null; }

ok "sts/ belongs to qmta-remote" sh -c "[ \"\$(stat -c '%a %U' '$QHOME/sts')\" = '700 qmta-remote' ]"

# 1. enforce, the right certificate
send a@enf.test
ok "enforce: delivered" wait_for 30 in_sink good a@enf.test
ok "logged as sts enforce, verified" \
  wait_for 10 grep -q "rcpt a@enf.test .*; tls=sts enforce TLSv1\.[23] verified" "$L"
ok "the policy was fetched and cached" test -s "$QHOME/sts/enf.test"

# 2. enforce, a certificate for another name
send b@wrong.test
ok "enforce, wrong certificate name: deferred with 4.7.5" \
  wait_for 30 grep -q "b@wrong.test deferred: 4.7.5 .*TLS failed (tls policy sts enforce)" "$L"
ok "nothing went out" not_in_sink bad b@wrong.test

# 3. enforce, an MX the policy does not list
send c@notlisted.test
ok "enforce, MX not listed: deferred with 4.7.5" \
  wait_for 30 grep -q "c@notlisted.test deferred: 4.7.5 .*MX host not in the MTA-STS policy" "$L"
ok "nothing went out" not_in_sink good c@notlisted.test

# 4. testing: the same wrong certificate, delivered and reported
send d@testing.test
ok "testing: delivered" wait_for 30 in_sink bad d@testing.test
ok "logged as sts testing, unverified" \
  wait_for 10 grep -q "rcpt d@testing.test .*; tls=sts testing TLSv1\.[23] unverified" "$L"

# 5. the cache: a second message fetches nothing
send e@enf.test
ok "a second message: delivered" wait_for 30 in_sink good e@enf.test
is "$(fetches enf.test)" 1 "the policy was fetched once"

# 6. the TLS-RPT counts (per session: e@ went over a@'s connection), a report
ok "TLS-RPT counts: successes with the rua, failures with their result type" \
  sh -c "cat '$QHOME'/sts/rpt/*/enf.test | grep -qx 'R mailto:tls-reports@test.example' &&
    cat '$QHOME'/sts/rpt/*/enf.test | grep -qx 'S sts mx.enf.test' &&
    cat '$QHOME'/sts/rpt/*/wrong.test | grep -qx 'F sts validation-failure mx.wrong.test' &&
    cat '$QHOME'/sts/rpt/*/notlisted.test | grep -qx 'F sts validation-failure mx.notlisted.test' &&
    cat '$QHOME'/sts/rpt/*/testing.test | grep -qx 'S sts mx.testing.test'"
day=$(basename "$(dirname "$(ls "$QHOME"/sts/rpt/*/enf.test | head -n 1)")")
ok "qtlsrpt -n writes the day's reports" sh -c "qtlsrpt -n -d '$day' '$QHOME' &&
  gzip -dc '$QHOME/sts/rpt/$day/enf.test.json.gz' | grep -q '\"total-successful-session-count\": 1'"

# 6. after a restart, with the policy server gone: the cache still enforces
inst_stop
kill "$WEB_PID" 2>/dev/null
inst_start
send f@enf.test
ok "after a restart: delivered" wait_for 30 in_sink good f@enf.test
ok "still under sts enforce" \
  wait_for 10 grep -q "rcpt f@enf.test .*; tls=sts enforce TLSv1\.[23] verified" "$L"
send g@wrong.test
ok "and the wrong certificate still deferred" \
  wait_for 30 sh -c "grep 'g@wrong.test deferred: 4.7.5' '$L' | grep -q 'sts enforce'"
is "$(grep -c 'MTA-STS policy of enf.test fetched' "$L")" 1 "one fetch in all"
