#!/bin/sh
# qsmtpd with TLS and AUTH over real TCP, through qtlsd: STARTTLS
# (and the CVE-2011-0411 injection), implicit TLS on the smtps listener,
# the submission listener refusing unauthenticated mail, AUTH PLAIN and
# LOGIN checked by qauth (good and bad passwords, bad base64, cancel,
# AUTH before TLS), relaying after AUTH, control/authsender, the Date:
# and Message-ID: a submitted message lacks (RFC 6409 8.2, 8.3), no
# early-talker refusal on port 465, and control/authplaintext from loopback.
. "$(dirname "$0")/lib.sh"
plan 50

# py SCRIPT: runs python3 with the ports in the environment; the script
# reports with check(cond, name, detail); each report becomes a TAP line.
py() {
  PORT=$PORT SUB=$SUB SMTPS=$SMTPS python3 -c "
import os, socket, ssl, sys, smtplib, base64
PORT, SUB, SMTPS = int(os.environ['PORT']), int(os.environ['SUB']), int(os.environ['SMTPS'])
CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
def check(cond, name, detail=''):
    print('R|%d|%s|%s' % (1 if cond else 0, name, str(detail).replace(chr(10), ' / ')))
    sys.stdout.flush()
class Conn:
    def __init__(self, port, tls=False):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=30)
        if tls:
            self.s = CTX.wrap_socket(self.s)
        self.buf = b''
        self.greeting = self.reply()
    def send(self, data):
        self.s.sendall(data)
    def reply(self):
        lines = []
        while True:
            while b'\r\n' not in self.buf:
                b = self.s.recv(4096)
                if not b:
                    return lines
                self.buf += b
            line, self.buf = self.buf.split(b'\r\n', 1)
            lines.append(line.decode('latin-1'))
            if len(line) < 4 or line[3:4] != b'-':
                return lines
    def cmd(self, line):
        self.send(line.encode() + b'\r\n')
        return self.reply()
    def starttls(self):
        r = self.cmd('STARTTLS')
        self.s = CTX.wrap_socket(self.s)
        self.buf = b''
        return r
def code(lines):
    return lines[-1][:9] if lines else ''
$1
" 2>&1 | while IFS='|' read -r tag res name detail; do
    if [ "$tag" != R ]; then diag "$tag${res:+|$res}${name:+|$name}"; continue; fi
    if [ "$res" = 1 ]; then pass "$name"; else fail "$name"; diag "$detail"; fi
  done
}
PORT=$(free_port)
SUB=$(free_port)
SMTPS=$(free_port)
inst_setup --smtp 127.0.0.1:$PORT --submission 127.0.0.1:$SUB --smtps 127.0.0.1:$SMTPS
echo 'bob@test.example:!' >>"$QHOME/control/users"
echo secret | qpasswd "$QHOME" alice@test.example >/dev/null 2>&1 || bail "qpasswd failed"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"
SUBLOG="$QHOME/log/submission/current"

# Numbering: py's lines carry their own numbers from 1; renumber them.
renumber() {
  awk -v n="$T_NUM" '/^(not )?ok [0-9]+ - /{ sub(/ok [0-9]+ - /, "ok " ++n " - ") } { print }'
}
run() {
  py "$1" >"$T_TMP/py.out"
  renumber <"$T_TMP/py.out"
  T_NUM=$((T_NUM + $(grep -c '^ok \|^not ok ' "$T_TMP/py.out")))
  T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_TMP/py.out")))
  return 0
}

# 1. STARTTLS and the injection attempt
run '
c = Conn(PORT)
r = c.cmd("EHLO client.example")
check("250-STARTTLS" in r and not any("AUTH" in l for l in r),
      "port 25: STARTTLS offered, AUTH not", r)
r = c.cmd("AUTH PLAIN AGFsaWNlQHRlc3QuZXhhbXBsZQBzZWNyZXQ=")
check(r and r[-1].startswith("538 5.7.11 "), "AUTH before TLS: 538 5.7.11", r)
check(code(c.cmd("MAIL FROM:<a@else.example>")) == "250 2.1.0", "MAIL before STARTTLS")
check(code(c.cmd("STARTTLS")) == "503 5.5.1", "no STARTTLS inside a transaction")
c.cmd("RSET")
c.send(b"STARTTLS\r\nMAIL FROM:<evil@else.example>\r\nRCPT TO:<bob@test.example>\r\n")
r = c.reply()
check(code(r) == "220 2.0.0", "STARTTLS: 220 2.0.0", r)
c.s = CTX.wrap_socket(c.s)
c.buf = b""
r = c.cmd("MAIL FROM:<a@else.example>")
check(code(r) == "503 5.5.1", "after TLS the EHLO is forgotten (RFC 3207)", r)
r = c.cmd("EHLO client.example")
check(r[0].startswith("250-test.example"),
      "the first reply after the handshake answers our EHLO", r)
check(not any("STARTTLS" in l for l in r) and "250-AUTH PLAIN LOGIN" in r,
      "under TLS: AUTH offered, STARTTLS not", r)
r = c.cmd("MAIL FROM:<a@else.example>")
check(code(r) == "250 2.1.0", "the pipelined MAIL was thrown away (no nested MAIL)", r)
check(code(c.cmd("RCPT TO:<bob@test.example>")) == "250 2.1.5", "RCPT under TLS")
c.send(b"DATA\r\n")
c.reply()
c.send(b"X-Test: starttls\r\n\r\nhello\r\n.\r\n")
check(code(c.reply()) == "250 2.0.0", "message accepted under STARTTLS")
c.cmd("QUIT")
'
has_test() { grep -l "^X-Test: $1\$" "$BOB"/new/* >/dev/null 2>&1; }
ok "STARTTLS message delivered" wait_for 20 has_test starttls
f=$(grep -l '^X-Test: starttls' "$BOB"/new/* 2>/dev/null | head -1)
ok "Received: says ESMTPS with the TLS version and cipher" \
  sh -c "grep -A1 '^Received: from client.example' '$f' |
    grep -q 'with ESMTPS (TLSv1\.[23] [A-Z0-9_-]*)$'"
ok "the injected sender never got in" sh -c "! grep -rq 'evil@else.example' '$BOB/new'"

# 2. submission: AUTH required, PLAIN and LOGIN, failures, relaying after AUTH
run '
c = Conn(SUB)
c.cmd("EHLO client.example")
r = c.cmd("MAIL FROM:<alice@test.example>")
check(code(r) == "530 5.7.0", "submission: MAIL without AUTH is 530 5.7.0", r)
c.starttls()
c.cmd("EHLO client.example")
r = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@test.example\0wrong").decode())
check(code(r) == "535 5.7.8", "wrong password: 535 5.7.8", r)
r = c.cmd("AUTH PLAIN !!!!")
check(code(r) == "501 5.5.2", "bad base64: 501 5.5.2", r)
r = c.cmd("AUTH PLAIN")
check(r and r[-1].startswith("334"), "AUTH PLAIN without initial response: 334", r)
r = c.cmd("*")
check(code(r) == "501 5.0.0", "* cancels: 501", r)
c.cmd("AUTH PLAIN")
r = c.cmd("QUFB" * 1000)
check(code(r) == "500 5.5.6", "a response line too long: 500 5.5.6 (RFC 4954 4)", r)
check(code(c.cmd("NOOP")) == "250 2.0.0", "the session goes on")
r = c.cmd("AUTH CRAM-MD5")
check(code(r) == "504 5.5.4", "unknown mechanism: 504", r)
r = c.cmd("AUTH PLAIN")
r = c.cmd(base64.b64encode(b"\0alice@test.example\0secret").decode())
check(code(r) == "235 2.7.0", "AUTH PLAIN: 235 2.7.0", r)
r = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@test.example\0secret").decode())
check(code(r) == "503 5.5.1", "second AUTH: 503", r)
check(code(c.cmd("MAIL FROM:<alice@test.example>")) == "250 2.1.0", "MAIL after AUTH")
r = c.cmd("RCPT TO:<somebody@else.example>")
check(code(r) == "250 2.1.5", "authenticated client may relay", r)
check(code(c.cmd("RCPT TO:<bob@test.example>")) == "250 2.1.5", "and send locally")
c.cmd("DATA")
c.send(b"X-Test: submitted\r\n\r\nhi bob\r\n.\r\n")
check(code(c.reply()) == "250 2.0.0", "submitted message accepted")
c.cmd("QUIT")
c = Conn(SUB)
c.starttls()
c.cmd("EHLO client.example")
c.cmd("AUTH LOGIN")
c.cmd(base64.b64encode(b"alice@test.example").decode())
r = c.cmd(base64.b64encode(b"secret").decode())
check(code(r) == "235 2.7.0", "AUTH LOGIN: 235", r)
c.cmd("QUIT")
'
ok "submitted message delivered" wait_for 20 has_test submitted
f=$(grep -l '^X-Test: submitted' "$BOB"/new/* 2>/dev/null | head -1)
ok "Received: names the user and ESMTPSA" \
  sh -c "grep -q 'with ESMTPSA (TLSv' '$f' && grep -q '(authenticated as alice@test.example);' '$f'"
# RFC 6409 8.2, 8.3: the header of a submitted message gets the Date: and
# Message-ID: it lacks (sed '/^$/q' prints a delivered file's header)
ok "submitted without Date: and Message-ID: gets both, in its header" \
  sh -c "sed '/^\$/q' '$f' | grep -c '^Date: ' | grep -qx 1 &&
    sed '/^\$/q' '$f' | grep -c '^Message-ID: <[0-9A-Z]*@test.example>\$' | grep -qx 1"
f25=$(grep -l '^X-Test: starttls' "$BOB"/new/* 2>/dev/null | head -1)
ok "mail from a client that did not log in gets neither" \
  sh -c "! grep -qi '^Date:\|^Message-ID:' '$f25'"
ok "auth logged without the password" \
  sh -c "grep -q 'qsmtpd: auth ip=127.0.0.1 user=alice@test.example result=ok' '$SUBLOG' &&
    ! grep -q secret '$SUBLOG'"

# 3. implicit TLS, authsender, swaks
echo address >"$QHOME/control/authsender"
run '
c = Conn(SMTPS, tls=True)
check(c.greeting and c.greeting[0].startswith("220 "), "smtps: greeting over TLS", c.greeting)
r = c.cmd("EHLO client.example")
check("250-AUTH PLAIN LOGIN" in r and not any("STARTTLS" in l for l in r),
      "smtps: AUTH, no STARTTLS", r)
r = c.cmd("MAIL FROM:<alice@test.example>")
check(code(r) == "530 5.7.0", "smtps: MAIL without AUTH is 530 5.7.0 (RFC 6409 4.3)", r)
r = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@test.example\0secret").decode())
check(code(r) == "235 2.7.0", "smtps: AUTH PLAIN", r)
r = c.cmd("MAIL FROM:<mallory@test.example>")
check(code(r) == "553 5.7.1", "authsender=address: a foreign sender is 553 5.7.1", r)
r = c.cmd("MAIL FROM:<alice@test.example>")
check(code(r) == "250 2.1.0", "authsender=address: the own address", r)
c.cmd("QUIT")
'
rm -f "$QHOME/control/authsender"
# a script that writes at once after the handshake (openssl s_client with
# its input piped): on a submission listener that is no early talker
printf 'EHLO client.example\r\nQUIT\r\n' |
  timeout 30 openssl s_client -connect 127.0.0.1:$SMTPS -quiet >"$T_TMP/ossl.out" 2>/dev/null
ok "smtps: commands written right after the handshake get the greeting and answers" \
  sh -c "grep -q '^220 ' '$T_TMP/ossl.out' && grep -q '^221 ' '$T_TMP/ossl.out'"
swaks --server 127.0.0.1:$SMTPS --tlsc --auth PLAIN --auth-user alice@test.example \
  --auth-password secret --from alice@test.example --to bob@test.example \
  --header 'X-Test: swaks-smtps' >"$T_TMP/swaks.out" 2>&1
ok "swaks --tlsc --auth: accepted" grep -q '^<~  250 2.0.0 ' "$T_TMP/swaks.out"
ok "swaks message delivered" wait_for 20 has_test swaks-smtps
f=$(grep -l '^X-Test: swaks-smtps' "$BOB"/new/* 2>/dev/null | head -1)
ok "a submitted Date: and Message-Id: are kept, nothing added" \
  sh -c "sed '/^\$/q' '$f' | grep -c '^Date: ' | grep -qx 1 &&
    sed '/^\$/q' '$f' | grep -ic '^Message-ID: ' | grep -qx 1 && grep -q '^Message-Id: <.*@' '$f'"

# 4. authplaintext: AUTH without TLS from loopback
touch "$QHOME/control/authplaintext"
run '
c = Conn(PORT)
r = c.cmd("EHLO client.example")
check("250-AUTH PLAIN LOGIN" in r, "authplaintext: AUTH offered to 127.0.0.1 without TLS", r)
r = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice@test.example\0secret").decode())
check(code(r) == "235 2.7.0", "authplaintext: AUTH PLAIN works", r)
c.cmd("QUIT")
'

# 5. a certificate that cannot be loaded: STARTTLS gets 454 and the session
#    goes on in plaintext (RFC 3207 4), without STARTTLS offered again
rm -f "$QHOME/control/authplaintext"
mv "$QHOME/tls/cert.pem" "$QHOME/tls/cert.pem.saved"
run '
c = Conn(PORT)
c.cmd("EHLO client.example")
r = c.cmd("STARTTLS")
check(code(r) == "454 4.7.0", "no usable certificate: STARTTLS is 454 4.7.0", r)
r = c.cmd("EHLO client.example")
check(r and r[-1].startswith("250") and not any("STARTTLS" in l for l in r),
      "after 454 the session goes on, STARTTLS no longer offered", r)
check(code(c.cmd("MAIL FROM:<alice@else.example>")) == "250 2.1.0" and
      code(c.cmd("RCPT TO:<bob@test.example>")) == "250 2.1.5" and
      code(c.cmd("DATA"))[:3] == "354", "and a transaction works in plaintext")
c.send(b"X-Test: after-454\r\n\r\nplain\r\n.\r\n")
check(code(c.reply()) == "250 2.0.0", "the message is accepted")
c.cmd("QUIT")
'
mv "$QHOME/tls/cert.pem.saved" "$QHOME/tls/cert.pem"
