#!/bin/sh
# A change to a control file counts for every program at once, with no
# signal: a domain added to control/locals is delivered here from the first
# message qsmtpd accepts for it (qsend routes it as qsmtpd saw it), and a
# route changed in control/smtproutes is taken by the next message, even
# while a qremote of the old route is still idle and connected.
. "$(dirname "$0")/lib.sh"
plan 7

IP=127.0.27.2
P1=$(free_port $IP)
P2=$(free_port $IP)
SINK=$T_TMP/sink
sink_start "$SINK" "$IP:$P1" "$IP:$P2"

PORT=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT
C=$QHOME/control
echo 'alice@test.example:!' >>"$C/users"
echo 'bob@new.test:!' >>"$C/users"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
# everything not local goes to the sink's first port
echo ":$IP:$P1" >"$C/smtproutes"
inst_start
LOG=$QHOME/log/qsend/current

# sink_has PORT ADDRESS: the sink took a message for ADDRESS on PORT
sink_has() { grep "\"$IP:$1\"" "$SINK/log.jsonl" 2>/dev/null | grep -q "\"$2\""; }
inject() { printf 'Subject: %s\n\nfor %s\n' "$1" "$1" | qinject -f alice@test.example "$1"; }
send() {
  swaks --server 127.0.0.1:$PORT --from alice@test.example --to "$1" \
    --header "Subject: $1" --body "for $1" >"$T_TMP/swaks.out" 2>&1
}

# 1. qsend has run for a while with the old locals: it has read them
inject x@new.test
ok "before: new.test is relayed" wait_for 30 sink_has "$P1" x@new.test

# 2. a domain added to locals: accepted and delivered here, no signal sent
echo new.test >>"$C/locals"
echo new.test >>"$C/rcpthosts"
ok "qsmtpd accepts mail for the new local domain" send bob@new.test
ok "it is delivered to the local mailbox" wait_for 30 has_mail "$QHOME/mail/new.test/bob"
ok "it is not relayed" sh -c "! grep -q '\"bob@new.test\"' '$SINK/log.jsonl'"
ok "qsend logged that it reread the control files" grep -q 'control files changed: reread' "$LOG"

# 3. a new route: the next message takes it, though a qremote connected to
#    the old one waits idle for more (qrspawn keeps it 5 s)
inject one@route.test
wait_for 30 sink_has "$P1" one@route.test || diag "one@route.test did not reach the old route"
echo "route.test:$IP:$P2" >"$C/smtproutes.new"
echo ":$IP:$P1" >>"$C/smtproutes.new"
mv "$C/smtproutes.new" "$C/smtproutes"
inject two@route.test
ok "the next message takes the new route" wait_for 30 sink_has "$P2" two@route.test
ok "and not the old one" sh -c "! grep '\"$IP:$P1\"' '$SINK/log.jsonl' | grep -q two@route.test"
