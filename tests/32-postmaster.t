#!/bin/sh
# RFC 5321 4.5.1: mail to a bare <Postmaster> reaches this host's
# postmaster, in any case, also when control/me is not one of the local
# domains (an ISP's mx1.isp with locals isp.example): it is delivered
# here, never relayed to the smarthost; so is postmaster@me, and the
# postmaster alias of a local domain. Another address at me is still
# not ours.
. "$(dirname "$0")/lib.sh"
plan 7

SINK_PID=
trap 'rc=$?; [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null; (exit $rc); t_cleanup' EXIT

SINK=$T_TMP/sink
SINK_PORT=$(free_port)
python3 "$T_ROOT/tests/smtpsink.py" "$SINK" "127.0.0.1:$SINK_PORT" >"$T_TMP/sink.out" 2>&1 &
SINK_PID=$!
wait_for 20 test -e "$SINK/ready" || bail "smtpsink did not start"

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
C=$QHOME/control
# me (test.example) is not a local domain here; everything else goes to a smarthost
echo isp.example >"$C/locals"
echo isp.example >"$C/rcpthosts"
echo ":127.0.0.1:$SINK_PORT" >"$C/smtproutes"
echo 'ann@isp.example:!' >>"$C/users"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
PM=$QHOME/mail/test.example/postmaster

# send RCPT...: one message by SMTP; prints the reply code of each RCPT
send() {
  python3 - "$PORT" "$@" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example")
s.mail("someone@else.example")
codes = [str(s.rcpt(r)[0]) for r in sys.argv[2:]]
print(" ".join(codes))
if "250" in codes:
    s.data(b"Subject: to the postmaster\r\n\r\nhello\r\n")
else:
    s.rset()
s.quit()
PY
}

is "$(send Postmaster)" 250 "a bare <Postmaster> is accepted"
ok "and delivered into the local postmaster's Maildir" wait_for 30 has_mail "$PM" 1
is "$(send postmaster POSTMASTER@TEST.EXAMPLE)" "250 250" "bare postmaster and postmaster@me, any case"
ok "delivered here, once: both name the same mailbox" wait_for 30 has_mail "$PM" 2
is "$(send postmaster@isp.example)" 250 "the postmaster of a local domain"
ok "reaches the same Maildir through its alias" wait_for 30 has_mail "$PM" 3
sleep 1
ok "nothing went to the smarthost" test ! -e "$SINK/log.jsonl"
