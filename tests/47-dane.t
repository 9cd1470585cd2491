#!/bin/sh
# DANE (RFC 7672) on the way out, in a DNSSEC lab on loopback: nsd serves
# the zone test. signed with ldns-signzone and an unsigned delegation
# unsigned.test.; unbound validates with the lab's key as trust anchor; the
# instance's control/resolvers names unbound and control/tlspolicy says
# "* dane". MX hosts are recording sinks on port 25 of their own addresses.
# Cases: a DANE-EE match delivers, a DANE-TA match too (its name checked);
# a TLSA mismatch, a DANE-TA chain for another name, a server without
# STARTTLS (under dane and under encrypt) and a tampered (bogus) TLSA record
# defer and send nothing; an insecure zone falls back to opportunistic TLS;
# dane-only refuses the insecure zone. openssl s_client -dane_tlsa_rrdata
# cross-checks the lab.
. "$(dirname "$0")/lib.sh"
plan 27

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (MX sinks on port 25)"; exit 0; }
PATH=$PATH:/usr/sbin
for c in nsd unbound ldns-keygen ldns-signzone drill; do
  command -v $c >/dev/null || { echo "1..0 # SKIP $c not installed (tools/deps.sh)"; exit 0; }
done
unset DNSCACHEIP

PIDS=
trap 'rc=$?; for p in $PIDS; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

NET=127.0.47
NS=$NET.53
NSPORT=$(free_port $NS)
RES=$NET.54
RESPORT=$(free_port $RES)
Z=$T_TMP/zones
mkdir -p "$Z"

# ---- certificates: the MX's key, and another key for the mismatch ----
(
  cd "$T_TMP" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout mx.key -out mx.pem -days 2 \
    -subj /CN=mx.dane.test >/dev/null 2>&1 &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 \
    -subj /CN=other >/dev/null 2>&1 &&
  # DANE-TA: a CA of the lab, and two servers' chains from it (one for
  # its MX name, one for another name)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj /CN=lab-ca >/dev/null 2>&1 &&
  for n in mx.ta.test mx.taname.test.wrong; do
    openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "/CN=$n" \
      >/dev/null 2>&1 &&
    printf 'subjectAltName=DNS:%s\n' "$n" >"$n.ext" &&
    openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$n.leaf" \
      -days 2 -extfile "$n.ext" >/dev/null 2>&1 &&
    cat "$n.leaf" ca.pem >"$n.pem" || exit 1
  done
) || bail "openssl failed"
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -hex | sed 's/.*= *//'; }
HASH=$(spki "$T_TMP/mx.pem")
OTHER=$(spki "$T_TMP/other.pem")
CAHASH=$(openssl x509 -in "$T_TMP/ca.pem" -outform DER | openssl dgst -sha256 -hex | sed 's/.*= *//')
[ ${#HASH} = 64 ] && [ ${#OTHER} = 64 ] && [ ${#CAHASH} = 64 ] || bail "no SPKI hash"

# ---- the zones ----
cat >"$Z/test.zone" <<EOF
\$ORIGIN test.
\$TTL 300
@ IN SOA ns.test. admin.test. 1 3600 600 86400 300
@ IN NS ns.test.
ns IN A $NS
ee IN MX 10 mx.ee.test.
mx.ee IN A $NET.2
_25._tcp.mx.ee IN TLSA 3 1 1 $HASH
mismatch IN MX 10 mx.mismatch.test.
mx.mismatch IN A $NET.3
_25._tcp.mx.mismatch IN TLSA 3 1 1 $OTHER
strip IN MX 10 mx.strip.test.
enc IN MX 10 mx.strip.test.
mx.strip IN A $NET.4
_25._tcp.mx.strip IN TLSA 3 1 1 $HASH
bogus IN MX 10 mx.bogus.test.
mx.bogus IN A $NET.5
_25._tcp.mx.bogus IN TLSA 3 1 1 $HASH
ta IN MX 10 mx.ta.test.
mx.ta IN A $NET.7
_25._tcp.mx.ta IN TLSA 2 0 1 $CAHASH
taname IN MX 10 mx.taname.test.
mx.taname IN A $NET.8
_25._tcp.mx.taname IN TLSA 2 0 1 $CAHASH
unsigned IN NS ns.test.
EOF
cat >"$Z/unsigned.zone" <<EOF
\$ORIGIN unsigned.test.
\$TTL 300
@ IN SOA ns.test. admin.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN MX 10 mx.unsigned.test.
mx IN A $NET.6
_25._tcp.mx IN TLSA 3 1 1 $OTHER
EOF
(
  cd "$Z" || exit 1
  ksk=$(ldns-keygen -a ECDSAP256SHA256 -k test.) &&
  zsk=$(ldns-keygen -a ECDSAP256SHA256 test.) &&
  ldns-signzone test.zone "$ksk" "$zsk" &&
  cp "$ksk.key" anchor.key
) >"$T_TMP/sign.out" 2>&1 || { cat "$T_TMP/sign.out" >&2; bail "signing failed"; }
# the bogus case: the TLSA record of mx.bogus changed after signing
sed -i "/^_25\._tcp\.mx\.bogus\.test\..*TLSA[[:blank:]]*3 1 1/s/$HASH/$OTHER/I" "$Z/test.zone.signed"
grep -qi "mx\.bogus\.test\..*TLSA.*$OTHER" "$Z/test.zone.signed" || bail "tampering failed"

# ---- nsd: the authority; unbound: the validating resolver ----
cat >"$T_TMP/nsd.conf" <<EOF
server:
  ip-address: $NS
  port: $NSPORT
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$Z"
  database: ""
  zonelistfile: "$T_TMP/zone.list"
  xfrdfile: "$T_TMP/xfrd.state"
  xfrdir: "$T_TMP"
  pidfile: "$T_TMP/nsd.pid"
  logfile: "$T_TMP/nsd.log"
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "test."
  zonefile: "test.zone.signed"
zone:
  name: "unsigned.test."
  zonefile: "unsigned.zone"
EOF
nsd -d -c "$T_TMP/nsd.conf" >"$T_TMP/nsd.out" 2>&1 &
PIDS="$PIDS $!"
cat >"$T_TMP/unbound.conf" <<EOF
server:
  interface: $RES
  port: $RESPORT
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$T_TMP"
  pidfile: ""
  use-syslog: no
  logfile: "$T_TMP/unbound.log"
  verbosity: 1
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  local-zone: "test." nodefault
  trust-anchor-file: "$Z/anchor.key"
  module-config: "validator iterator"
remote-control:
  control-enable: no
stub-zone:
  name: "test."
  stub-addr: $NS@$NSPORT
stub-zone:
  name: "unsigned.test."
  stub-addr: $NS@$NSPORT
EOF
unbound-checkconf "$T_TMP/unbound.conf" >"$T_TMP/checkconf.out" 2>&1 ||
  { cat "$T_TMP/checkconf.out" >&2; bail "unbound.conf refused"; }
unbound -d -c "$T_TMP/unbound.conf" >"$T_TMP/unbound.out" 2>&1 &
PIDS="$PIDS $!"

wait_for 20 sh -c "drill -p $NSPORT ee.test @$NS MX 2>&1 | grep -q 'rcode: NOERROR'" ||
  { cat "$T_TMP/nsd.out" "$T_TMP/nsd.log" >&2; bail "nsd did not answer"; }
wait_for 20 sh -c "drill -D -p $RESPORT ee.test @$RES MX 2>&1 | grep -q 'rcode: NOERROR'" ||
  { cat "$T_TMP/unbound.out" "$T_TMP/unbound.log" >&2; bail "unbound did not answer"; }

# the lab itself
ok "lab: the MX of ee.test is validated (AD)" sh -c "drill -D -p $RESPORT ee.test @$RES MX | grep -q 'flags:.* ad'"
ok "lab: its TLSA record is validated (AD)" \
  sh -c "drill -D -p $RESPORT _25._tcp.mx.ee.test @$RES TLSA | grep -q 'flags:.* ad'"
ok "lab: the tampered TLSA record is bogus (SERVFAIL)" \
  sh -c "drill -D -p $RESPORT _25._tcp.mx.bogus.test @$RES TLSA | grep -q 'rcode: SERVFAIL'"
ok "lab: the unsigned delegation is insecure (no AD)" \
  sh -c "r=\$(drill -D -p $RESPORT unsigned.test @$RES MX); echo \"\$r\" | grep -q 'rcode: NOERROR' && ! echo \"\$r\" | grep -q 'flags:.* ad'"

# ---- the MX hosts ----
sink() {
  name=$1; shift
  python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/$name" "$@" >"$T_TMP/$name.out" 2>&1 &
  PIDS="$PIDS $!"
}
sink ee "$NET.2:25" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink mismatch "$NET.3:25" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink strip "$NET.4:25"
sink bogus "$NET.5:25" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink unsigned "$NET.6:25" --tls "$T_TMP/mx.pem,$T_TMP/mx.key"
sink ta "$NET.7:25" --tls "$T_TMP/mx.ta.test.pem,$T_TMP/mx.ta.test.key"
sink taname "$NET.8:25" --tls "$T_TMP/mx.taname.test.wrong.pem,$T_TMP/mx.taname.test.wrong.key"
for s in ee mismatch strip bogus unsigned ta taname; do
  wait_for 20 test -e "$T_TMP/$s/ready" || bail "sink $s did not start"
done

# cross-check with OpenSSL's own DANE code
ok "openssl s_client: the lab's DANE-EE record matches the sink" \
  sh -c "echo QUIT | timeout 20 openssl s_client -connect $NET.2:25 -starttls smtp \
    -dane_tlsa_domain mx.ee.test -dane_ee_no_namechecks -dane_tlsa_rrdata '3 1 1 $HASH' 2>&1 | grep -q 'Verification: OK'"
ok "openssl s_client: the mismatching record does not" \
  sh -c "echo QUIT | timeout 20 openssl s_client -connect $NET.3:25 -starttls smtp \
    -dane_tlsa_domain mx.mismatch.test -dane_ee_no_namechecks -dane_tlsa_rrdata '3 1 1 $OTHER' 2>&1 |
    grep -q 'Verification error'"

# ---- the sending instance ----
inst_setup
echo 'alice@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
echo "$RES:$RESPORT" >"$QHOME/control/resolvers"
printf '%s\n' '# the lab: DANE everywhere, encrypt for enc.test' 'enc.test encrypt' '* dane' \
  >"$QHOME/control/tlspolicy"
inst_start
L=$QHOME/log/qsend/current
send() { printf 'From: alice@test.example\nSubject: %s\n\nhi\n' "$1" | qinject -f alice@test.example "$1"; }
in_sink() { grep -q "$2" "$T_TMP/$1/log.jsonl" 2>/dev/null; }
not_in_sink() { ! grep -q "$2" "$T_TMP/$1/log.jsonl" 2>/dev/null; }

# 1. DANE-EE match
send a@ee.test
ok "DANE-EE match: delivered" wait_for 30 in_sink ee a@ee.test
ok "over TLS" sh -c "grep -h a@ee.test '$T_TMP/ee/log.jsonl' | grep -q '\"tls\": true'"
ok "the log says tls=dane-ee verified" wait_for 10 grep -q \
  "rcpt a@ee.test tls TLSv1\.[23]/[A-Z0-9_-]*/dane-ee/.* result K: .*; tls=dane-ee verified TLSv1" "$L"

# 2. TLSA mismatch
send b@mismatch.test
ok "TLSA mismatch: deferred with 4.7.5" \
  wait_for 30 grep -q "b@mismatch.test deferred: 4.7.5 .*DANE verification failed" "$L"
ok "nothing went out" not_in_sink mismatch b@mismatch.test

# 3. STARTTLS stripped, under dane and under encrypt
send c@strip.test
ok "no STARTTLS under dane: deferred with 4.7.5" \
  wait_for 30 grep -q "c@strip.test deferred: 4.7.5 .*does not offer STARTTLS (tls policy dane)" "$L"
send d@enc.test
ok "no STARTTLS under encrypt: deferred with 4.7.10" \
  wait_for 30 grep -q "d@enc.test deferred: 4.7.10 .*does not offer STARTTLS (tls policy encrypt)" "$L"
ok "nothing went out in the clear" not_in_sink strip '@strip.test\|@enc.test'

# 4. bogus DNSSEC: the TLSA lookup of a secure host fails
send e@bogus.test
ok "bogus TLSA: deferred with 4.7.5" \
  wait_for 30 grep -q "e@bogus.test deferred: 4.7.5 .*TLSA lookup failed" "$L"
ok "nothing went out" not_in_sink bogus e@bogus.test

# 5. an insecure zone: opportunistic TLS, its TLSA record not used
send f@unsigned.test
ok "insecure zone: delivered" wait_for 30 in_sink unsigned f@unsigned.test
ok "over opportunistic TLS, unverified" \
  wait_for 10 grep -q "rcpt f@unsigned.test .*; tls=may TLSv1\.[23] unverified" "$L"

# 6. dane-only for the host of the insecure zone: refused
echo '[mx.unsigned.test] dane-only' >>"$QHOME/control/tlspolicy"
send g@unsigned.test
ok "dane-only, insecure zone: deferred with 4.7.5" \
  wait_for 30 grep -q "g@unsigned.test deferred: 4.7.5 .*no DNSSEC-valid TLSA records" "$L"
ok "nothing went out" not_in_sink unsigned g@unsigned.test

# 9. qstat shows the reason of a TLS policy deferral
ok "qstat shows the DANE deferral" sh -c "qstat '$QHOME' 2>&1 | grep -q '4.7.5 .*DANE verification failed'"
# 7. DANE-TA: the chain's CA matches, and the name is checked (RFC 7672 3.2)
send h@ta.test
ok "DANE-TA match: delivered" wait_for 30 in_sink ta h@ta.test
ok "the log says tls=dane-ta verified" \
  wait_for 10 grep -q "rcpt h@ta.test .*; tls=dane-ta verified TLSv1" "$L"
send i@taname.test
ok "DANE-TA, certificate for another name: deferred with 4.7.5" \
  wait_for 30 grep -q "i@taname.test deferred: 4.7.5 .*DANE verification failed" "$L"
ok "nothing went out" not_in_sink taname i@taname.test

# 8. the TLS-RPT counts (qtlsrpt(8) reads them)
ok "TLS-RPT counts: a DANE success, a validation failure, STARTTLS missing, DNSSEC bogus" \
  sh -c "cat '$QHOME'/sts/rpt/*/ee.test | grep -qx 'S tlsa mx.ee.test' &&
    cat '$QHOME'/sts/rpt/*/mismatch.test | grep -qx 'F tlsa validation-failure mx.mismatch.test' &&
    cat '$QHOME'/sts/rpt/*/strip.test | grep -qx 'F tlsa starttls-not-supported mx.strip.test' &&
    cat '$QHOME'/sts/rpt/*/bogus.test | grep -qx 'F tlsa dnssec-invalid mx.bogus.test'"
ok "qstats counts the TLS policy deferrals" \
  sh -c "qstats '$QHOME' | grep -q '^deferred by the outbound TLS policy .*: [1-9]'"
inst_stop
