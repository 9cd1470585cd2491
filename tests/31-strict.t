#!/usr/bin/env python3
# qsmtpd's strict protocol defaults (Postfix 3.9 / Exim 4.97 behaviour):
# an early talker (commands before the greeting) and message data sent
# before the 354 reply end the session with 554 5.5.0 and a log line,
# while RFC 2920 pipelining of the allowed groups works (swaks --pipeline,
# smtplib); a command ended by a bare LF is taken as ended by CRLF (as
# Postfix's normalize); NUL bytes in DATA are refused with 554 5.6.0 (or dropped
# with control/stripnul); a header line over 998 octets in relayed mail is
# refused with 554 5.6.0 (control/longheaders keeps it; local delivery
# stores it as received); a bad number in a control file (databytes "abc",
# maxrcpt 0) is logged and its default used, the service goes on.
import atexit
import os
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

PORT = free_port()
BOB = QHOME + "/mail/test.example/bob"
LOG = QHOME + "/log/smtp/current"


def connect(src="127.0.0.1"):
    s = socket.socket()
    s.settimeout(20)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def read_all(s, limit=20):
    """everything until the server closes (bounded)"""
    got = b""
    end = time.time() + limit
    while time.time() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionError:
            break
        if not b:
            break
        got += b
    return got.decode("latin-1")


def read_reply(f):
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line.decode("latin-1").strip()


def dialog(lines, src="127.0.0.1"):
    """greeting, then each line sent alone after the previous reply; the replies"""
    s = connect(src)
    f = s.makefile("rb")
    out = [read_reply(f)]
    for line in lines:
        s.sendall(line)
        out.append(read_reply(f))
    s.close()
    return out


def has_test(tag):
    for path in maildir_files(BOB).values():
        with open(path, "rb") as fh:
            if ("X-Test: " + tag).encode() in fh.read():
                return path
    return None


def log_has(text):
    try:
        return text in open(LOG, errors="replace").read()
    except OSError:
        return False


run(ROOT + "/bin/qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % PORT)
with open(QHOME + "/control/users", "a") as f:
    f.write("bob@test.example:!\n")
with open(QHOME + "/control/access", "a") as f:
    f.write("127.0.0.1\tRELAY\n")
# relayed mail goes to a port nobody listens on: it stays in the queue
with open(QHOME + "/control/smtproutes", "w") as f:
    f.write("far.example:127.0.0.1:%d\n" % free_port())
run(ROOT + "/bin/qnewmaps", QHOME)
inst_start()
print("1..21", flush=True)
atexit.register(inst_stop)  # also when a check raises

# 1. early talker: the commands arrive before the greeting is sent. The
# greeting may win the race; a few tries must show the refusal at least once.
early = ""
for i in range(8):
    s = socket.socket()
    s.settimeout(20)
    s.connect(("127.0.0.1", PORT))
    s.sendall(b"EHLO early.example\r\nMAIL FROM:<a@early.example>\r\n")
    early = read_all(s, 10)
    s.close()
    if early.startswith("554 5.5.0"):
        break
ok(early.startswith("554 5.5.0 "), "early talker: 554 5.5.0 instead of the greeting", early)
ok(wait_until(5, lambda: log_has("pipelining=early")), "early talker logged")

# 2. message data before the 354 reply, in the same packet as DATA
s = connect()
f = s.makefile("rb")
read_reply(f)
s.sendall(b"EHLO client.example\r\n")
read_reply(f)
s.sendall(b"MAIL FROM:<a@client.example>\r\nRCPT TO:<bob@test.example>\r\nDATA\r\n"
          b"X-Test: ahead\r\n\r\nbody\r\n.\r\nQUIT\r\n")
rest = read_all(s)
s.close()
codes = [line[:9] for line in rest.split("\r\n") if line]
ok(codes == ["250 2.1.0", "250 2.1.5", "554 5.5.0"], "data before 354: 250 250 554 5.5.0, then closed",
   rest)
ok(wait_until(5, lambda: log_has("pipelining=data")), "data before 354 logged")

# 3. RFC 2920 pipelining of the allowed groups keeps working
r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % PORT, "--pipeline", "--from",
                    "a@client.example", "--to", "bob@test.example", "--header",
                    "X-Test: swakspipe"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   timeout=60)
out = r.stdout.decode(errors="replace")
ok(r.returncode == 0 and "250 2.0.0 ok: queued" in out, "swaks --pipeline: accepted", out[-400:])
try:
    c = smtplib.SMTP("127.0.0.1", PORT, timeout=20)
    c.sendmail("a@client.example", ["bob@test.example"], b"X-Test: smtplib\r\n\r\nhi\r\n")
    c.quit()
    ok(True, "smtplib: accepted")
except Exception as e:  # noqa: BLE001
    ok(False, "smtplib: accepted", e)
ok(wait_until(20, lambda: has_test("swakspipe") and has_test("smtplib")),
   "both delivered; the message sent ahead never was", None)
ok(has_test("ahead") is None, "the message sent before 354 was not queued")

# 4. a command ended by a bare LF
rep = dialog([b"EHLO client.example\n", b"NOOP\r\n", b"MAIL FROM:<lf@else.example>\n"])
ok(rep[1].startswith("250"), "a command ended by a bare LF is run (taken as CRLF)", rep)
ok(rep[2].startswith("250 "), "the session goes on", rep)
ok(rep[3].startswith("250 "), "MAIL FROM ended by a bare LF: the address without the LF", rep)


def send_data(body, rcpt=b"bob@test.example"):
    s = connect()
    f = s.makefile("rb")
    out = [read_reply(f)]
    for line in (b"EHLO client.example\r\n", b"MAIL FROM:<a@client.example>\r\n",
                 b"RCPT TO:<" + rcpt + b">\r\n", b"DATA\r\n"):
        s.sendall(line)
        out.append(read_reply(f))
    s.sendall(body + b"\r\n.\r\n")
    out.append(read_reply(f))
    s.sendall(b"QUIT\r\n")
    s.close()
    return out


# 5. NUL bytes
rep = send_data(b"X-Test: nul\r\n\r\nbefore\x00after")
ok(rep[-1].startswith("554 5.6.0 "), "NUL in DATA: 554 5.6.0", rep)
open(QHOME + "/control/stripnul", "w").close()
rep = send_data(b"X-Test: nulstrip\r\n\r\nbefore\x00after")
ok(rep[-1].startswith("250 2.0.0"), "control/stripnul: accepted", rep)
p = wait_until(20, lambda: has_test("nulstrip"))
ok(p is not None and b"\x00" not in open(p, "rb").read() and b"beforeafter" in open(p, "rb").read(),
   "control/stripnul: stored without the NUL")
os.unlink(QHOME + "/control/stripnul")
ok(has_test("nul\n") is None, "the refused message was not stored")

# 6. header lines over 998 octets
long_hdr = b"X-Long: " + b"a" * 1200
rep = send_data(b"X-Test: longrelay\r\n" + long_hdr + b"\r\n\r\nbody", rcpt=b"someone@far.example")
ok(rep[-1].startswith("554 5.6.0 "), "a relayed message with a 1208-octet header line: 554 5.6.0",
   rep)
rep = send_data(b"X-Test: longlocal\r\n" + long_hdr + b"\r\n\r\nbody")
ok(rep[-1].startswith("250 2.0.0"), "the same for a local recipient: accepted", rep)
p = wait_until(20, lambda: has_test("longlocal"))
ok(p is not None and long_hdr + b"\n" in open(p, "rb").read(), "stored as received")
open(QHOME + "/control/longheaders", "w").close()
rep = send_data(b"X-Test: longkept\r\n" + long_hdr + b"\r\n\r\nbody", rcpt=b"someone@far.example")
ok(rep[-1].startswith("250 2.0.0"), "control/longheaders: the relayed message is accepted", rep)
os.unlink(QHOME + "/control/longheaders")

# 7. bad settings: the default is used, the service goes on
ctl_write("databytes", "abc\n")
ctl_write("maxrcpt", "0\n")
rep = send_data(b"X-Test: badsettings\r\n\r\nbody")
ok(rep[0].startswith("220") and rep[-1].startswith("250 2.0.0"),
   "databytes abc, maxrcpt 0: mail is still accepted", rep)
ok(wait_until(5, lambda: log_has("control/databytes is not a number") and
              log_has("control/maxrcpt is 0")), "both bad settings logged")

sys.exit(1 if T["failed"] else 0)
