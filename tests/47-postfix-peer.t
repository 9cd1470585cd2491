#!/bin/sh
# qmta against a real Postfix on both sides of the wire. A private Postfix
# instance (postfix -c on a scratch directory: its own main.cf, master.cf,
# queue and log; the system's Postfix and its configuration are never
# touched) listens on 127.0.0.2 as the MX of peer.test, which
# control/smtproutes routes to; its mail for test.example goes back to the
# instance's qsmtpd. Checked: plain delivery with one and many recipients
# (one transaction), a 10 MB message, 998-octet and dot-leading lines,
# 8-bit mail and SMTPUTF8 with smtputf8_enable=yes and =no, the DSN
# parameters as Postfix's queue file holds them (postcat), size limits
# (advertised: qmta refuses to send; not advertised: Postfix's 552 after
# the data; a 552 5.3.4 at MAIL and at RCPT) bounced and never retried, a
# 450 at RCPT then delivered once on the backoff, STARTTLS (the Received
# line says TLS; a handshake that fails is retried in the clear under
# tls=may), Postfix's own bounces and success DSNs in the sender's
# Maildir, qmta's bounce to a sender at Postfix, Postfix relaying to
# qsmtpd over STARTTLS with pipelining (10 MB, SMTPUTF8) byte for byte,
# and a Postfix that forbids unauthorised pipelining and bare newlines
# finding nothing to complain about. (Postfix's SMTP client never sends
# BDAT, so CHUNKING into qsmtpd is not exercised here.)
# Skipped when Postfix is not installed or the test does not run as root
# (Postfix's master starts as root).
. "$(dirname "$0")/lib.sh"

PATH="$PATH:/usr/sbin:/sbin"
for cmd in postfix postconf postcat; do
  command -v $cmd >/dev/null || { echo "1..0 # SKIP Postfix is not installed"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (Postfix's master)"; exit 0; }
plan 61

PF=$T_TMP/pf            # config_directory of the private Postfix
PFQ=$T_TMP/pfqueue      # its queue_directory
PFD=$T_TMP/pfdata       # its data_directory
PFLOG=$T_TMP/pf.log     # its log (maillog_file)
PFMAIL=$T_TMP/pfmail    # virtual_mailbox_base: PFMAIL/peer.test/USER/ are Maildirs
PFIP=127.0.0.2
PF_STARTED=
PF_MASTER=

# The PIDs of the processes whose working directory is the instance's
# queue directory: every Postfix daemon of it chdirs there.
pf_procs() {
  python3 - "$PFQ" <<'PY'
import os, sys
q = os.path.realpath(sys.argv[1])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.path.realpath("/proc/%s/cwd" % pid) == q:
            print(pid)
    except OSError:
        pass
PY
}
pf_gone() { [ -z "$(pf_procs)" ]; }
pf_stop() {
  [ -n "$PF_STARTED" ] || return 0
  PF_STARTED=
  [ -n "$PF_MASTER" ] || PF_MASTER=$(tr -dc 0-9 <"$PFQ/pid/master.pid" 2>/dev/null)
  postfix -c "$PF" stop >/dev/null 2>&1
  if [ -n "$PF_MASTER" ]; then
    wait_for 10 sh -c "! kill -0 $PF_MASTER" || kill -9 "$PF_MASTER" 2>/dev/null
  fi
  # the daemons leave when master's status pipe closes; then the rest, by PID
  wait_for 5 pf_gone
  for p in $(pf_procs); do kill -9 "$p" 2>/dev/null; done
}
trap 'rc=$?; pf_stop; (exit $rc); t_cleanup' EXIT

QPORT=$(free_port)
PFPORT=$(free_port $PFIP)
inst_setup --smtp 127.0.0.1:$QPORT
echo 'alice@test.example:!' >>"$QHOME/control/users"
echo 'bob@test.example:!' >>"$QHOME/control/users"
printf '127.0.0.1\tRELAY\n' >>"$QHOME/control/access"
echo 20000000 >"$QHOME/control/databytes"
qnewmaps "$QHOME" || bail "qnewmaps failed"
echo "peer.test:[$PFIP]:$PFPORT" >"$QHOME/control/smtproutes"
# retries after 6 s: longer than qrspawn keeps an idle connection (5 s), so
# that a retry meets the smtpd that Postfix started after a reload
echo 6 >"$QHOME/control/backoffmin"
echo 6 >"$QHOME/control/backoffmax"

# ---- the private Postfix ----------------------------------------------------
NOBODY_UID=$(id -u nobody) && NOBODY_GID=$(id -g nobody) || bail "no nobody account"
mkdir -p "$PF" "$PFQ" "$PFD" "$PFMAIL" || bail "mkdir failed"
chown postfix "$PFD" 2>/dev/null || bail "no postfix account"
chown "$NOBODY_UID:$NOBODY_GID" "$PFMAIL"
USERS="bob carol dave erin big long eight utf dsn held size later gone tls tls2 tls3"
for u in $USERS; do echo "$u@peer.test peer.test/$u/"; done >"$PF/vmailbox"
printf '\303\274ser@peer.test peer.test/utf/\n' >>"$PF/vmailbox"
printf 'test.example smtp:[127.0.0.1]:%s\ngone@peer.test error:5.1.1 gone away\n' "$QPORT" \
  >"$PF/transport"
printf 'held@peer.test HOLD\nret@peer.test HOLD\nlater@peer.test 450 4.2.0 try again later\n' \
  >"$PF/rcpt_access"
(
  cd "$T_TMP" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout pf.key -out pf.pem -days 2 \
    -subj /CN=mx.peer.test >/dev/null 2>&1 &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 \
    -subj /CN=other >/dev/null 2>&1
) || bail "openssl failed"

# pf_config [NAME=VALUE...]: main.cf with these settings added last (a later line wins).
pf_config() {
  cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PFQ
data_directory = $PFD
maillog_file = $PFLOG
maillog_file_prefixes = $T_TMP
myhostname = mx.peer.test
mydomain = peer.test
myorigin = peer.test
mydestination =
inet_interfaces = 127.0.0.1
local_header_rewrite_clients =
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$PF/rcpt_access,
  permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = peer.test
virtual_mailbox_base = $PFMAIL
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_uid_maps = static:$NOBODY_UID
virtual_gid_maps = static:$NOBODY_GID
transport_maps = texthash:$PF/transport
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:no local delivery here
default_transport = error:no other destination here
relay_transport = error:no relay here
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtpd_reject_unlisted_recipient = no
smtpd_forbid_unauth_pipelining = yes
smtpd_forbid_bare_newline = yes
smtpd_forbid_bare_newline_exclusions =
message_size_limit = 20000000
smtputf8_enable = yes
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T_TMP/pf.pem
smtpd_tls_key_file = $T_TMP/pf.key
smtpd_tls_received_header = yes
smtp_tls_security_level = encrypt
smtp_tls_loglevel = 1
smtpd_tls_loglevel = 1
delay_warning_time = 0
bounce_queue_lifetime = 1h
biff = no
EOF
  for kv in "$@"; do echo "$kv" | sed "s/=/ = /"; done >>"$PF/main.cf"
}
cat >"$PF/master.cf" <<EOF
$PFIP:$PFPORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
EOF
pf_config
postfix -c "$PF" check >"$T_TMP/pfcheck.out" 2>&1 ||
  { sed 's/^/# /' "$T_TMP/pfcheck.out"; bail "postfix check failed"; }
PF_STARTED=1
postfix -c "$PF" start >"$T_TMP/pfstart.out" 2>&1 ||
  { sed 's/^/# /' "$T_TMP/pfstart.out"; bail "postfix start failed"; }
PF_MASTER=$(tr -dc 0-9 <"$PFQ/pid/master.pid" 2>/dev/null)
[ -n "$PF_MASTER" ] || bail "no master.pid"
# greets: the smtpd answers on its port
pf_greets() {
  python3 -c 'import socket,sys
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=5)
ok=s.recv(512).startswith(b"220"); s.sendall(b"QUIT\r\n"); s.close(); sys.exit(0 if ok else 1)' \
    "$PFIP" "$PFPORT"
}
wait_for 20 pf_greets || { tail -20 "$PFLOG" | sed 's/^/# /'; bail "Postfix does not answer"; }

# pf_reload [NAME=VALUE...]: a new main.cf, and the daemons start again with
# it. A session open before keeps its smtpd and the old settings: a new
# control/smtproutes (another inode) makes qrspawn close its idle qremotes.
pf_reload() {
  pf_config "$@"
  postfix -c "$PF" reload >/dev/null 2>&1 || bail "postfix reload failed"
  sleep 1
  wait_for 20 pf_greets || bail "Postfix does not answer after reload"
  cp "$QHOME/control/smtproutes" "$QHOME/control/smtproutes.new" &&
    mv "$QHOME/control/smtproutes.new" "$QHOME/control/smtproutes" || bail "smtproutes"
}

inst_start

L=$QHOME/log/qsend/current
ALICE=$QHOME/mail/test.example/alice
md() { echo "$PFMAIL/peer.test/$1"; }
# tail_is FILE ORIG: FILE ends with the bytes of ORIG (what Postfix adds is on top).
tail_is() { tail -c "$(wc -c <"$2")" "$1" | cmp -s - "$2"; }
onefile() { find "$1/new" "$1/cur" -type f 2>/dev/null | head -1; }

# message NAME SUBJECT [BODY...]: a message file T_TMP/NAME.
message() {
  n=$1; s=$2; shift 2
  { printf 'From: alice@test.example\nTo: someone@peer.test\nSubject: %s\n' "$s"
    printf 'Date: Mon, 7 Dec 2026 03:00:00 +0000\nMessage-ID: <%s@test.example>\n\n' "$n"
    for l in "$@"; do printf '%s\n' "$l"; done; } >"$T_TMP/$n"
}

# 1. one recipient; then four in one transaction (pipelined)
message plain "plain one" "hello bob"
qinject -f alice@test.example bob@peer.test <"$T_TMP/plain"
ok "one recipient: in bob's Maildir at Postfix" wait_for 30 has_mail "$(md bob)"
ok "byte for byte" tail_is "$(onefile "$(md bob)")" "$T_TMP/plain"
message many "plain many" "hello all"
qinject -f alice@test.example carol@peer.test dave@peer.test erin@peer.test tls@peer.test \
  <"$T_TMP/many"
ok "four recipients: delivered" wait_for 30 has_mail "$(md erin)"
each_has_mail() { for u in "$@"; do has_mail "$(md "$u")" || return 1; done; }
ok "to each" each_has_mail carol dave erin tls
ok "in one transaction" grep -q "from=<alice@test.example>, size=[0-9]*, nrcpt=4 " "$PFLOG"
ok "over STARTTLS (tls=may): Postfix's Received line says TLS" \
  grep -q "^	(using TLSv1\.[23] with cipher" "$(onefile "$(md bob)")"

# 2. a 10 MB message; 998-octet lines and lines that start with a dot
python3 -c 'import sys
line = b"0123456789" * 7 + b"abcdef\n"
sys.stdout.buffer.write(b"From: alice@test.example\nTo: big@peer.test\nSubject: big\n"
  b"Date: Mon, 7 Dec 2026 03:00:00 +0000\nMessage-ID: <big@test.example>\n\n"
  + line * (10 * 1024 * 1024 // len(line)))' >"$T_TMP/big"
qinject -f alice@test.example big@peer.test <"$T_TMP/big"
X998=$(python3 -c 'print("x" * 998)')
message long "long lines" "$X998" ".leading dot" "." ".." "...three" "$X998" "." "end"
qinject -f alice@test.example long@peer.test <"$T_TMP/long"
ok "998-octet and dot lines: delivered" wait_for 30 has_mail "$(md long)"
ok "byte for byte (no line broken, every dot unstuffed)" \
  tail_is "$(onefile "$(md long)")" "$T_TMP/long"
ok "10 MB: delivered" wait_for 60 has_mail "$(md big)"
ok "byte for byte" tail_is "$(onefile "$(md big)")" "$T_TMP/big"

# 3. 8-bit body; an SMTPUTF8 recipient
message eight "8-bit" "$(printf 'caf\303\251 \342\202\254 \377\376 latin-1 and more')"
qinject -f alice@test.example eight@peer.test <"$T_TMP/eight"
ok "8-bit: delivered" wait_for 30 has_mail "$(md eight)"
ok "byte for byte" tail_is "$(onefile "$(md eight)")" "$T_TMP/eight"
message utf "utf8 address" "to an internationalised address"
qinject -f alice@test.example "$(printf '\303\274ser@peer.test')" <"$T_TMP/utf"
ok "SMTPUTF8 recipient: delivered" wait_for 30 has_mail "$(md utf)"
ok "Postfix received it with SMTPUTF8" grep -q "with UTF8SMTP" "$(onefile "$(md utf)")"

# 4. DSN parameters: a held message, read with postcat
python3 - "$QPORT" <<'PY' || fail "submit with DSN parameters"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.test")
s.sendmail("alice@test.example", ["held@peer.test"],
           b"From: alice@test.example\r\nSubject: dsn\r\n\r\nhold me\r\n",
           mail_options=["RET=HDRS", "ENVID=qmta+2Benv-1"],
           rcpt_options=["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;orig+2Brcpt@peer.test"])
s.quit()
PY
held() { find "$PFQ/hold" -type f 2>/dev/null | head -1; }
ok "the DSN message is held at Postfix" wait_for 30 sh -c "[ -n \"\$(find '$PFQ/hold' -type f)\" ]"
postcat -c "$PF" -e "$(held)" >"$T_TMP/postcat" 2>&1
ok "postcat: ENVID" grep -qx "named_attribute: envelope_id=qmta+env-1" "$T_TMP/postcat"
ok "postcat: RET=HDRS" grep -qx "named_attribute: ret_flags=2" "$T_TMP/postcat"
ok "postcat: ORCPT" \
  grep -qx "named_attribute: dsn_orig_rcpt=rfc822;orig+rcpt@peer.test" "$T_TMP/postcat"
ok "postcat: NOTIFY=SUCCESS,DELAY" grep -qx "named_attribute: notify_flags=10" "$T_TMP/postcat"

# 5. Postfix's own reports to a qmta user: a bounce, a success DSN
newest() { ls -t "$1"/new/* 2>/dev/null | head -1; }
message gone "to be bounced by Postfix" "nobody home"
qinject -f alice@test.example gone@peer.test <"$T_TMP/gone"
ok "Postfix's bounce is in alice's Maildir" wait_for 30 has_mail "$ALICE" 1
f=$(newest "$ALICE")
ok "a report from Postfix: failed, 5.1.1" sh -c "grep -q '^Reporting-MTA: dns; mx.peer.test' '$f' &&
  grep -q '^Final-Recipient: rfc822; gone@peer.test' '$f' && grep -q '^Status: 5.1.1' '$f'"
printf 'From: alice@test.example\nSubject: report success\n\nhi\n' |
  sendmail -N success -f alice@test.example dsn@peer.test
ok "Postfix's success DSN is in alice's Maildir" wait_for 30 has_mail "$ALICE" 2
f=$(newest "$ALICE")
ok "a report from Postfix: delivered" \
  sh -c "grep -q '^Final-Recipient: rfc822; dsn@peer.test' '$f' &&
  grep -q '^Action: delivered' '$f'"
is "$(maildir_count "$ALICE")" 2 "Postfix offers DSN: no relayed report from qmta besides"
# no_null_remote: no message of qmta's from <> went out to another host
no_null_remote() {
  awk '/ qsend: new .* from <> / { null[$5] = 1 }
       / qsend: start .* remote / { split($5, id, "."); if (id[1] in null) found = 1 }
       END { exit found ? 1 : 0 }' "$L"
}
ok "no loop: qmta sent no report back" no_null_remote

# 6. the other way: Postfix relays to qsmtpd (STARTTLS required, pipelining)
{ printf 'From: carol@peer.test\nTo: alice@test.example\nSubject: relayed by Postfix\n'
  printf 'Message-ID: <in@peer.test>\nDate: Mon, 7 Dec 2026 03:00:00 +0000\n\n'
  printf '.dot line\n..\ncaf\303\251\n%s\nend\n' "$X998"; } >"$T_TMP/in"
python3 - "$PFIP" "$PFPORT" "$T_TMP/in" <<'PY' || fail "submit to Postfix"
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30)
s.ehlo("client.test")
s.sendmail("carol@peer.test", ["alice@test.example"],
           open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n"),
           mail_options=["BODY=8BITMIME"])
s.quit()
PY
ok "Postfix relayed it to qsmtpd" wait_for 30 has_mail "$ALICE" 3
ok "byte for byte in alice's Maildir" tail_is "$(newest "$ALICE")" "$T_TMP/in"
ok "over TLS, as Postfix logs" \
  grep -q "TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$QPORT" "$PFLOG"
ok "qsmtpd's Received line says TLS" grep -q "^	by test.example (qmta qsmtpd) with ESMTPS (TLSv1" \
  "$(newest "$ALICE")"

# a 10 MB message from an internationalised sender the same way (SMTPUTF8)
BOB=$QHOME/mail/test.example/bob
sed 's/^From: alice@test.example$/From: carol@peer.test/' "$T_TMP/big" >"$T_TMP/bigin"
python3 - "$PFIP" "$PFPORT" "$T_TMP/bigin" <<'PY' || fail "submit 10 MB to Postfix"
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=60)
s.ehlo("client.test")
s.sendmail("c\u00e4rol@peer.test", ["bob@test.example"],
           open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n"), mail_options=["SMTPUTF8"])
s.quit()
PY
ok "Postfix relayed 10 MB with SMTPUTF8 to qsmtpd" wait_for 60 has_mail "$BOB"
ok "byte for byte in bob's Maildir" tail_is "$(newest "$BOB")" "$T_TMP/bigin"
ok "from the UTF-8 sender" grep -q "^Return-Path: <c$(printf '\303\244')rol@peer.test>" "$(newest "$BOB")"

# 7. a 450 at RCPT, then 250: retried on the backoff, delivered once
message later "later" "try again"
qinject -f alice@test.example later@peer.test <"$T_TMP/later"
ok "450 at RCPT: deferred" wait_for 30 grep -q "later@peer.test deferred: .*450 4.2.0" "$L"
printf 'held@peer.test HOLD\n' >"$PF/rcpt_access"
pf_reload
ok "then delivered on the backoff" wait_for 30 has_mail "$(md later)"
sleep 3
is "$(maildir_count "$(md later)")" 1 "once"

# 8. size limits: advertised (qmta does not send), and not (Postfix's 552 after the data)
python3 -c 'import sys
sys.stdout.write("From: alice@test.example\nSubject: too big\n\n" + ("y" * 76 + "\n") * 3000)' \
  >"$T_TMP/size"
pf_reload message_size_limit=100000
qinject -f alice@test.example size@peer.test <"$T_TMP/size"
ok "SIZE 100000 advertised: a bounce for alice" wait_for 30 has_mail "$ALICE" 4
f=$(newest "$ALICE")
ok "5.3.4" grep -q "^Status: 5.3.4" "$f"
pf_reload message_size_limit=100000 smtpd_discard_ehlo_keywords=size
qinject -f alice@test.example size@peer.test <"$T_TMP/size"
ok "SIZE not advertised: a bounce for alice" wait_for 30 has_mail "$ALICE" 5
f=$(newest "$ALICE")
ok "with Postfix's 552" grep -q "^Diagnostic-Code: smtp; 552 5.3.4" "$f"
printf 'alice@test.example 552 5.3.4 Message size exceeds fixed limit\n' >"$PF/sender_access"
pf_reload "smtpd_sender_restrictions=check_sender_access texthash:$PF/sender_access" \
  smtpd_delay_reject=no
message mail552 "552 at MAIL" "refused at MAIL"
qinject -f alice@test.example size@peer.test <"$T_TMP/mail552"
ok "552 at MAIL: a bounce for alice" wait_for 30 has_mail "$ALICE" 6
f=$(newest "$ALICE")
ok "with Postfix's 552" grep -q "^Diagnostic-Code: smtp; 552 5.3.4 .*alice@test.example" "$f"
printf 'held@peer.test HOLD\ntoobig@peer.test 552 5.3.4 Message size exceeds fixed limit\n' \
  >"$PF/rcpt_access"
pf_reload
message rcpt552 "552 at RCPT" "refused at RCPT"
qinject -f alice@test.example toobig@peer.test <"$T_TMP/rcpt552"
ok "552 5.3.4 at RCPT: a bounce for alice, not a 452" wait_for 30 has_mail "$ALICE" 7
f=$(newest "$ALICE")
ok "with Postfix's 552" grep -q "^Diagnostic-Code: smtp; 552 5.3.4 <toobig@peer.test>" "$f"
ok "no size refusal was retried" \
  sh -c "! grep -q 'size@peer.test deferred\|toobig@peer.test deferred' '$L'"

# 9. SMTPUTF8 to a Postfix with smtputf8_enable=no: bounced (5.6.7), never downgraded
pf_reload smtputf8_enable=no
qinject -f alice@test.example "$(printf '\303\274ser@peer.test')" <"$T_TMP/utf"
ok "smtputf8_enable=no: a bounce for alice" wait_for 30 has_mail "$ALICE" 8
ok "5.6.7" grep -q "^Status: 5.6.7" "$(newest "$ALICE")"

# 10. STARTTLS required by Postfix; then a Postfix whose TLS handshake fails
# (protocol versions qtls-client does not accept: with a key that does not
# match its certificate, Postfix would not offer STARTTLS at all)
pf_reload smtpd_tls_security_level=encrypt
message tls2 "tls encrypt" "over TLS"
qinject -f alice@test.example tls2@peer.test <"$T_TMP/tls2"
ok "smtpd_tls_security_level=encrypt: delivered" wait_for 30 has_mail "$(md tls2)"
ok "over TLS" grep -q "^	(using TLSv1\.[23] with cipher" "$(onefile "$(md tls2)")"
pf_reload "smtpd_tls_protocols=!SSLv2, !SSLv3, !TLSv1.2, !TLSv1.3"
message tls3 "tls broken" "after a failed handshake"
qinject -f alice@test.example tls3@peer.test <"$T_TMP/tls3"
ok "a failed handshake under tls=may: delivered" wait_for 30 has_mail "$(md tls3)"
ok "in the clear, on a second connection" grep -q "^	by mx.peer.test (Postfix) with ESMTP id" \
  "$(onefile "$(md tls3)")"
ok "after Postfix's failed handshake" grep -q "SSL_accept error from" "$PFLOG"
ok "the log says so" grep -q "rcpt tls3@peer.test .*result P: .*; tls=may failed" "$L"
ok "a route to an address literal names it once" \
  sh -c "grep -q '\[$PFIP\] said: 250' '$L' && ! grep -q '\] \[$PFIP\] said' '$L'"

# 11. qmta's bounce to a sender at Postfix: MAIL FROM:<>, a multipart/report
printf 'From: carol@peer.test\nSubject: bounce to Postfix\n\nhi\n' |
  qinject -f carol@peer.test toobig@peer.test
ok "qmta's bounce reached carol at Postfix" wait_for 30 has_mail "$(md carol)" 2
f=$(ls -t "$(md carol)"/new/* | head -1)
ok "from <>, a delivery-status report" sh -c "grep -q '^Return-Path: <>' '$f' &&
  grep -q '^Content-Type: multipart/report; report-type=delivery-status' '$f'"

# 12. a Postfix without PIPELINING and DSN: one command at a time, and
# qmta reports "relayed" itself for NOTIFY=SUCCESS (RFC 3461 4.1)
pf_reload smtpd_discard_ehlo_keywords=pipelining,dsn
printf 'From: alice@test.example\nSubject: no pipelining\n\nhi\n' |
  sendmail -N success -f alice@test.example dave@peer.test erin@peer.test
ok "without PIPELINING: delivered to both" wait_for 30 has_mail "$(md erin)" 2
ok "in one transaction" grep -q "from=<alice@test.example>, size=[0-9]*, nrcpt=2 " "$PFLOG"
ok "a relayed report for alice" wait_for 30 has_mail "$ALICE" 9
ok "Action: relayed" grep -q "^Action: relayed" "$(newest "$ALICE")"

# 13. what Postfix thought of qremote as a client (it forbids unauthorised
# pipelining and bare newlines here, as a strict MX does)
ok "no improper pipelining, no bare newline" \
  sh -c "! grep -q 'improper command pipelining\|bare <LF>' '$PFLOG'"
ok "every session ended with QUIT, but the failed handshake" \
  sh -c "! grep 'lost connection after\|timeout after' '$PFLOG' | grep -v 'after STARTTLS'"
