#!/usr/bin/env python3
# qsmtpd's milter client (qsmtpd/qsmtpd_milter.c, control/milters) against
# small milters written with pymilter (Debian's python3-milter, so run by
# /usr/bin/python3), each on a Unix socket in the test's temp dir, started
# and stopped here: reject at MAIL, at RCPT and at the end of message with
# the milter's own reply, tempfail, discard, accept, added and inserted
# header fields (and what the milter saw: each field, the body with CRLF),
# an added and a deleted recipient, a replaced body,
# a milter that is down (default=accept delivers, default=tempfail gives
# 451 4.7.1) and one that hangs (timeout=).
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)
import qmtatest  # noqa: E402 (its milter_start, which this file wraps)

MILTER = r'''
import os, sys, time
import Milter

mode, sock, seen = sys.argv[1], sys.argv[2], sys.argv[3]

class T(Milter.Base):
    def envfrom(self, f, *args):
        if mode == "mailreject":
            self.setreply("550", "5.7.1", "sender refused by the test milter")
            return Milter.REJECT
        if mode == "accept":
            return Milter.ACCEPT
        if mode == "maildiscard":
            return Milter.DISCARD
        return Milter.CONTINUE
    def envrcpt(self, to, *args):
        if mode == "rcptreject" and "carol" in to:
            self.setreply("550", "5.7.1", "no mail for carol")
            return Milter.REJECT
        return Milter.CONTINUE
    def header(self, name, value):
        with open(seen, "a") as f:
            f.write("H %s: %s\n" % (name, value))
        return Milter.CONTINUE
    def body(self, chunk):
        with open(seen, "ab") as f:
            f.write(b"B " + chunk + b"\n")
        return Milter.CONTINUE
    def eom(self):
        if mode == "eomreject":
            self.setreply("554", "5.7.1", "spam detected by the test milter")
            return Milter.REJECT
        if mode == "tempfail":
            return Milter.TEMPFAIL
        if mode == "discard":
            return Milter.DISCARD
        if mode == "hang":
            time.sleep(30)
        if mode == "replbody":
            self.replacebody(b"new body\r\nmarker-newbody\r\n")
            self.addheader("X-Body", "replaced")
        if mode == "rcpts":
            self.addrcpt("<carol@test.example>")
            self.delrcpt("<bob@test.example>")
        if mode == "addhdr":
            self.addheader("X-Spam-Flag", "YES")
            self.addheader("X-Inserted", "first", 0)
        return Milter.CONTINUE

Milter.factory = T
Milter.set_flags(Milter.ADDHDRS | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGBODY)
Milter.runmilter("t", sock if sock.startswith("inet:") else "unix:" + sock, 60)
'''

def milter_start(mode):
    return qmtatest.milter_start(MILTER, mode, "testmilter")


def milters(line):
    ctl_write("milters", line)


def session(port, rcpts=("bob@test.example",), body="Subject: t\n\nhello\n"):
    """one message: the reply codes of MAIL, each RCPT and the end of data"""
    c = Client(port)
    codes = [c.code("EHLO client.example")]
    codes.append(c.code("MAIL FROM:<ann@far.example>"))
    ok_rcpt = 0
    for r in rcpts:
        code = c.code("RCPT TO:<%s>" % r)
        codes.append(code)
        ok_rcpt += code.startswith("250")
    if ok_rcpt and codes[1].startswith("250"):
        c.code("DATA")
        c.send(body.replace("\n", "\r\n").encode() + b".\r\n")
        r = c.reply()
        codes.append(r[-1] if r else "EOF")
    c.code("QUIT")
    c.close()
    return codes


def delivered(user, marker):
    for f in glob.glob(QHOME + "/mail/test.example/%s/new/*" % user):
        t = open(f, "rb").read().decode("latin-1")
        if marker in t:
            return t
    return None


def main():
    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port, users=("bob", "carol"))
    inst_start()

    # reject at MAIL with the milter's text
    sock, _ = milter_start("mailreject")
    milters("unix:" + sock)
    codes = session(port)
    is_(codes[1], "550 5.7.1", "MAIL refused with the milter's reply code")

    # reject at RCPT: that recipient only
    sock, _ = milter_start("rcptreject")
    milters("unix:" + sock)
    codes = session(port, ("bob@test.example", "carol@test.example"),
                    "Subject: rcpt\n\nmarker-rcpt\n")
    is_(codes[2:4], ["250 2.1.5", "550 5.7.1"], "RCPT refused for carol only")
    ok(wait_until(20, lambda: delivered("bob", "marker-rcpt")), "bob still gets the message")

    # reject at the end of message, with the milter's own text
    sock, _ = milter_start("eomreject")
    milters("unix:" + sock)
    codes = session(port, body="Subject: eom\n\nmarker-eom\n")
    is_(codes[-1], "554 5.7.1 spam detected by the test milter", "refused at end of message")

    # tempfail at the end of message
    sock, _ = milter_start("tempfail")
    milters("unix:" + sock)
    codes = session(port, body="Subject: tf\n\nmarker-tf\n")
    is_(codes[-1][:9], "451 4.7.1", "tempfail at end of message")

    # discard: 250, nothing delivered, logged
    sock, _ = milter_start("discard")
    milters("unix:" + sock)
    codes = session(port, body="Subject: d\n\nmarker-discard\n")
    is_(codes[-1][:3], "250", "discard answers 250")

    # discard at MAIL: 250 at the end, nothing delivered
    sock, _ = milter_start("maildiscard")
    milters("unix:" + sock)
    codes = session(port, body="Subject: md\n\nmarker-maildiscard\n")
    is_(codes[-1][:3], "250", "discard at MAIL answers 250 at the end")

    # accept at MAIL: no further question, delivered
    sock, _ = milter_start("accept")
    milters("unix:" + sock)
    codes = session(port, body="Subject: a\n\nmarker-accept\n")
    ok(codes[-1].startswith("250 2.0.0 ok: queued as"), "accept: queued", codes)
    ok(wait_until(20, lambda: delivered("bob", "marker-accept")), "accept: delivered")

    # over TCP: inet:127.0.0.1:PORT (the eomreject milter again)
    tport = free_port()
    seen = "%s/m-inet.seen" % TMP
    HELPERS.append(subprocess.Popen(
        ["/usr/bin/python3", TMP + "/testmilter.py", "eomreject", "inet:%d@127.0.0.1" % tport, seen],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    milters("inet:127.0.0.1:%d" % tport)
    codes = wait_until(20, lambda: session(port, body="Subject: inet\n\nmarker-inet\n")[-1]
                       .startswith("554") or None)
    ok(codes, "a milter over TCP refuses at end of message")

    # header fields added and inserted; what the milter saw
    sock, seen = milter_start("addhdr")
    milters("unix:%s default=tempfail timeout=10" % sock)
    codes = session(port, body="Subject: added\nX-Folded: one\n two\n\nline1\nmarker-add\n")
    ok(codes[-1].startswith("250"), "addhdr: queued", codes)
    t = wait_until(20, lambda: delivered("bob", "marker-add")) or ""
    ok("\nX-Folded: one\n two\nX-Spam-Flag: YES\n\n" in t, "added field: at the end of the header", t)
    top = t.split("\nX-Inserted: first\n")
    ok(len(top) == 2 and "Received:" not in top[0] and "X-Spam-Flag" in top[1],
       "inserted field on top, above the added one", t)
    s = open(seen, "rb").read().decode("latin-1") if os.path.exists(seen) else ""
    ok("H Subject: added\n" in s, "the milter saw the Subject field", s)
    ok("H X-Folded: one\r\n two\n" in s, "a folded field with CRLF", s)
    ok("B line1\r\nmarker-add\r\n\n" in s, "the body with CRLF line ends", s)

    # recipients: carol added, bob deleted
    sock, _ = milter_start("rcpts")
    milters("unix:" + sock)
    codes = session(port, body="Subject: rcpts\n\nmarker-rcpts\n")
    ok(codes[-1].startswith("250"), "rcpts: queued", codes)
    ok(wait_until(20, lambda: delivered("carol", "marker-rcpts")), "added recipient gets it")
    wait_until(3, lambda: delivered("bob", "marker-rcpts"))
    ok(delivered("bob", "marker-rcpts") is None, "deleted recipient does not")

    # the body replaced, the header kept, a field added as well
    sock, _ = milter_start("replbody")
    milters("unix:" + sock)
    codes = session(port, body="Subject: replbody\nX-Keep: yes\n\nold body\nmarker-oldbody\n")
    ok(codes[-1].startswith("250"), "replbody: queued", codes)
    t = wait_until(20, lambda: delivered("bob", "marker-newbody")) or ""
    ok(t.endswith("\nX-Keep: yes\nX-Body: replaced\n\nnew body\nmarker-newbody\n")
       and "old body" not in t,
       "the body replaced (LF line ends), header kept, a field added at its end", t)

    # discarded message never arrived
    ok(delivered("bob", "marker-discard") is None and delivered("bob", "marker-maildiscard") is None,
       "discarded messages not delivered")
    ok(delivered("bob", "marker-eom") is None and delivered("bob", "marker-tf") is None,
       "refused messages not delivered")

    # down: default=accept delivers, default=tempfail gives 451 4.7.1
    milters("unix:%s/nothing.sock default=accept" % TMP)
    codes = session(port, body="Subject: down\n\nmarker-down\n")
    ok(codes[-1].startswith("250"), "down, default=accept: queued", codes)
    ok(wait_until(20, lambda: delivered("bob", "marker-down")), "down, default=accept: delivered")
    milters("unix:%s/nothing.sock" % TMP)
    c = Client(port)
    is_(c.code("EHLO client.example"), "451 4.7.1", "down, default tempfail: 451 at EHLO")
    is_(c.code("EHLO client.example"), "451 4.7.1", "and again: the milter is not forgotten")
    c.close()

    # a milter that hangs: timeout=2, default=tempfail
    sock, _ = milter_start("hang")
    milters("unix:%s timeout=2" % sock)
    codes = session(port, body="Subject: hang\n\nmarker-hang\n")
    is_(codes[-1][:9], "451 4.7.1", "a hanging milter times out: 451")
    milters("unix:%s timeout=2 default=accept" % sock)
    codes = session(port, body="Subject: hang2\n\nmarker-hang2\n")
    ok(codes[-1].startswith("250"), "a hanging milter, default=accept: queued", codes)

    log = open(QHOME + "/log/smtp/current", errors="replace").read()
    ok("discard" in log, "the discard is logged")


run_main(main)
