#!/bin/sh
# control/access with networks in CIDR form over real TCP: a /25 refused,
# a /26 inside it that may relay, a /30 inside that with its own reply,
# an IPv6 network; the most specific entry wins. qlisten's rules get the
# RELAY network as tcprules prefixes.
. "$(dirname "$0")/lib.sh"
plan 8

. "$(dirname "$0")/smtp.sh"

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
touch "$QHOME/control/relaxpipelining"
cat >>"$QHOME/control/access" <<'A'
Connect:127.0.38.0/25    REJECT
127.0.38.64/26           RELAY
127.0.38.68/30           ERROR:4.7.1:421 this /30 waits
127.0.38.0/23            OK
IPv6:2001:db8::/33       RELAY
A
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
IN=$T_TMP/in
printf 'EHLO client.example\r\nMAIL FROM:<a@else.example>\r\nRCPT TO:<x@else.example>\r\nQUIT\r\n' \
  >"$IN"

# replies SRCIP: the last line of each reply to a client from SRCIP
replies() { smtp_raw "$PORT" "$IN" "$1" | grep -E '^[0-9]{3} '; }

got=$(replies 127.0.38.5 | head -n 1)
case "$got" in 554\ 5.7.1*) pass "a client in the /25 is refused";;
  *) fail "a client in the /25 is refused"; diag "$got";; esac
got=$(replies 127.0.38.80 | sed -n 4p)
case "$got" in 250*) pass "a client in the /26 inside it may relay";;
  *) fail "a client in the /26 inside it may relay"; diag "$got";; esac
got=$(replies 127.0.38.69 | head -n 1)
is "$got" "421 4.7.1 this /30 waits" "a client in the /30 inside that gets its reply"
got=$(replies 127.0.38.130 | sed -n 4p)
case "$got" in 554\ 5.7.1*) pass "a client in the /23 outside the /25 is accepted, not a relay";;
  *) fail "a client in the /23 outside the /25 is accepted, not a relay"; diag "$got";; esac
got=$(replies 127.0.39.1 | head -n 1)
case "$got" in 220*) pass "the /23's second half: greeted";;
  *) fail "the /23's second half: greeted"; diag "$got";; esac
ok "qsmtpd logged the refusal" grep -q 'ip=127.0.38.5' "$QHOME/log/smtp/current"

# qlisten's rules: the /26 as the prefixes tcprules would write
ok "tcp.smtp.cdb: the /26 as a full-address prefix" \
  sh -c "cdb -q '$QHOME/control/tcp.smtp.cdb' 127.0.38.64 >/dev/null && \
    cdb -q '$QHOME/control/tcp.smtp.cdb' 127.0.38.127 >/dev/null && \
    ! cdb -q '$QHOME/control/tcp.smtp.cdb' 127.0.38.128 >/dev/null"
ok "qnewmaps refuses a network with bits past its length" \
  sh -c "echo '10.1.2.0/16 OK' >>'$QHOME/control/access'; \
    ! qnewmaps '$QHOME' 2>'$T_TMP/err' && grep -q 'bits set past the prefix length' '$T_TMP/err'"
