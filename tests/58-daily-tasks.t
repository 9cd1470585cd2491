#!/usr/bin/env python3
# The recipes of qmta-admin(7), "COMING FROM SENDMAIL/POSTFIX: DAILY TASKS",
# taken from the man page's source (the lines between each '.\" recipe
# NAME' mark and the next .fi) and run as printed, with /var/qmta, the
# example queue id and /root/new/ replaced by this test's: trace a message,
# delete a spam run, hold and release the queue, add a domain with a user
# and an alias, remove them, rotate the certificate; and, from THE QUEUE,
# move a stuck queue aside. Each recipe runs with sh -e: a failing line
# fails the test; then its effect is checked.
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

PAGE = os.path.join(ROOT, "control", "qmta-admin.7")
EXAMPLE_ID = "HKZ1Q0B7W83F2K"


def recipes():
    """name -> the recipe's shell lines, as the man page prints them"""
    out = {}
    name = None
    for line in open(PAGE, encoding="utf-8").read().splitlines():
        m = re.match(r'^\.\\" recipe (\S+)$', line)
        if m:
            name = m.group(1)
            out[name] = []
            continue
        if name is None:
            continue
        if line == ".fi":
            name = None
        elif not line.startswith("."):
            out[name].append(line.replace("\\-", "-").replace("\\e", "\\"))
    return out


def run_recipe(lines, subst, stdin=b""):
    script = "\n".join(lines)
    for a, b in subst.items():
        script = script.replace(a, b)
    r = subprocess.run(["sh", "-e", "-c", script], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120, cwd=TMP)
    return r.returncode, r.stdout.decode(errors="replace"), script


def smtp_send(port, sender, rcpts, subject):
    """one message over SMTP from 127.0.0.1: the queue id of the 250 reply"""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    s.mail(sender)
    for r in rcpts:
        s.rcpt(r)
    code, text = s.data(("From: %s\r\nSubject: %s\r\n\r\n%s\r\n" % (sender, subject, subject))
                        .encode())
    s.quit()
    m = re.search(r"queued as (\S+)", text.decode())
    return m.group(1) if code == 250 and m else None


def rcpt_code(port, rcpt):
    """the reply code to RCPT TO:<rcpt> from 127.0.0.1"""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    s.mail("x@elsewhere.test")
    code = s.rcpt(rcpt)[0]
    s.quit()
    return code


def queued(*filters):
    r = subprocess.run(["qstat"] + list(filters) + [QHOME], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return r.stdout.decode(errors="replace")


def delivered(md, text):
    for sub in ("new", "cur"):
        d = os.path.join(md, sub)
        for f in os.listdir(d) if os.path.isdir(d) else []:
            with open(os.path.join(d, f), "rb") as fh:
                if text.encode() in fh.read():
                    return True
    return False


def served_cert(port):
    """the DER certificate the SMTP listener shows after STARTTLS"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    s.starttls(context=ctx)
    der = s.sock.getpeercert(binary_form=True)
    s.quit()
    return der


def main():
    port = free_port()
    r = run("qsetup", QHOME, "--me", "mx.example.org", "--smtp", "127.0.0.1:%d" % port)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    with open(QHOME + "/control/locals", "a") as f:
        f.write("example.org\n")
    with open(QHOME + "/control/rcpthosts", "a") as f:
        f.write("example.org\n")
    for user in ("joe@example.org", "kim@example.org"):
        if run("qpasswd", QHOME, user, stdin=b"a password\n").returncode != 0:
            bail("qpasswd failed")
    # remote mail waits: the smarthost refuses connections, retries an hour apart
    dead = free_port()
    ctl_write("smtproutes", ":127.0.0.1:%d" % dead)
    ctl_write("backoffmin", 3600)
    ctl_write("backoffmax", 3600)
    inst_start()
    book = recipes()
    is_(sorted(book), ["aside", "cert", "deluser", "domain", "hold", "spamrun", "trace"],
        "the page has the seven recipes")
    base = {"/var/qmta": QHOME}

    # trace: a message delivered here; its id in every log line of its life
    qid = smtp_send(port, "x@elsewhere.test", ["kim@example.org"], "trace me")
    ok(qid is not None, "the 250 reply names the queue id (%s)" % qid)
    ok(wait_until(30, lambda: delivered(QHOME + "/mail/example.org/kim", "trace me"), 0.2),
       "... and the message is delivered")
    wait_until(10, lambda: "end " + str(qid) in open(QHOME + "/log/qsend/current").read(), 0.2)
    rc, out, script = run_recipe(book["trace"], dict(base, **{EXAMPLE_ID: str(qid)}))
    ok(rc == 0 and "qsmtpd" in out and "qsend" in out and "delivery" in out,
       "trace: the logs show its acceptance and its delivery", out)

    # spamrun: joe's account sent a run; kim's mail stays
    for k in range(3):
        run("qinject", "-f", "joe@example.org", "victim%d@far.test" % k,
            stdin=b"Subject: spam\n\nspam\n")
    run("qinject", "-f", "kim@example.org", "friend@far.test", stdin=b"Subject: hi\n\nhi\n")
    ok(wait_until(30, lambda: queued().count("joe@example.org") == 3, 0.2),
       "three messages from joe wait in the queue")
    rc, out, script = run_recipe(book["spamrun"], base)
    ok(rc == 0 and out.count("joe@example.org") >= 3, "spamrun: runs, and mailq lists joe's run",
       out)
    ok(wait_until(30, lambda: "joe@example.org" not in queued(), 0.2),
       "spamrun: nothing of joe's is left in the queue")
    ok("kim@example.org" in queued(), "spamrun: kim's message is still queued")
    users = open(QHOME + "/control/users").read()
    ok(re.search(r"(?m)^joe@example\.org:!$", users), "spamrun: joe's account is locked", users)

    # hold: everything held, then released
    rc, out, script = run_recipe(book["hold"], base)
    ok(rc == 0 and "held" in out, "hold: runs, and mailq in between shows the message held", out)
    ok("held" not in queued() and "kim@example.org" in queued(),
       "hold: released at the end, still queued")

    # domain: a new domain, a user and an alias, used at once
    rc, out, script = run_recipe(book["domain"], base, stdin=b"ann's password\n")
    is_(rc, 0, "domain: runs")
    for rcpt, subj in (("ann@example.net", "to ann"), ("sales@example.net", "to sales")):
        got = smtp_send(port, "x@elsewhere.test", [rcpt], subj)
        ok(got is not None and wait_until(
            30, lambda: delivered(QHOME + "/mail/example.net/ann", subj), 0.2),
           "domain: mail to %s reaches ann's Maildir at once" % rcpt)

    # deluser: ann and her alias go; both addresses are refused at RCPT
    rc, out, script = run_recipe(book["deluser"], base)
    is_(rc, 0, "deluser: runs")
    for rcpt in ("ann@example.net", "sales@example.net"):
        is_(rcpt_code(port, rcpt), 550, "deluser: RCPT TO:<%s> is refused" % rcpt)
    ok(os.path.isdir(QHOME + "/mail/example.net/ann/new"), "deluser: the Maildir stays")

    # cert: a new key and certificate, served from the next session on
    new = os.path.join(TMP, "new")
    os.makedirs(new)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", new + "/key.pem", "-out", new + "/cert.pem", "-days", "90",
                    "-subj", "/CN=mx.example.org", "-addext", "subjectAltName=DNS:mx.example.org"],
                   check=True, capture_output=True, timeout=60)
    want = subprocess.run(["openssl", "x509", "-in", new + "/cert.pem", "-outform", "DER"],
                          check=True, capture_output=True, timeout=30).stdout
    ok(served_cert(port) != want, "cert: the old certificate is served before")
    rc, out, script = run_recipe(book["cert"], dict(base, **{"/root/new/": new + "/"}))
    ok(rc == 0 and out.strip() == "", "cert: runs, and qconf check finds nothing", out)
    is_(served_cert(port), want, "cert: the next session shows the new certificate")

    # aside: kim's deferred message moves with the queue into a second
    # instance and runs there under its own qsend; the first gets a new
    # queue. The recipe's lines lose their "# " prompt; its s6-svscan line
    # is done here, so that both supervisors are stopped by PID at the end.
    old = QHOME + "-old"
    lines = [ln[2:] for ln in book["aside"]]
    start = [i for i, ln in enumerate(lines) if ln.startswith("s6-svscan ")]
    ok(len(start) == 1, "aside: one line starts the two instances", lines)
    subst = dict(base, **{"DIR": QHOME, "HOST": "mx.example.org"})
    rc, out, script = run_recipe(lines[:start[0]], subst)
    ok(rc == 0, "aside: the lines up to the start run", script + "\n" + out)
    for p in SVSCAN:
        p.wait(timeout=30)
    SVSCAN[:] = []
    inst_start()
    OLD.append(subprocess.Popen(["s6-svscan", old + "/service"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL))
    # s6-svwait fails at once while s6-svscan has not made supervise/ yet
    wait_until(20, lambda: os.path.exists(old + "/service/qsend/supervise/status"), 0.1)
    ok(run("s6-svwait", "-U", "-t", "20000", old + "/service/qsend").returncode == 0,
       "aside: the old instance's qsend is up")
    rc, out, script = run_recipe(lines[start[0] + 1:], subst)
    ok(rc == 0 and "kim@example.org" in out and "friend@far.test" in out,
       "aside: qstat of the old instance lists kim's message", out)
    ok("kim@example.org" not in queued(), "aside: the live queue is a new one")
    run("s6-svc", "-a", old + "/service/qsend")
    ok(wait_until(30, lambda: "friend@far.test deferred" in
                  open(old + "/log/qsend/current").read(), 0.2),
       "aside: the old queue is tried by its own qsend",
       open(old + "/log/qsend/current").read())
    got = smtp_send(port, "x@elsewhere.test", ["kim@example.org"], "after the move")
    ok(got is not None and wait_until(
        30, lambda: delivered(QHOME + "/mail/example.org/kim", "after the move"), 0.2),
       "aside: the live instance takes and delivers mail")


OLD = []  # s6-svscan of the instance the aside recipe makes


def cleanup():
    for p in OLD:
        svscan_stop(p, QHOME + "-old")
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


run_main(main, cleanup)
