# Shared by the DKIM tests in the running system (tests/70-dkim-smtp.t,
# tests/76-qinject-dkim.t): keys made with qdkim-keygen, one SMTP
# transaction, the messages that arrive in a Maildir and their header
# fields, a dnsfunc for dkimpy over the fake DNS's zone, services taken
# down and up, the services' logs. Needs python3-dkim and python3-dnslib
# (the caller checks, and skips without them).
#   from qmtatest import *
#   from dkimtest import keygen, fetch, ...
import os
import subprocess
import time

from fakedns import ZONE
from qmtatest import (QHOME, TMP, Client, bail, ctl_write, free_port, maildir_files, run,
                      svc_ready, wait_until)

BOB_MD = QHOME + "/mail/test.example/bob"


def dkim_instance(dnsport, access=None):
    """qsetup with port 25 and submission on free ports, bob@test.example
    with a password, plaintext AUTH, the fake DNS as resolver, control/access
    (if given), maps built; our key (test.example s1, in control/dkim) and a
    signer's (signer.example sel, outside): (port, sub, ours, theirs,
    their PEM key)"""
    port = free_port()
    sub = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port,
            "--submission", "127.0.0.1:%d" % sub)
    if r.returncode != 0:
        bail("qsetup failed: %s" % r.stdout)
    if run("qpasswd", QHOME, "bob@test.example", stdin=b"bob pw\n").returncode != 0:
        bail("qpasswd failed")
    ctl_write("authplaintext", "")
    ctl_write("resolvers", "127.0.0.1:%d" % dnsport)
    if access is not None:
        ctl_write("access", access)
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    ours = keygen("test.example", "s1", "control/dkim")
    theirs = keygen("signer.example", "sel", TMP + "/theirs")
    with open(TMP + "/theirs/signer.example/sel.rsa", "rb") as f:
        their_key = f.read()
    return port, sub, ours, theirs, their_key


def keygen(domain, selector, keydir):
    """qdkim-keygen in QHOME: the TXT record's text"""
    r = subprocess.run(["qdkim-keygen", "-t", "rsa", "-C", keydir, domain, selector],
                       cwd=QHOME, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        bail("qdkim-keygen failed: %s" % r.stdout)
    line = r.stdout.decode().strip().split("\n")[-1]
    return "".join(line.split('"')[1::2])


def fetch(seconds=10, md=BOB_MD):
    """the one new message in the Maildir md (removed), b"" if none came"""
    files = wait_until(seconds, lambda: maildir_files(md))
    if not files:
        return b""
    time.sleep(0.1)
    files = maildir_files(md)
    data = b""
    for path in sorted(files.values(), key=os.path.getmtime):
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
    return data


def header(data):
    return data.split(b"\n\n", 1)[0].decode("utf-8", "replace")


def fields(data, name):
    """the unfolded values of the fields called name, top down"""
    out = []
    cur = False
    for line in header(data).split("\n"):
        if line[:1] in (" ", "\t") and out and cur:
            out[-1] += " " + line.strip()
            continue
        cur = line.lower().startswith(name.lower() + ":")
        if cur:
            out.append(line.split(":", 1)[1].strip())
    return out


def send(port, sender, msg, auth=None, rcpt="bob@test.example", src=None):
    """one SMTP transaction to rcpt (from address src): the last reply line"""
    c = Client(port, src=src)
    c.cmd("EHLO client.example")
    if auth is not None:
        r = c.cmd("AUTH PLAIN " + auth)
        if not r or not r[-1].startswith("235"):
            c.close()
            return "AUTH " + repr(r)
    c.cmd("MAIL FROM:<%s>" % sender)
    c.cmd("RCPT TO:<%s>" % rcpt)
    r = c.cmd("DATA")
    if not r or not r[-1].startswith("354"):
        c.close()
        return "DATA " + repr(r)
    body = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    body = body.replace(b"\r\n.", b"\r\n..")
    c.send(body + b".\r\n")
    r = c.reply()
    c.cmd("QUIT")
    c.close()
    return r[-1] if r else "EOF"


def dnsfunc(name, timeout=5):
    """dkimpy's DNS: the TXT record of name in the fake DNS's zone"""
    for t, v in ZONE["data"].get(name.rstrip(".").lower() if isinstance(name, str)
                                 else name.decode().rstrip(".").lower(), []):
        if t == "TXT":
            return v.encode() if isinstance(v, str) else b"".join(
                x.encode() if isinstance(x, str) else x for x in v)
    return None


def svc(name, flag, want_up):
    """s6-svc flag on the instance's service name, then waits for it"""
    subprocess.run(["s6-svc", flag, QHOME + "/service/" + name])
    if not wait_until(20, lambda: svc_ready(name) == want_up, 0.1):
        bail("service %s did not go %s" % (name, "up" if want_up else "down"))


def log(name):
    """the current log of service name"""
    try:
        with open(QHOME + "/log/" + name + "/current", "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
