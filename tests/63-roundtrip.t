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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)



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

run_main(main)
