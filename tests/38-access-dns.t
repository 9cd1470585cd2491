#!/bin/sh
# Access rules on client host names, on a real listener, with a real
# resolver (dnsmasq on a loopback address, DNSCACHEIP): qsmtpd's own
# forward-confirmed lookup lets a confirmed client relay (Connect:host.example
# RELAY) and puts its name into Received:, a PTR that its A record does not
# confirm unlocks nothing (nor does TCPREMOTEHOST), Connect:example.org REJECT
# refuses a subdomain; without host-name rules no query is sent at all; and
# a resolver that never answers costs one bounded wait, not the session, and
# a client whose address has a key of its own costs none.
. "$(dirname "$0")/lib.sh"
command -v dnsmasq >/dev/null || { echo "1..0 # SKIP dnsmasq not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (port 53 on loopback)"; exit 0; }
plan 27

. "$(dirname "$0")/smtp.sh"

DNS_PID=
HOLE_PID=
trap 'rc=$?; for p in $DNS_PID $HOLE_PID; do kill "$p" 2>/dev/null; done; (exit $rc); t_cleanup' EXIT

NET=127.0.38
DNSCACHEIP=$NET.53
export DNSCACHEIP
DNSLOG=$T_TMP/dnsmasq.log
# .2 good.host.example both ways; .3 claims good.host.example (whose A is
# .2); .4 claims a name that has no address; .5 mx.sub.example.org both ways;
# ::1 six.host.example both ways (PTR in ip6.arpa, AAAA)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --user=root \
  --listen-address=$DNSCACHEIP --bind-interfaces --port=53 \
  --local=/host.example/ --local=/example.org/ --local=/in-addr.arpa/ --local=/ip6.arpa/ \
  --host-record=good.host.example,$NET.2 \
  --ptr-record=3.38.0.127.in-addr.arpa,good.host.example \
  --ptr-record=4.38.0.127.in-addr.arpa,ghost.host.example \
  --host-record=mx.sub.example.org,$NET.5 --host-record=six.host.example,::1 \
  --log-queries --log-facility="$DNSLOG" >"$T_TMP/dnsmasq.out" 2>&1 &
DNS_PID=$!
wait_for 10 sh -c "ss -lunH | grep -q '$DNSCACHEIP:53 '" || bail "dnsmasq did not start"

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
C="$QHOME/control"
# smtp_raw sends each transcript in one write
touch "$C/relaxpipelining"
echo 'bob@test.example:!' >>"$C/users"
HOSTRULES='Connect:host.example	RELAY
Connect:example.org	REJECT'
printf '%s\n' "$HOSTRULES" >>"$C/access"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
IN="$T_TMP/in"
OUT="$T_TMP/out"
SLOG="$QHOME/log/smtp/current"

printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@far.example>\r\nQUIT\r\n' \
  >"$T_TMP/relay.in"
relay_try() { cp "$T_TMP/relay.in" "$IN"; smtp_raw $PORT "$IN" "$1" >"$OUT"; }
queries() { grep -c 'query\[' "$DNSLOG" 2>/dev/null; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# --- 1. host-name rules, answered lookups -------------------------------------
relay_try $NET.2
is_codes "220 250 250 250 221" "a confirmed name under Connect:host.example RELAY relays ($NET.2)"
ok "qsmtpd asked for the PTR and confirmed the name with an A query" sh -c \
  "grep -q 'query\[PTR\] 2.38.0.127.in-addr.arpa' '$DNSLOG' &&
   grep -q 'query\[A\] good.host.example' '$DNSLOG'"

printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\n' >"$IN"
printf 'DATA\r\nSubject: named\r\n\r\nx\r\n.\r\nQUIT\r\n' >>"$IN"
smtp_raw $PORT "$IN" $NET.2 >"$OUT"
is_codes "220 250 250 250 354 250 221" "a message from the confirmed client"
ok "its Received: names the confirmed host" wait_for 20 sh -c \
  "grep -qs 'Received: from c.example (good.host.example \[$NET.2\])' '$BOB'/new/*"

relay_try $NET.3
is_codes "220 250 250 554 221" "a PTR to that name that its A record does not confirm: no relay ($NET.3)"
relay_try $NET.4
is_codes "220 250 250 554 221" "a PTR to a name without an address: no relay ($NET.4)"

printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" $NET.5 >"$OUT"
is_codes "554 503 503 221" "Connect:example.org REJECT refuses mx.sub.example.org ($NET.5)"
ok "with the access text, and a reject line in the log" sh -c \
  "grep -q '^554 5.7.1 access denied' '$OUT' && grep -q 'reject ip=$NET.5 ' '$SLOG'"
relay_try 127.0.0.1
is_codes "220 250 250 554 221" "no PTR: no host name, no relay"
ok "answered lookups leave no warning" sh -c "! grep -q 'unable to look up' '$SLOG'"

# TCPREMOTEHOST (tcpserver -h, an unconfirmed PTR) unlocks nothing: qsmtpd
# run directly as its listener runs it, claiming the good name for .3
direct() {
  (cd "$QHOME" && env TCPREMOTEIP="$1" TCPREMOTEHOST="$2" QINJECT="$T_ROOT/bin/qinject" \
    s6-setuidgid qmta-smtpd qsmtpd <"$IN" >"$OUT" 2>>"$T_TMP/direct.err")
}
cp "$T_TMP/relay.in" "$IN"
direct $NET.3 good.host.example
is_codes "220 250 250 554 221" "TCPREMOTEHOST=good.host.example from $NET.3: no relay"
# IPv6: the loopback interface has only ::1, so qsmtpd is told the address
direct ::1 ""
is_codes "220 250 250 250 221" "an IPv6 client confirmed by PTR and AAAA relays (::1)"
direct ::ffff:$NET.2 ""
is_codes "220 250 250 250 221" "an IPv4 client on an IPv6 socket is looked up as IPv4"

# --- 2. no host-name rules: no DNS at all -------------------------------------
printf 'Connect:127.0.38.9\tREJECT\nFrom:host.example\tREJECT\nTo:example.org\tOK\n' >"$C/access"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
n0=$(queries)
relay_try $NET.2
is_codes "220 250 250 554 221" "without the host rule the same client does not relay"
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nQUIT\r\n' >"$IN"
smtp_raw $PORT "$IN" $NET.5 >"$OUT"
is_codes "220 250 250 221" "without the domain rule the subdomain is welcome"
is "$(queries)" "$n0" "From:/To: domain keys and IP keys: qsmtpd sent no DNS query"

# without a lookup of its own, TCPREMOTEHOST still names the client in Received:
printf 'EHLO c.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<bob@test.example>\r\n' >"$IN"
printf 'DATA\r\nSubject: tcpremotehost\r\n\r\nx\r\n.\r\nQUIT\r\n' >>"$IN"
direct $NET.3 named.by.tcpserver
is_codes "220 250 250 250 354 250 221" "a message through qsmtpd with TCPREMOTEHOST"
ok "Received: shows TCPREMOTEHOST when qsmtpd looked nothing up" wait_for 20 sh -c \
  "grep -qs 'Received: from c.example (named.by.tcpserver \[$NET.3\])' '$BOB'/new/*"
is "$(queries)" "$n0" "still no DNS query"

# --- 3. a resolver that never answers -----------------------------------------
kill "$DNS_PID" 2>/dev/null
wait "$DNS_PID" 2>/dev/null
DNS_PID=
python3 - "$DNSCACHEIP" "$T_TMP/hole" >"$T_TMP/hole.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
n = 0
open(sys.argv[2] + ".ready", "w").close()
while True:
    s.recv(4096)
    n += 1
    with open(sys.argv[2] + ".count", "w") as f:
        f.write(str(n))
PY
HOLE_PID=$!
wait_for 10 test -e "$T_TMP/hole.ready" || bail "the silent resolver did not start"
printf '%s\nConnect:127.0.38.7\tOK\n' "$HOSTRULES" >"$C/access"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
t0=$(ms)
relay_try $NET.7
t1=$(ms)
is_codes "220 250 250 554 221" "host-name rules, but a key for the address: it decides"
ok "without asking for the name ($((t1 - t0)) ms, nothing sent)" sh -c \
  "test $((t1 - t0)) -lt 2500 && test ! -e '$T_TMP/hole.count'"
t0=$(ms)
relay_try $NET.2
t1=$(ms)
is_codes "220 250 250 554 221" "no answer: no host name, no relay"
ok "the session waited for the lookup, but at most its deadline ($((t1 - t0)) ms)" \
  test $((t1 - t0)) -ge 3000 -a $((t1 - t0)) -le 10000
ok "and logged why the host-name rules were skipped" sh -c \
  "grep -q 'qsmtpd: warning: unable to look up the host name of $NET.2: ' '$SLOG' &&
   test \"\$(cat '$T_TMP/hole.count' 2>/dev/null)\" -ge 1"

# the same silent resolver, no host-name rules: no query, no wait
printf 'Connect:127.0.38.9\tREJECT\nFrom:host.example\tREJECT\n' >"$C/access"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
h0=$(cat "$T_TMP/hole.count")
t0=$(ms)
relay_try $NET.2
t1=$(ms)
is_codes "220 250 250 554 221" "no host-name rules: a session as usual"
ok "without waiting for the resolver ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2500
is "$(cat "$T_TMP/hole.count")" "$h0" "and without sending it anything"
