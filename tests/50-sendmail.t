#!/usr/bin/env python3
# sendmail: the flags mail programs pass, headers it adds and removes, -t,
# the lone dot, generics and masquerading (only for mail sent through it),
# s-nail and mutt calling it unchanged, -qR requests, mailq/newaliases/-bs.
# The instance is made by qsetup (or by hand if qsetup is not built) and
# no daemon runs: each message is read back from queue/new.
import fcntl
import os
import pwd
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]
SENDMAIL = os.path.join(BIN, "sendmail")
if not os.path.exists(SENDMAIL):
    SENDMAIL = os.path.join(ROOT, "qinject", "sendmail")
PLAN = 62

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import T, TMP, tap_ok as ok, tap_skip as skip  # noqa: E402


tmp = TMP
home = os.path.join(tmp, "inst")
os.environ["QHOME"] = home
Q = os.path.join(home, "queue")
CONTROL = os.path.join(home, "control")
ME_USER = pwd.getpwuid(os.getuid()).pw_name
# mailq and newaliases: links to sendmail, as make build and make install make them
LINKS = os.path.join(tmp, "links")
os.mkdir(LINKS)
for link in ("mailq", "newaliases"):
    os.symlink(os.path.realpath(SENDMAIL), os.path.join(LINKS, link))


def make_instance():
    if shutil.which("qsetup"):
        r = subprocess.run(["qsetup", home, "--me", "test.example"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            return "qsetup"
        print("# qsetup failed, using a hand-made queue: " + r.stdout.decode(errors="replace"))
        shutil.rmtree(home, ignore_errors=True)
    os.makedirs(CONTROL)
    for d in ("tmp", "new", "mess", "info", "bounce"):
        os.makedirs(os.path.join(Q, d))
        os.chmod(os.path.join(Q, d), 0o2770)
    os.mkfifo(os.path.join(Q, "trigger"))
    os.chmod(os.path.join(Q, "trigger"), 0o660)
    return "by hand"


def set_control(name, value):
    fn = os.path.join(CONTROL, name)
    if value is None:
        if os.path.exists(fn):
            os.unlink(fn)
    else:
        with open(fn, "w") as f:
            f.write(value)


def take():
    """Removes the only queue file of queue/new and returns (message, sender, rcpts)."""
    names = sorted(os.listdir(os.path.join(Q, "new")))
    for n in names:
        data = open(os.path.join(Q, "new", n), "rb").read()
        os.unlink(os.path.join(Q, "new", n))
    if len(names) != 1:
        return None, None, None
    n = int(data[3:23])
    msg = data[24:24 + n]
    recs = data[24 + n:-1].split(b"\0")
    sender = [r[1:] for r in recs if r[:1] == b"F"][0]
    rcpts = [r[1:] for r in recs if r[:1] == b"R"]
    return msg, sender, rcpts


def header(msg, name):
    """Values of header field name (unfolded) in msg."""
    head = msg.split(b"\n\n", 1)[0].decode(errors="replace")
    head = re.sub(r"\n[ \t]", " ", head)
    out = []
    for line in head.split("\n"):
        if line.lower().startswith(name.lower() + ":"):
            out.append(line[len(name) + 1:].strip())
    return out


def body(msg):
    return msg.split(b"\n\n", 1)[1] if b"\n\n" in msg else b""


def send(args, data, **kw):
    r = subprocess.run([SENDMAIL] + args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, **kw)
    return r


try:
    how = make_instance()
    print("1..%d" % PLAN)
    print("# instance made " + how)
    set_control("me", "test.example\n")
    set_control("locals", "test.example\nlocal.example\n")
    for f in ("generics", "generics.cdb", "masquerade", "masquerade_exceptions",
              "masquerade_envelope"):
        set_control(f, None)

    # --- plain sending ---------------------------------------------------
    r = send(["ann@example.org"], b"Subject: one\n\nbody one\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and msg is not None, "sendmail rcpt < message: exit 0, queued", r.stderr)
    msg = msg or b""
    ok(sender == ("%s@test.example" % ME_USER).encode() and rcpts == [b"ann@example.org"],
       "envelope: the invoking user at control/me, the recipient", (sender, rcpts))
    ok(len(header(msg, "Date")) == 1 and re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$",
                                                 header(msg, "Date")[0]) is not None,
       "Date: added", header(msg, "Date"))
    ok(len(header(msg, "Message-ID")) == 1 and
       re.match(r"^<[^<>@ ]+@test\.example>$", header(msg, "Message-ID")[0]) is not None,
       "Message-ID: added", header(msg, "Message-ID"))
    ok(len(header(msg, "From")) == 1 and
       header(msg, "From")[0].endswith("<%s@test.example>" % ME_USER),
       "From: added with the user's address", header(msg, "From"))
    ok(body(msg) == b"body one\n" and header(msg, "Subject") == ["one"], "subject and body kept")

    r = send(["-F", "Ann \"the\" Admin", "-f", "Ops@Example.ORG", "bob@example.org"],
             b"Subject: two\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and sender == b"Ops@example.org", "-f sets the envelope sender",
       (r.stderr, sender))
    ok(msg is not None and header(msg, "From") == ['"Ann \\"the\\" Admin" <Ops@example.org>'],
       "-F full name (quoted) in the added From:", msg and header(msg, "From"))

    r = send(["-f", "", "bob@example.org"], b"From: daemon@test.example\nSubject: b\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and sender == b"" and header(msg or b"", "From") == ["daemon@test.example"],
       "-f '' null sender; an existing From: is kept", (r.stderr, sender))

    r = send(["-oem", "-odi", "-B8BITMIME", "-v", "-m", "-Fcron", "-i", "--",
              "root"], b"Subject: flags\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and rcpts == [b"root@test.example"],
       "flags of cron and mail programs accepted; bare recipient qualified", (r.stderr, rcpts))
    r = send(["-odb", "-odq", "-oep", "-om", "-oL9", "-O", "DeliveryMode=b", "-OErrorMode=m",
              "-h", "5", "-p", "local", "-Ac", "-Lapp", "-U", "-n", "-G", "d@example.org"],
             b"Subject: flags\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and rcpts == [b"d@example.org"],
       "the other harmless sendmail options are accepted", r.stderr)
    r = send(["x@example.org", "x@Example.ORG", "y@example.org", "x@example.org"],
             b"Subject: twice\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and rcpts == [b"x@example.org", b"y@example.org"],
       "a recipient named twice (domain in any case) gets one copy", (r.stderr, rcpts))
    r = send(["-OIgnoreDots=true", "c@example.org"], b"Subject: dot\n\na\n.\nafter\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == b"a\n.\nafter\n", "-O IgnoreDots=true is -oi",
       r.stderr)

    # --- -q needs a qsend: it holds queue/lock while it runs -----------------
    r = send(["-q"], b"")
    ok(r.returncode == 111 and b"qsend is not running" in r.stderr,
       "-q without a qsend: exit 111, one line that says so", r.stderr)
    # from here on this test holds the lock, as a running qsend would
    lockfd = os.open(os.path.join(Q, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(lockfd, fcntl.LOCK_EX)

    # --- options that would be ignored are refused, never dropped silently --
    flushdir = os.path.join(Q, "flush")
    def flush_requests():
        if not os.path.isdir(flushdir):
            return []
        return [n for n in os.listdir(flushdir) if not n.startswith(".")]
    r = send(["-oQ/var/spool/omqueue", "-q"], b"")
    err = r.stderr.decode(errors="replace")
    ok(r.returncode == 100 and err.count("\n") == 1 and
       err.startswith("sendmail: fatal: unsupported option -oQ/var/spool/omqueue: ") and
       "qsend" in err, "-oQ another queue -q: refused, one line, exit 100 (the live queue is "
       "not flushed)", err)
    r = send(["-O", "QueueDirectory=/var/spool/omqueue", "-qRexample"], b"")
    ok(r.returncode == 100 and flush_requests() == [],
       "-O QueueDirectory= another queue: refused, no flush request written", r.stderr)
    r = send(["-oQ/nowhere", "e@example.org"], b"Subject: q\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 100 and msg is None, "-oQ another queue when sending: refused, nothing queued",
       r.stderr)
    r = send(["-oQ" + Q, "-qRexample.org"], b"")
    reqs = flush_requests()
    ok(len(reqs) == 1, "-oQ naming this instance's own queue is accepted", (r.stderr, reqs))
    for n in reqs:
        os.unlink(os.path.join(flushdir, n))
    for args, what in ((["-oX"], "-oX"), (["-oA/etc/aliases"], "-oA"), (["-OFoo=1"], "-O Foo=1"),
                       (["-C", "/etc/mail/sendmail.cf"], "-C"), (["-X", "/tmp/t"], "-X"),
                       (["-Ax"], "-A"), (["-x"], "-x")):
        r = send(args + ["f@example.org"], b"Subject: o\n\nx\n")
        msg, sender, rcpts = take()
        ok(r.returncode == 100 and msg is None and r.stderr.count(b"\n") == 1,
           "unknown or unsupported %s: refused with one line, exit 100" % what, r.stderr)

    # --- the lone dot, -i, mbox From line, CRLF ---------------------------
    r = send(["c@example.org"], b"From someone Mon Jan  1 00:00:00 2024\nSubject: dot\n\na\n.\nafter\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == b"a\n", "a lone dot ends the message", msg)
    ok(msg is not None and b"From someone" not in msg, "an mbox From line at the start is dropped")
    r = send(["-oi", "c@example.org"], b"Subject: dot\n\na\n.\nafter\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == b"a\n.\nafter\n", "-oi: the dot is a line", msg)
    r = send(["c@example.org"], b"Subject: crlf\r\n\r\nline\r\n.\r\nafter\r\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == b"line\n" and header(msg, "Subject") == ["crlf"],
       "CRLF input: lone dot line ends it, LF stored", msg)
    r = send(["c@example.org"], b"no header at all\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == b"no header at all\n" and
       len(header(msg, "From")) == 1, "a message without header gets one, body intact", msg)
    data = b"Subject: long\n\n" + b"y" * 5000 + b"\n..two dots\n\xff\xfe8bit\n"
    r = send(["-i", "c@example.org"], data)
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and body(msg or b"") == data.split(b"\n\n", 1)[1],
       "long lines, dots and 8-bit bytes pass through", r.stderr)

    # --- -t ---------------------------------------------------------------
    r = send(["-t", "-i", "extra@example.net"],
             b"To: Ann <ann@example.org>, bob\nCc: \"Doe, J\" <jd@example.com>,\n ann@example.org\n"
             b"Bcc: secret@example.net\nSubject: t\n\nbody\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and sorted(rcpts or []) == sorted(
        [b"ann@example.org", b"bob@test.example", b"jd@example.com", b"secret@example.net",
         b"extra@example.net"]),
       "-t: To, Cc, Bcc and the command line, duplicates once", (r.stderr, rcpts))
    ok(msg is not None and header(msg, "Bcc") == [] and b"secret" not in msg, "Bcc: removed")
    ok(msg is not None and header(msg, "To") == ["Ann <ann@example.org>, bob@test.example"],
       "bare To: address qualified, the rest untouched", msg and header(msg, "To"))
    r = send(["-t"], b"Subject: nobody\n\nx\n")
    ok(r.returncode == 100 and os.listdir(os.path.join(Q, "new")) == [],
       "-t without recipients: 100, nothing queued", r.stderr)
    r = send(["-t"], b"To: a@@\nSubject: bad\n\nx\n")
    ok(r.returncode == 100 and os.listdir(os.path.join(Q, "new")) == [],
       "-t with a bad To: address: 100", r.stderr)
    r = send(["-t"], b"To: undisclosed-recipients:;\nBcc: hidden@example.org\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and rcpts == [b"hidden@example.org"], "empty group in To:, Bcc only",
       (r.stderr, rcpts))

    # --- usage --------------------------------------------------------------
    r = send([], b"x\n")
    ok(r.returncode == 100 and b"usage" in r.stderr, "no recipient: usage, 100", r.stderr)
    r = send(["-Z", "a@example.org"], b"x\n")
    ok(r.returncode == 100 and b"usage" in r.stderr, "unknown flag: usage, 100", r.stderr)
    r = send(["-bd"], b"")
    ok(r.returncode == 100, "daemon mode refused", r.stderr)

    # --- refused by qinject ---------------------------------------------------
    set_control("databytes", "1000\n")
    r = send(["a@example.org"], b"Subject: big\n\n" + b"z" * 5000 + b"\n")
    ok(r.returncode == 100 and os.listdir(os.path.join(Q, "new")) == [],
       "over databytes: qinject refuses, sendmail exits 100", r.stderr)
    set_control("databytes", None)

    # --- generics and masquerading -----------------------------------------
    set_control("generics", "# comment\n%s\tThe.Admin@Example.ORG\nops@local.example ops-team@example.org\n"
                % ME_USER.upper())
    r = send(["x@example.net"], b"Subject: g\nReply-To: ops@local.example\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and msg is not None and
       header(msg, "From")[0].endswith("<The.Admin@example.org>"),
       "generics (text): the added From: rewritten", msg and header(msg, "From"))
    ok(msg is not None and header(msg, "Reply-To") == ["ops-team@example.org"],
       "generics user@host key: Reply-To: rewritten", msg and header(msg, "Reply-To"))
    ok(sender == ("%s@test.example" % ME_USER).encode(),
       "envelope sender left alone without masquerade_envelope", sender)
    set_control("masquerade_envelope", "")
    r = send(["x@example.net"], b"Subject: g\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and sender == b"The.Admin@example.org",
       "masquerade_envelope: the envelope sender rewritten too", sender)
    set_control("masquerade_envelope", None)

    if shutil.which("cdb"):
        with open(os.path.join(CONTROL, "generics.src"), "w") as f:
            f.write("%s cdb-admin@example.org\n" % ME_USER.lower())
        subprocess.run("cdb -c -m %s/generics.cdb < %s/generics.src" % (CONTROL, CONTROL),
                       shell=True, check=False)
        r = send(["x@example.net"], b"Subject: g\n\nx\n")
        msg, sender, rcpts = take()
        ok(r.returncode == 0 and msg is not None and
           header(msg, "From")[0].endswith("<cdb-admin@example.org>"),
           "generics.cdb is preferred to the text file", msg and header(msg, "From"))
        os.unlink(os.path.join(CONTROL, "generics.cdb"))
    else:
        skip("generics.cdb is preferred to the text file", "no cdb tool")
    set_control("generics", None)

    set_control("masquerade", "Example.COM\n")
    set_control("masquerade_exceptions", "root\n")
    r = send(["x@example.net"], b"From: alice\nSender: root@test.example\nTo: bob\n"
                                b"Reply-To: carol@local.example, dave@elsewhere.example\n\nx\n")
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and msg is not None and header(msg, "From") == ["alice@example.com"],
       "masquerade: bare From: user gets the masquerade domain", msg and header(msg, "From"))
    ok(msg is not None and header(msg, "Sender") == ["root@test.example"],
       "masquerade_exceptions: root keeps its host", msg and header(msg, "Sender"))
    ok(msg is not None and header(msg, "Reply-To") == ["carol@example.com, dave@elsewhere.example"],
       "masquerade: only local hosts rewritten", msg and header(msg, "Reply-To"))
    ok(msg is not None and header(msg, "To") == ["bob@test.example"],
       "recipient headers are not masqueraded", msg and header(msg, "To"))

    qi = shutil.which("qinject") or os.path.join(ROOT, "qinject", "qinject")
    r = subprocess.run([qi, "-f", "alice@test.example", "x@example.net"],
                       input=b"From: alice@test.example\n\nx\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    msg, sender, rcpts = take()
    ok(r.returncode == 0 and sender == b"alice@test.example" and
       header(msg or b"", "From") == ["alice@test.example"],
       "qinject itself never rewrites", (r.stderr, sender))
    set_control("masquerade", None)
    set_control("masquerade_exceptions", None)

    # --- mail programs -------------------------------------------------------
    snail = shutil.which("s-nail") or shutil.which("mail")
    if snail:
        env = dict(os.environ, HOME=tmp, MAILRC="/dev/null")
        r = subprocess.run([snail, "-n", "-S", "mta=" + SENDMAIL, "-S", "sendwait",
                            "-s", "hello from s-nail", "user@example.org"],
                           input=b"body from s-nail\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=30)
        msg, sender, rcpts = take()
        ok(r.returncode == 0 and rcpts == [b"user@example.org"] and msg is not None and
           header(msg, "Subject") == ["hello from s-nail"] and b"body from s-nail\n" in body(msg),
           "s-nail: echo body | mail -s subject user", (r.stderr, msg))
    else:
        skip("s-nail: echo body | mail -s subject user", "no s-nail")

    mutt = shutil.which("mutt")
    if mutt:
        env = dict(os.environ, HOME=tmp, EMAIL="")
        r = subprocess.run([mutt, "-n", "-F", "/dev/null",
                            "-e", "set sendmail=\"%s\"" % SENDMAIL,
                            "-e", "set copy=no", "-e", "set use_from=yes",
                            "-e", "set from=\"Mutt User <mutt@test.example>\"",
                            "-s", "hello from mutt", "user2@example.org"],
                           input=b"body from mutt\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=30)
        msg, sender, rcpts = take()
        ok(r.returncode == 0 and rcpts == [b"user2@example.org"] and msg is not None and
           header(msg, "Subject") == ["hello from mutt"] and b"body from mutt" in body(msg),
           "mutt -s subject user < body", (r.returncode, r.stderr, msg))
    else:
        skip("mutt -s subject user < body", "no mutt")

    # --- a local user through the setgid qinject ------------------------------
    setgid_qi = os.path.join(home, "bin", "qinject")
    if os.getuid() == 0 and os.path.exists(setgid_qi) and os.stat(setgid_qi).st_mode & 0o2000:
        nobody = pwd.getpwnam("nobody")

        def become_nobody():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        r = send(["x@example.net"], b"Subject: from nobody\n\nx\n", preexec_fn=become_nobody,
                 cwd="/")
        msg, sender, rcpts = take()
        ok(r.returncode == 0 and sender == b"nobody@test.example",
           "a local user sends through QHOME/bin/qinject", (r.stderr, sender))
    else:
        skip("a local user sends through QHOME/bin/qinject", "no setgid QHOME/bin/qinject")

    # --- -q, mailq, newaliases, -bs ------------------------------------------
    r = send(["-qRexample.NET"], b"")
    reqdir = os.path.join(Q, "flush")
    reqs = [n for n in (os.listdir(reqdir) if os.path.isdir(reqdir) else []) if not n.startswith(".")]
    content = open(os.path.join(reqdir, reqs[0])).read() if len(reqs) == 1 else None
    ok(content == "Rexample.NET\n", "-qR writes a flush request for qsend in queue/flush/",
       (r.stderr, reqs, content))
    ok(os.stat(reqdir).st_mode & 0o2050 == 0o2050 if os.path.isdir(reqdir) else False,
       "queue/flush is a setgid directory qsend's group reads")
    for n in reqs:
        os.unlink(os.path.join(reqdir, n))

    if shutil.which("qstat"):
        send(["q@example.org"], b"Subject: listed\n\nx\n")
        r = subprocess.run([os.path.join(LINKS, "mailq")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        ok(r.returncode == 0 and b"q@example.org" in r.stdout, "mailq lists the queue",
           (r.stdout, r.stderr))
        take()
    else:
        skip("mailq lists the queue", "qstat not built")

    if shutil.which("qnewmaps"):
        set_control("generics", "joe joe@example.org\n")
        r = subprocess.run([os.path.join(LINKS, "newaliases")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        ok(r.returncode == 0 and os.path.exists(os.path.join(CONTROL, "generics.cdb")),
           "newaliases compiles the maps", r.stderr)
        set_control("generics", None)
        set_control("generics.cdb", None)
    else:
        skip("newaliases compiles the maps", "qnewmaps not built")

    # -bv: where the maps send each address, nothing sent
    if shutil.which("qnewmaps"):
        set_control("users", "ann@test.example:!\n")
        set_control("aliases", "info: ann, far@remote.example\n")
        subprocess.run(["qnewmaps", home], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        before = os.listdir(os.path.join(Q, "new"))
        r = send(["-bv", "ann@test.example", "info", "x@remote.example"], b"")
        ok(r.stdout.decode(errors="replace") ==
           "ann@test.example... deliverable: mailbox mail/test.example/ann/\n"
           "info@test.example... deliverable: alias to ann, far@remote.example\n"
           "x@remote.example... deliverable: relayed to remote.example\n",
           "-bv: a user's mailbox, an alias's targets, a relayed address", (r.stdout, r.stderr))
        ok(r.returncode == 0 and os.listdir(os.path.join(Q, "new")) == before,
           "-bv: exit 0 when all are deliverable, nothing queued", (r.returncode, r.stderr))
        r = send(["-bv", "ann", "nobody@test.example"], b"")
        ok(r.returncode == 100 and
           r.stdout.endswith(b"nobody@test.example... User unknown\n"),
           "-bv: an unknown user says so, exit 100", (r.returncode, r.stdout, r.stderr))
        for f in ("users", "users.cdb", "aliases", "aliases.cdb", "passwords.cdb"):
            set_control(f, None)
    else:
        for _ in range(3):
            skip("-bv", "qnewmaps not built")

    if shutil.which("qsmtpd"):
        r = send(["-bs"], b"QUIT\r\n")
        ok(r.stdout.startswith(b"220") and b"221" in r.stdout, "-bs speaks SMTP on stdin/stdout",
           (r.stdout, r.stderr))
    else:
        skip("-bs speaks SMTP on stdin/stdout", "qsmtpd not built")
finally:
    if os.environ.get("KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != PLAN else 0)
