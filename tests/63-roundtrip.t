#!/usr/bin/env python3
# One password everywhere: alice sends through submission (STARTTLS, SMTP
# AUTH checked by qauth), bob reads the message over POP3 and over IMAP,
# byte for byte the same; after qpasswd changes alice's password, the old
# one is refused by SMTP, POP3 and IMAP and the new one works in all three.
import glob
import imaplib
import os
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(sys.argv[0]), ".."))
os.environ["PATH"] = ROOT + "/bin:" + os.environ["PATH"]
TMP = tempfile.mkdtemp(prefix="qmta-test.")
os.chmod(TMP, 0o755)
QHOME = TMP + "/inst"
os.environ["QHOME"] = QHOME
T = {"n": 0, "failed": 0}
SVSCAN = []


def ok(cond, name):
    T["n"] += 1
    if not cond:
        T["failed"] += 1
    print("%sok %d - %s" % ("" if cond else "not ", T["n"], name), flush=True)
    return cond


def is_(got, want, name):
    if not ok(got == want, name):
        print("# got:  %r\n# want: %r" % (got, want), flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bail(why):
    print("Bail out! " + why, flush=True)
    raise SystemExit(1)


def run(*args, stdin=None):
    return subprocess.run(list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


def inst_start():
    SVSCAN.append(subprocess.Popen(["s6-svscan", QHOME + "/service"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for svc in sorted(glob.glob(QHOME + "/service/*/")):
        if not os.path.exists(svc + "notification-fd"):
            continue
        deadline = time.time() + 20
        while not os.path.exists(svc + "supervise/control") and time.time() < deadline:
            time.sleep(0.1)
        if run("s6-svwait", "-U", "-t", "20000", svc).returncode != 0:
            bail("service %s not ready" % svc)


def inst_stop():
    for p in SVSCAN:
        subprocess.run(["s6-svscanctl", "-t", QHOME + "/service"], stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    del SVSCAN[:]


def maildir_files(md):
    """unique name -> path, for the files in new/ and cur/"""
    files = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            if not f.startswith("."):
                files[f.split(":")[0]] = os.path.join(md, sub, f)
    return files


def wire_form(data):
    """the message as POP3 sends it, before dot-stuffing: CRLF line ends"""
    out = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if data and not data.endswith(b"\n"):
        out += b"\r\n"
    return out


def raw_multiline(p, cmd):
    """sends cmd and returns (first line, body) with the body unstuffed
    but otherwise exactly as received (CRLF kept)"""
    p._putcmd(cmd)
    first = p._getresp()
    body = b""
    while True:
        line = p.file.readline(100000)
        if not line:
            raise EOFError("connection closed")
        if line == b".\r\n":
            break
        if line.startswith(b"."):
            line = line[1:]
        body += line
    return first, body


def smtp_login(port, user, pw, ctx):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.starttls(context=ctx)
    try:
        s.login(user, pw)
    except smtplib.SMTPAuthenticationError:
        s.quit()
        return None
    return s


def pop_login(port, user, pw, ctx):
    p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
    p.user(user)
    try:
        p.pass_(pw)
    except poplib.error_proto:
        p.quit()
        return None
    return p


def imap_login(port, user, pw, ctx):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    try:
        m.login(user, pw)
    except imaplib.IMAP4.error:
        return None
    return m


def main():
    sub = free_port()
    pops = free_port()
    imaps = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--submission", "127.0.0.1:%d" % sub,
            "--pop3s", "127.0.0.1:%d" % pops, "--imaps", "127.0.0.1:%d" % imaps)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    for user, pw in (("alice@test.example", b"alice one\n"), ("bob@test.example", b"bob one\n")):
        if run("qpasswd", QHOME, user, stdin=pw).returncode != 0:
            bail("qpasswd failed")
    with open(QHOME + "/control/authdelay", "w") as f:
        f.write("100\n")
    with open(QHOME + "/control/authdelaymax", "w") as f:
        f.write("400\n")
    inst_start()
    ctx = ssl.create_default_context(cafile=QHOME + "/tls/cert.pem")
    ctx.check_hostname = False
    bob = QHOME + "/mail/test.example/bob"

    # 1. alice sends through submission with SMTP AUTH
    s = smtp_login(sub, "alice@test.example", "alice one", ctx)
    if not ok(s is not None, "alice logs in to submission (STARTTLS, AUTH)"):
        bail("no SMTP login")
    body = (b"From: alice@test.example\r\nTo: bob@test.example\r\nSubject: hello bob\r\n"
            b"\r\nfirst line\r\n.starts with a dot\r\n\xc3\xa9t\xc3\xa9\r\n")
    refused = s.sendmail("alice@test.example", ["bob@test.example"], body)
    s.quit()
    is_(refused, {}, "the message is accepted")
    deadline = time.time() + 30
    while not maildir_files(bob) and time.time() < deadline:
        time.sleep(0.2)
    files = maildir_files(bob)
    if not ok(len(files) == 1, "delivered to bob's Maildir"):
        bail("no delivery")
    with open(list(files.values())[0], "rb") as f:
        stored = f.read()
    ok(b"\nfirst line\n.starts with a dot\n\xc3\xa9t\xc3\xa9\n" in stored,
       "the body is stored with its dots and 8-bit bytes")

    # 2. bob reads it over POP3 and over IMAP: the same bytes
    p = pop_login(pops, "bob@test.example", "bob one", ctx)
    if not ok(p is not None, "bob logs in over POP3"):
        bail("no POP3 login")
    lines = p.retr(1)[1]
    p.quit()
    via_pop = b"\r\n".join(lines) + b"\r\n"
    m = imap_login(imaps, "bob@test.example", "bob one", ctx)
    if not ok(m is not None, "bob logs in over IMAP"):
        bail("no IMAP login")
    m.select("INBOX")
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    m.logout()
    via_imap = data[0][1]
    expect = stored.replace(b"\n", b"\r\n")
    is_(via_pop, expect, "POP3 RETR: the Maildir file with CRLF line ends")
    is_(via_imap, expect, "IMAP FETCH: the same bytes")
    ok(b"Subject: hello bob" in via_imap and b"From: alice@test.example" in via_imap,
       "the message bob reads is alice's")

    # 3. wrong passwords everywhere
    ok(smtp_login(sub, "alice@test.example", "bob one", ctx) is None, "SMTP: wrong password")
    ok(pop_login(pops, "alice@test.example", "bob one", ctx) is None, "POP3: wrong password")
    ok(imap_login(imaps, "alice@test.example", "bob one", ctx) is None, "IMAP: wrong password")

    # 4. qpasswd changes alice's password for all three at once
    if run("qpasswd", QHOME, "alice@test.example", stdin=b"alice two\n").returncode != 0:
        bail("qpasswd failed")
    ok(smtp_login(sub, "alice@test.example", "alice one", ctx) is None, "SMTP: old password refused")
    ok(pop_login(pops, "alice@test.example", "alice one", ctx) is None, "POP3: old password refused")
    ok(imap_login(imaps, "alice@test.example", "alice one", ctx) is None,
       "IMAP: old password refused")
    s = smtp_login(sub, "alice@test.example", "alice two", ctx)
    ok(s is not None, "SMTP: new password works")
    if s is not None:
        s.quit()
    p = pop_login(pops, "alice@test.example", "alice two", ctx)
    ok(p is not None, "POP3: new password works")
    if p is not None:
        p.quit()
    m = imap_login(imaps, "alice@test.example", "alice two", ctx)
    ok(m is not None, "IMAP: new password works")
    if m is not None:
        m.logout()

try:
    main()
except SystemExit:
    raise
except Exception as e:  # a crash of the test itself is a failure
    import traceback
    traceback.print_exc(file=sys.stdout)
    ok(False, "test ran to the end: %s" % e)
finally:
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
print("1..%d" % T["n"])
sys.exit(1 if T["failed"] else 0)
