#!/bin/sh
# qsetup: the instance layout, permissions and accounts of a root instance,
# idempotence, send-only mode, usage errors, and an instance made by a
# non-root user.
. "$(dirname "$0")/lib.sh"

plan 84

mode() { stat -c %a "$1" 2>/dev/null; }
owner() { stat -c %U:%G "$1" 2>/dev/null; }
first() { sed -n 1p "$1" 2>/dev/null; }

SMTP=$(free_port)
SUB=$(free_port)
SMTPS=$(free_port)
inst_setup --smtp 127.0.0.1:$SMTP --submission "[::1]:$SUB" --smtps 127.0.0.1:$SMTPS
ok "qsetup made the instance" test -d "$QHOME/control"

# control/ defaults, written as files
is "$(first "$QHOME/control/me")" test.example "me"
is "$(first "$QHOME/control/locals")" test.example "locals = me"
is "$(first "$QHOME/control/rcpthosts")" test.example "rcpthosts = me"
is "$(first "$QHOME/control/databytes")" 10485760 "databytes"
is "$(first "$QHOME/control/concurrencylocal")" 10 "concurrencylocal"
is "$(first "$QHOME/control/concurrencyremote")" 20 "concurrencyremote"
is "$(first "$QHOME/control/concurrencyincoming")" 400 "concurrencyincoming"
is "$(first "$QHOME/control/concurrencyperip")" 40 "concurrencyperip"
is "$(first "$QHOME/control/queuelifetime")" 432000 "queuelifetime"
ok "postmaster@me is a user without password" grep -qx 'postmaster@test.example:!' "$QHOME/control/users"
ok "MAILER-DAEMON and abuse go to postmaster" \
  sh -c "grep -q '^mailer-daemon: postmaster@test.example' '$QHOME/control/aliases' &&
         grep -q '^abuse: postmaster@test.example' '$QHOME/control/aliases'"
ok "maps compiled" sh -c "cd '$QHOME/control' && test -f users.cdb && test -f aliases.cdb &&
  test -f access.cdb && test -f generics.cdb && test -f tcp.smtp.cdb"
is "$(cdb -q "$QHOME/control/aliases.cdb" abuse | tr '\0' ' ')" "postmaster@test.example " \
  "cdb -q reads aliases.cdb"

# queue/
n=$(find "$QHOME/queue/mess" "$QHOME/queue/info" -mindepth 1 -maxdepth 1 -type d | wc -l)
is "$n" 64 "queue/mess and queue/info have 32 subdirectories each"
ok "queue/trigger is a FIFO" test -p "$QHOME/queue/trigger"
ok "queue/tmp, new, bounce" sh -c "test -d '$QHOME/queue/tmp' && test -d '$QHOME/queue/new' &&
  test -d '$QHOME/queue/bounce'"

# mail/, tls/, log/, service/
ok "postmaster's Maildir" sh -c "cd '$QHOME/mail/test.example/postmaster' && test -d tmp && test -d new && test -d cur"
ok "self-signed certificate for me" sh -c "openssl x509 -in '$QHOME/tls/cert.pem' -noout -subject | grep -q test.example"
ok "key matches the certificate" sh -c "
  a=\$(openssl x509 -in '$QHOME/tls/cert.pem' -noout -pubkey | sha256sum)
  b=\$(openssl pkey -in '$QHOME/tls/key.pem' -pubout | sha256sum)
  [ \"\$a\" = \"\$b\" ]"
for s in qsend smtp submission smtps; do
  ok "service $s: run, log/run, notification-fd, log/$s" sh -c "
    test -x '$QHOME/service/$s/run' && test -x '$QHOME/service/$s/log/run' &&
    test \"\$(cat '$QHOME/service/$s/notification-fd')\" = 3 && test -d '$QHOME/log/$s' &&
    sh -n '$QHOME/service/$s/run' && sh -n '$QHOME/service/$s/log/run'"
done
ok "no service for listeners not asked for" sh -c "test ! -e '$QHOME/service/pop3' && test ! -e '$QHOME/service/imap'"
ok "run scripts export QHOME and PATH with the bin dir" sh -c "
  grep -qx 'QHOME=$QHOME' '$QHOME/service/qsend/run' &&
  grep -qx 'PATH=$T_ROOT/bin:/usr/bin:/bin' '$QHOME/service/qsend/run' &&
  grep -qx 'exec 2>&1' '$QHOME/service/qsend/run'"
ok "qsend runs with readiness on fd 3" grep -qx 'exec qsend -d 3' "$QHOME/service/qsend/run"
ok "smtp: qlisten on the address, rules CDB, pool of qsmtpd as qmta-smtpd, qtlsd" sh -c "
  grep -q '127.0.0.1 $SMTP qsmtpd\$' '$QHOME/service/smtp/run' &&
  grep -q -- '-x control/tcp.smtp.cdb' '$QHOME/service/smtp/run' &&
  grep -q -- '-u qmta-smtpd' '$QHOME/service/smtp/run' &&
  grep -q -- '-s \"\\\$(ctl sessionsperprocess 100 positive)\"' '$QHOME/service/smtp/run' &&
  grep -q '^exec qlisten -d 3 ' '$QHOME/service/smtp/run' &&
  grep -qx 'QTLSD=$QHOME/run/tlsd' '$QHOME/service/smtp/run' &&
  grep -q '^exec qtlsd -d 3 -u qmta-tls -g qmta-smtpd ' '$QHOME/service/tlsd/run'"
ok "submission: IPv6 address and SUBMISSION=1" sh -c "
  grep -q '::1 $SUB' '$QHOME/service/submission/run' && grep -qx 'SUBMISSION=1' '$QHOME/service/submission/run'"
ok "smtps: implicit TLS" grep -qx 'IMPLICITTLS=1' "$QHOME/service/smtps/run"
ok "smtps: a submission port (RFC 8314 3.3)" grep -qx 'SUBMISSION=1' "$QHOME/service/smtps/run"
ok "loggers run s6-log as qmta-log into log/NAME" \
  grep -q "s6-setuidgid qmta-log s6-log .* $QHOME/log/smtp\$" "$QHOME/service/smtp/log/run"

# accounts and permissions of a root instance
for u in qmta-send qmta-remote qmta-smtpd qmta-tls qmta-vmail qmta-alias qmta-log; do
  ok "account $u: no login, home /nonexistent" sh -c "
    getent passwd $u | awk -F: '{ exit !(\$6 == \"/nonexistent\" && \$7 ~ /(nologin|false)\$/) }'"
done
ok "qmta-send, qmta-remote, qmta-smtpd are in qmta-queue" sh -c "
  for u in qmta-send qmta-remote qmta-smtpd; do id -nG \$u | grep -qw qmta-queue || exit 1; done"
ok "qmta-remote is in qmta-send (reads the messages), qmta-smtpd is not" sh -c "
  id -nG qmta-remote | grep -qw qmta-send && ! id -nG qmta-smtpd | grep -qw qmta-send"
is "$(mode "$QHOME/queue/tmp"):$(owner "$QHOME/queue/tmp") $(mode "$QHOME/queue/new"):$(owner "$QHOME/queue/new")" \
  "3703:qmta-send:qmta-send 1757:qmta-send:qmta-send" "tmp/ and new/: qsend's; writers create and rename in, sticky"
is "$(mode "$QHOME/queue/mess/31"):$(owner "$QHOME/queue/info/0")" "750:qmta-send:qmta-send" \
  "messages and their state: qsend's, read by its group, closed to the writers"
is "$(mode "$QHOME/queue/trigger"):$(owner "$QHOME/queue/trigger")" "620:qmta-send:qmta-queue" "trigger FIFO"
is "$(mode "$QHOME/tls/key.pem"):$(owner "$QHOME/tls/key.pem")" "400:qmta-tls:qmta-tls" "key readable by qmta-tls only"
is "$(owner "$QHOME/mail/test.example/postmaster")" "qmta-vmail:qmta-vmail" "mailboxes owned by qmta-vmail"
is "$(owner "$QHOME/log/smtp")" "qmta-log:qmta-log" "log dirs owned by qmta-log"
is "$(mode "$QHOME/control/users.cdb"):$(owner "$QHOME/control/users.cdb")" "644:root:root" "users.cdb 0644: no hashes"
is "$(mode "$QHOME/control/passwords.cdb"):$(owner "$QHOME/control/passwords.cdb")" "640:root:qmta-auth" "passwords.cdb 0640 group qmta-auth"
is "$(mode "$QHOME/control/users")" 600 "control/users 0600"
is "$(mode "$QHOME/auth"):$(owner "$QHOME/auth")" "700:qmta-smtpd:qmta-smtpd" "auth/ for qauth"
if [ -x "$T_ROOT/bin/qinject" ]; then
  is "$(mode "$QHOME/bin/qinject"):$(owner "$QHOME/bin/qinject")" "2755:root:qmta-queue" "bin/qinject setgid qmta-queue"
else
  pass "# SKIP no qinject built"
fi
ok "DIR traversable" test "$(mode "$QHOME")" = 755

# idempotence: the admin's files, the maps and the certificate stay
echo 20000000 > "$QHOME/control/databytes"
echo "sales: bob@test.example" >> "$QHOME/control/aliases"
certsum=$(sha256sum < "$QHOME/tls/cert.pem")
# and a queue laid out by an older qsetup (everything the queue group's,
# a pooled file of a writer readable by the group) is brought to the new
# modes, its messages kept
Q=$QHOME/queue
for d in tmp new pool bad flush bounce mess info mess/3 info/3; do
  chown root:qmta-queue "$Q/$d" && chmod 2770 "$Q/$d"
done
printf 'x' >"$Q/mess/3/35" && chown nobody:qmta-queue "$Q/mess/3/35" && chmod 640 "$Q/mess/3/35"
printf 'x' >"$Q/pool/65534.0" && chown nobody:qmta-queue "$Q/pool/65534.0" && chmod 640 "$Q/pool/65534.0"
chown root:qmta-queue "$Q/trigger" && chmod 660 "$Q/trigger"
ok "rerun succeeds" sh -c "qsetup '$QHOME' --me test.example --smtp 127.0.0.1:$SMTP >/dev/null"
is "$(first "$QHOME/control/databytes")" 20000000 "rerun keeps control files"
ok "rerun keeps aliases and compiles them" sh -c "grep -q sales '$QHOME/control/aliases' &&
  cdb -q '$QHOME/control/aliases.cdb' sales >/dev/null"
is "$(sha256sum < "$QHOME/tls/cert.pem")" "$certsum" "rerun keeps the certificate"
ok "rerun keeps services it was not told about" test -x "$QHOME/service/smtps/run"
is "$(mode "$Q/mess"):$(owner "$Q/mess") $(mode "$Q/mess/3"):$(owner "$Q/mess/3") $(mode "$Q/new"):$(owner "$Q/new") $(mode "$Q/pool") $(mode "$Q/trigger"):$(owner "$Q/trigger")" \
  "750:root:qmta-send 750:qmta-send:qmta-send 1757:qmta-send:qmta-send 1757 620:qmta-send:qmta-queue" \
  "rerun: an old queue's modes migrated"
ok "rerun: messages kept, the pool emptied" sh -c "test -f '$Q/mess/3/35' && test ! -e '$Q/pool/65534.0'"

# usage errors
qsetup >/dev/null 2>&1; is $? 100 "no DIR: 100"
qsetup "$T_TMP/x" --smtp 127.0.0.1 >/dev/null 2>&1; is $? 100 "listener without port: 100"
qsetup "$T_TMP/x" --smtp 1.2.3.400:25 >/dev/null 2>&1; is $? 100 "bad IPv4: 100"
qsetup "$T_TMP/x" --bogus >/dev/null 2>&1; is $? 100 "unknown option: 100"

# send-only
SO="$T_TMP/sendonly"
ok "send-only instance" sh -c "qsetup '$SO' --me so.example --send-only >/dev/null"
ok "send-only: no locals, no rcpthosts" sh -c "test -f '$SO/control/locals' && test ! -s '$SO/control/locals' && test ! -s '$SO/control/rcpthosts'"
ok "send-only: the local host relays" sh -c "cdb -q '$SO/control/tcp.smtp.cdb' 127.0.0.1 >/dev/null &&
  test \"\$(cdb -q '$SO/control/access.cdb' '*:127.0.0.1')\" = RELAY"
ok "send-only: one SMTP listener on loopback" sh -c "test -x '$SO/service/smtp/run' &&
  grep -q '127.0.0.1 25 ' '$SO/service/smtp/run' && test ! -e '$SO/service/submission'"
qsetup "$T_TMP/so2" --send-only --smtp 0.0.0.0:25 >/dev/null 2>&1; is $? 100 "send-only refuses a public listener"

# an instance made by a non-root user: everything runs as that user
NR="$T_TMP/nonroot"
mkdir "$NR" && chown nobody "$NR"
if s6-setuidgid nobody test -x "$T_ROOT/bin/qsetup"; then
  ok "non-root qsetup" sh -c "s6-setuidgid nobody qsetup '$NR/inst' --me nr.example --smtp 127.0.0.1:$SMTP >/dev/null"
  ok "non-root: files owned by that user" sh -c "test -z \"\$(find '$NR/inst' ! -user nobody)\""
  ok "non-root: no privilege changes in run scripts" sh -c "! grep -rq -e s6-setuidgid -e ' -u ' '$NR/inst/service'"
else
  pass "# SKIP $T_ROOT/bin not reachable by nobody"
  pass "# SKIP"
  pass "# SKIP"
fi

# --admin: root, postmaster, MAILER-DAEMON and abuse go to an address that
# exists; a host name without a dot is warned about; another --me on an
# existing instance is refused, and a rerun without --me keeps the name.
ok "a fully qualified name: no warning" sh -c "! grep -q 'not fully qualified' '$T_TMP/qsetup.out'"
ok "default aliases: root and postmaster to postmaster@me, a mailbox" sh -c "
  grep -qx 'root: postmaster@test.example' '$QHOME/control/aliases' &&
  grep -qx 'postmaster: postmaster@test.example' '$QHOME/control/aliases'"
ADM=$T_TMP/adm
qsetup "$ADM" --me Box --admin alice >"$T_TMP/adm.out" 2>&1; is $? 0 "qsetup --me Box --admin alice"
ok "an unqualified host name: a warning" grep -q '^qsetup: warning: the host name box is not fully qualified' "$T_TMP/adm.out"
ok "the admin's mailbox is made: alice@box" sh -c "grep -qx 'alice@box:!' '$ADM/control/users' &&
  ! grep -q '^postmaster@' '$ADM/control/users' && test -d '$ADM/mail/box/alice/new'"
is "$(cdb -q "$ADM/control/aliases.cdb" root | tr '\0' ' ')$(cdb -q "$ADM/control/aliases.cdb" postmaster | tr '\0' ' ')" \
  "alice@box alice@box " "root: and postmaster: name the admin"
qsetup "$ADM" --me other.example >"$T_TMP/adm.out" 2>&1; rc=$?
ok "another --me on an existing instance: refused, 100, says what to do" sh -c "[ $rc = 100 ] &&
  grep -q 'is the instance of box (control/me), not other.example: qsetup does not rename an instance; rerun it without --me, or follow RENAMING AN INSTANCE in qsetup(8)' '$T_TMP/adm.out' &&
  [ \"\$(cat '$ADM/control/me')\" = box ]"
qsetup "$ADM" --admin bob@x.test >"$T_TMP/adm.out" 2>&1; rc=$?
ok "a rerun without --me keeps the name; --admin then only warns" sh -c "[ $rc = 0 ] &&
  grep -q 'control/aliases exists: --admin changes nothing there' '$T_TMP/adm.out' &&
  ! grep -q bob '$ADM/control/aliases' && ! test -e '$ADM/mail/$(hostname -f 2>/dev/null || hostname)'"
qsetup "$T_TMP/adm2" --me adm2.example --admin ops@elsewhere.test >/dev/null 2>&1
ok "a remote admin: aliases only, no mailbox" sh -c "grep -qx 'root: ops@elsewhere.test' '$T_TMP/adm2/control/aliases' &&
  ! grep -q '^[^#]' '$T_TMP/adm2/control/users'"
qsetup "$T_TMP/adm3" --me adm3.example --admin 'a b@x.test' >/dev/null 2>&1; is $? 100 "a bad --admin: 100"
# mail to root and to postmaster of another local domain reaches alice
echo other.example >>"$ADM/control/locals"
qnewmaps "$ADM" >/dev/null 2>&1
QHOME=$ADM
inst_start
printf 'Subject: cron\n\nfrom cron\n' | qinject -f cron@box root
printf 'Subject: pm\n\nto postmaster\n' | qinject -f x@y.test postmaster@other.example
ok "root and postmaster@ another local domain reach the admin's mailbox" wait_for 20 has_mail "$ADM/mail/box/alice" 2
inst_stop
# the recipe of RENAMING AN INSTANCE in qsetup(8), line by line
R=$T_TMP/ren
qsetup "$R" --me old.example >/dev/null 2>&1
(cd "$R" &&
  for f in control/me control/locals control/rcpthosts; do
    sed -i 's/^old\.example$/new.example/' $f; done &&
  sed -i 's/@old\.example\b/@new.example/g' control/users control/aliases &&
  mv mail/old.example mail/new.example &&
  echo old.example >> control/locals && echo old.example >> control/rcpthosts &&
  echo '@old.example: %1@new.example' >> control/aliases &&
  mv tls/cert.pem tls/cert.pem.old && mv tls/key.pem tls/key.pem.old &&
  qsetup "$R" >/dev/null 2>&1)
ok "renamed: a new certificate, qconf check finds nothing" sh -c "
  openssl x509 -in '$R/tls/cert.pem' -noout -subject | grep -q new.example &&
  test -z \"\$(qconf check '$R' 2>&1)\" && grep -qx 'postmaster@new.example:!' '$R/control/users'"
