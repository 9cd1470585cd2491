#!/bin/sh
# qsetup --send-only: one SMTP listener on loopback, no local domains, the
# local host relays (from control/access, through qlisten's rules), and
# everything goes out, local-looking addresses included; other clients
# are refused.
. "$(dirname "$0")/lib.sh"

plan 11

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

PORT=$(free_port)
qsetup "$QHOME" --me so.example --send-only --smtp 127.0.0.1:$PORT >"$T_TMP/qsetup.out" 2>&1 ||
  { cat "$T_TMP/qsetup.out" >&2; bail "qsetup --send-only failed"; }

ok "no local domains" sh -c "! grep -q '[a-z]' '$QHOME/control/locals' && ! grep -q '[a-z]' '$QHOME/control/rcpthosts'"
is "$(ls "$QHOME/service" | tr '\n' ' ')" "dkimsign qsend smtp tlsd " "only qsend, the DKIM signer, one SMTP listener and its TLS service"

HAVE_REMOTE=
if [ -x "$T_ROOT/bin/qrspawn" ] && [ -x "$T_ROOT/bin/qremote" ]; then
  HAVE_REMOTE=1
  SINK=$(free_port)
  mkdir "$T_TMP/sink"
  python3 "$T_ROOT/tests/smtpsink.py" "$T_TMP/sink" 127.0.0.1:$SINK >"$T_TMP/sink.out" 2>&1 &
  SINK_PID=$!
  wait_for 10 test -e "$T_TMP/sink/ready" || bail "smtpsink did not start"
  echo ":127.0.0.1:$SINK" > "$QHOME/control/smtproutes"
fi

inst_start
ok "the listener is bound to loopback only" sh -c "ss -ltnH | grep -q '127.0.0.1:$PORT '"

# rcpt PORT ADDRESS [SRCIP]: the reply code to RCPT from SRCIP (127.0.0.1)
rcpt() {
  python3 -c 'import smtplib,sys
s=smtplib.SMTP("127.0.0.1",int(sys.argv[1]),timeout=20,
               source_address=(sys.argv[3],0))
s.ehlo("client.example")
s.mail("cron@so.example")
print(s.rcpt(sys.argv[2])[0])
s.quit()' "$1" "$2" "${3:-127.0.0.1}" 2>/dev/null
}
send() {
  python3 -c 'import smtplib,sys
s=smtplib.SMTP("127.0.0.1",int(sys.argv[1]),timeout=20)
s.sendmail("cron@so.example",sys.argv[2:],b"Subject: from cron\r\n\r\nreport\r\n")
s.quit()' "$@" 2>/dev/null
}

is "$(rcpt $PORT someone@example.com)" 250 "the local host may relay"
# Any other client (here 127.0.0.2, standing for a remote one) may neither
# relay nor deliver to the host's own name: there is nothing local.
for a in someone@example.com root@so.example; do
  case $(rcpt $PORT $a 127.0.0.2) in
    5*) pass "another client is refused for $a" ;;
    *) fail "another client is refused for $a" ;;
  esac
done
ok "a message for the world is accepted" send $PORT someone@example.com root@so.example
if [ -n "$HAVE_REMOTE" ]; then
  ok "it goes out" wait_for 30 sh -c "grep -q someone@example.com '$T_TMP/sink/log.jsonl'"
  ok "even for the host's own name (no local delivery)" \
    wait_for 30 sh -c "grep -q root@so.example '$T_TMP/sink/log.jsonl'"
else
  pass "# SKIP no qrspawn/qremote"
  pass "# SKIP no qrspawn/qremote"
fi

# The permission comes from control/access: without the RELAY line, no relaying.
sed -i '/RELAY/d' "$QHOME/control/access"
ok "qnewmaps" qnewmaps "$QHOME"
case $(rcpt $PORT someone@example.com) in
  5*) pass "without RELAY in control/access the local host may not relay" ;;
  *) fail "without RELAY in control/access the local host may not relay" ;;
esac
