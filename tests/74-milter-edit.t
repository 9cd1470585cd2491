#!/usr/bin/env python3
# The milter actions that edit a message (qsmtpd/qsmtpd_milter.c) against
# small milters written with pymilter (Debian's python3-milter, so run by
# /usr/bin/python3), each on a Unix socket in the test's temp dir: a field
# changed, and deleted, by its index among the fields of its name (the
# body of 100 KB moved in the queue file behind the new header); a field
# inserted at index 1 of the fields the milter saw and one added at the
# end of the header; a header change together with a new body; two
# milters, the second seeing the body the first put in; two milters, the
# second changing what the first added; the envelope sender
# changed (with ESMTP arguments, ignored and logged); a quarantine: 250,
# held in the queue with its reason in qstat, never delivered, and
# delivered once "qqueue release" lets it go.
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)
import qmtatest  # noqa: E402 (its milter_start, which this file wraps)

MILTER = r'''
import sys
import Milter

mode, sock, seen = sys.argv[1], sys.argv[2], sys.argv[3]

class T(Milter.Base):
    def header(self, name, value):
        with open(seen, "a") as f:
            f.write("%s: %s\n" % (name, value.replace("\r\n", "\n")))
        return Milter.CONTINUE
    def body(self, chunk):
        with open(seen + ".body", "ab") as f:
            f.write(chunk)
        return Milter.CONTINUE
    def eom(self):
        if mode == "chghdr":
            self.chgheader("Subject", 1, "changed subject")
            self.chgheader("X-Drop", 1, None)
            self.chgheader("X-Multi", 2, "second changed")
            self.chgheader("X-Absent", 1, "was not there")
        if mode == "inshdr":
            self.addheader("X-Ins", "at-1", 1)
            self.addheader("X-End", "last")
        if mode in ("both", "both2"):
            self.chgheader("Subject", 1, "both changed")
            self.replacebody(b"a new body\r\nmarker-bothnew\r\n")
        if mode == "chain1":
            self.addheader("X-Chain", "from the first")
        if mode == "chain2":
            self.chgheader("X-Chain", 1, "from the second")
        if mode == "chgfrom":
            self.chgfrom("<new-sender@test.example>", "BODY=8BITMIME")
        if mode == "quarantine":
            self.quarantine("held by the test milter")
        return Milter.CONTINUE

Milter.factory = T
Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.CHGFROM |
                 Milter.QUARANTINE)
Milter.runmilter("t", "unix:" + sock, 60)
'''

def milter_start(mode):
    return qmtatest.milter_start(MILTER, mode, "editmilter")


def milters(*socks):
    ctl_write("milters", "\n".join("unix:" + s for s in socks))


def session(port, body):
    """one message from ann to bob: the reply to the end of data"""
    c = Client(port)
    c.code("EHLO client.example")
    c.code("MAIL FROM:<ann@far.example>")
    c.code("RCPT TO:<bob@test.example>")
    c.code("DATA")
    c.send(body.replace("\n", "\r\n").encode() + b".\r\n")
    r = c.reply()
    c.code("QUIT")
    c.close()
    return r[-1] if r else "EOF"


def delivered(user, marker):
    for f in glob.glob(QHOME + "/mail/test.example/%s/new/*" % user):
        t = open(f, "rb").read().decode("latin-1")
        if marker in t:
            return t
    return None


def header_of(t):
    """the fields of a message, unfolded: [(name, value)]"""
    out = []
    for line in t.split("\n\n", 1)[0].split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        elif ":" in line:
            name, value = line.split(":", 1)
            out.append((name, value.lstrip(" ")))
    return out


def seen_names(seen):
    if not os.path.exists(seen):
        return []
    names = []
    for line in open(seen, errors="replace").read().split("\n"):
        if line and line[0] not in " \t" and ":" in line:
            names.append(line.split(":", 1)[0])
    return names


def log_text():
    return open(QHOME + "/log/smtp/current", errors="replace").read()


def qsend_log():
    return open(QHOME + "/log/qsend/current", errors="replace").read()


def main():
    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port, users=("bob", "new-sender"))
    inst_start()

    # change and delete by index; 100 KB of body behind the new header
    sock, _ = milter_start("chghdr")
    milters(sock)
    body = "".join("line %05d of the body, to be moved in the queue file\n" % i
                   for i in range(2000)) + "marker-chghdr\n"
    code = session(port, "Subject: original\nX-Drop: goes\nX-Multi: one\nx-multi: two\n"
                         "X-Multi: three\nX-Drop: stays\n\n" + body)
    ok(code.startswith("250"), "chghdr: queued", code)
    t = wait_until(20, lambda: delivered("bob", "marker-chghdr")) or ""
    h = header_of(t)
    ok(("Subject", "changed subject") in h and ("Subject", "original") not in h,
       "the Subject changed", h)
    is_([v for n, v in h if n.lower() == "x-multi"], ["one", "second changed", "three"],
        "the second X-Multi (any case) changed, the others kept")
    is_([v for n, v in h if n == "X-Drop"], ["stays"], "the first X-Drop deleted, the second kept")
    ok(h and h[-1] == ("X-Absent", "was not there"), "a change of a field that is not there adds it at the end", h)
    ok(t.endswith("\n\n" + body), "the body intact behind the new header", t[-200:])

    # insert at index 1 of what the milter saw, add at the end
    sock, seen = milter_start("inshdr")
    milters(sock)
    code = session(port, "Subject: ins\nX-Last: client's last\n\nmarker-inshdr\n")
    ok(code.startswith("250"), "inshdr: queued", code)
    t = wait_until(20, lambda: delivered("bob", "marker-inshdr")) or ""
    names = [n for n, v in header_of(t)]
    s = seen_names(seen)
    ok(len(s) >= 3 and s[0] in ("Received", "Received-SPF", "Authentication-Results"),
       "the milter saw our own fields first", s)
    i = names.index("X-Ins") if "X-Ins" in names else -1
    ok(0 < i < len(names) - 1 and len(s) >= 2 and names[i - 1] == s[0] and names[i + 1] == s[1],
       "X-Ins inserted between the first and second field the milter saw", (names, s))
    ok(names[-2:] == ["X-Last", "X-End"], "X-End added at the end of the header", names)

    # a new header and a new body together
    sock, _ = milter_start("both")
    milters(sock)
    code = session(port, "Subject: both\nX-Keep: yes\n\nold body\nmarker-bothold\n")
    ok(code.startswith("250"), "both: queued", code)
    t = wait_until(20, lambda: delivered("bob", "marker-bothnew")) or ""
    ok("\nSubject: both changed\nX-Keep: yes\n\na new body\nmarker-bothnew\n" in t
       and t.endswith("marker-bothnew\n") and "old body" not in t,
       "header changed and body replaced", t)

    # two milters: the second sees the body the first put in
    sock1, _ = milter_start("both2")
    sock2, seen2 = milter_start("watch")
    milters(sock1, sock2)
    code = session(port, "Subject: both\n\nold body\nmarker-bodychain\n")
    ok(code.startswith("250"), "body chain: queued", code)
    ok(wait_until(20, lambda: len([f for f in glob.glob(QHOME + "/mail/test.example/bob/new/*")
                                   if b"marker-bothnew" in open(f, "rb").read()]) == 2),
       "body chain: delivered")
    b = open(seen2 + ".body", "rb").read() if os.path.exists(seen2 + ".body") else b""
    is_(b, b"a new body\r\nmarker-bothnew\r\n", "the second milter saw the first one's body")

    # two milters: the second sees, and changes, what the first added
    sock1, _ = milter_start("chain1")
    sock2, seen2 = milter_start("chain2")
    milters(sock1, sock2)
    code = session(port, "Subject: chain\n\nmarker-chain\n")
    ok(code.startswith("250"), "chain: queued", code)
    t = wait_until(20, lambda: delivered("bob", "marker-chain")) or ""
    is_([v for n, v in header_of(t) if n == "X-Chain"], ["from the second"],
        "the second milter changed the field the first added")
    ok("X-Chain" in seen_names(seen2), "the second milter saw it")

    # the envelope sender changed; the ESMTP arguments ignored
    sock, _ = milter_start("chgfrom")
    milters(sock)
    code = session(port, "Subject: chgfrom\n\nmarker-chgfrom\n")
    ok(code.startswith("250"), "chgfrom: queued", code)
    t = wait_until(20, lambda: delivered("bob", "marker-chgfrom")) or ""
    ok(t.startswith("Return-Path: <new-sender@test.example>\n"), "the new envelope sender", t[:200])
    ok(wait_until(20, lambda: "milter: sender changed: <ann@far.example> to "
                  "<new-sender@test.example>" in log_text()), "the change is logged")
    ok(wait_until(20, lambda: "ignored: BODY=8BITMIME" in log_text()),
       "its ESMTP arguments are logged as ignored")

    # quarantine: accepted, held with its reason, delivered on release
    sock, _ = milter_start("quarantine")
    milters(sock)
    code = session(port, "Subject: q\n\nmarker-quarantine\n")
    ok(code.startswith("250 2.0.0 ok: queued as "), "quarantine: 250", code)
    qid = code.split()[-1]
    ok(wait_until(20, lambda: ("milter: quarantined %s: held by the test milter" % qid)
                  in log_text()), "qsmtpd logs the quarantine")
    ok(wait_until(20, lambda: ("held %s quarantine: held by the test milter" % qid) in qsend_log()),
       "qsend takes it in on hold")
    st = run("qstat", QHOME).stdout.decode(errors="replace")
    ok(qid in st and "quarantine: held by the test milter" in st, "qstat shows the reason", st)
    ok(any(line.split()[:1] == ["held"] and "<bob@test.example>" in line
           for line in st.split("\n")), "qstat shows the recipient held", st)
    sst = run("qstat", "-s", QHOME).stdout.decode(errors="replace")
    ok("\nheld 1\n" in "\n" + sst, "qstat -s counts it held", sst)
    # a flush, then a later message goes through: qsend did its rounds
    # without the held one
    subprocess.run(["s6-svc", "-a", QHOME + "/service/qsend"])
    milters()
    code = session(port, "Subject: after\n\nmarker-afterq\n")
    ok(wait_until(20, lambda: delivered("bob", "marker-afterq")), "a later message is delivered")
    ok(delivered("bob", "marker-quarantine") is None and ("start %s." % qid) not in qsend_log(),
       "the quarantined message is never tried")
    sh = run("qqueue", "show", qid).stdout.decode(errors="replace")
    ok("\nquarantine: held by the test milter\n" in sh, "qqueue show gives the reason", sh)
    r = run("qqueue", "release", qid)
    is_(r.returncode, 0, "qqueue release: exit 0")
    ok(wait_until(30, lambda: delivered("bob", "marker-quarantine")), "released: delivered")
    st = run("qstat", QHOME).stdout.decode(errors="replace")
    ok(qid not in st, "released: gone from the queue", st)


run_main(main)
