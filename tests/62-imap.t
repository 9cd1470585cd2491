#!/usr/bin/env python3
# IMAP through Dovecot as qsetup and qdovecot-conf set it up, driven by
# Python's imaplib: STARTTLS and implicit TLS, LOGIN checked by qauth,
# FETCH byte-exact against the Maildir files, UIDs stable across sessions,
# STORE \Deleted + EXPUNGE; Dovecot and qpop3d on one Maildir; a password
# changed with qpasswd taking effect in IMAP and POP3 at once; a new
# certificate served after s6-svc -h; *:PORT as every address.
import glob
import imaplib
import os
import poplib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)



def imap_login(port, user, pw, ctx, implicit=False):
    if implicit:
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    else:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        m.starttls(ssl_context=ctx)
    m.login(user, pw)
    return m


def imap_fails(port, user, pw, ctx):
    try:
        imap_login(port, user, pw, ctx, implicit=True).logout()
        return False
    except imaplib.IMAP4.error:
        return True


def pop_fails(port, user, pw, ctx):
    p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
    p.user(user)
    try:
        p.pass_(pw)
        p.quit()
        return False
    except poplib.error_proto:
        p.quit()
        return True


def fetch_all(m):
    """uid -> body, for every message of the selected mailbox"""
    typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
    out = {}
    for item in data:
        if isinstance(item, tuple):
            meta = item[0].decode()
            uid = int(meta.split("UID ")[1].split()[0].rstrip(")"))
            out[uid] = item[1]
    return out


def main():
    iport = free_port()
    isport = free_port()
    psport = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--imap", "127.0.0.1:%d" % iport,
            "--imaps", "127.0.0.1:%d" % isport, "--pop3s", "127.0.0.1:%d" % psport)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    if run("qpasswd", QHOME, "bob@test.example", stdin=b"old pass\n").returncode != 0:
        bail("qpasswd failed")
    with open(QHOME + "/control/authdelay", "w") as f:
        f.write("100\n")
    ok(os.path.exists(QHOME + "/dovecot/dovecot.conf"), "qsetup wrote dovecot/dovecot.conf")
    inst_start()

    ctx = ssl.create_default_context(cafile=QHOME + "/tls/cert.pem")
    ctx.check_hostname = False
    bob = QHOME + "/mail/test.example/bob"
    msgs = [
        b"Subject: first\n\nhello\n.dot\n",
        b"Subject: second\n\n\xe9 8-bit\n" + b"z" * 998 + b"\nlast line without newline",
        b"Subject: third\n\nthree\n",
    ]
    for m in msgs:
        if run("qinject", "-f", "alice@test.example", "bob@test.example", stdin=m).returncode:
            bail("qinject failed")
    deadline = time.time() + 30
    while len(maildir_files(bob)) < 3 and time.time() < deadline:
        time.sleep(0.2)
    if not ok(len(maildir_files(bob)) == 3, "three messages delivered to bob"):
        bail("no delivery")

    # 0. a password without TLS: refused, although Dovecot takes a client
    # from its own address (loopback) as secure (qauth -d judges it)
    m = imaplib.IMAP4("127.0.0.1", iport, timeout=30)
    try:
        m.login("bob@test.example", "old pass")
        ok(False, "LOGIN in the clear from loopback is refused")
    except imaplib.IMAP4.error:
        ok(True, "LOGIN in the clear from loopback is refused")
    m.shutdown()

    # 1. STARTTLS + LOGIN, SELECT, FETCH byte-exact
    m = imaplib.IMAP4("127.0.0.1", iport, timeout=30)
    ok("STARTTLS" in m.capabilities, "IMAP offers STARTTLS")
    m.starttls(ssl_context=ctx)
    typ, _ = m.login("bob@test.example", "old pass")
    is_(typ, "OK", "LOGIN after STARTTLS, checked by qauth")
    typ, data = m.select("INBOX")
    is_((typ, data[0]), ("OK", b"3"), "SELECT INBOX: three messages")
    bodies = fetch_all(m)
    files = maildir_files(bob)
    wires = {}
    for name, path in files.items():
        with open(path, "rb") as f:
            # IMAP sends CRLF line ends, and a last line without one as it is
            wires[f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")] = name
    ok(len(bodies) == 3 and all(b in wires for b in bodies.values()),
       "FETCH BODY[] byte-exact against the Maildir files")
    uids = {b: u for u, b in bodies.items()}
    m.logout()
    ok(all(os.stat(p).st_uid == os.stat(bob).st_uid for p in maildir_files(bob).values()),
       "Dovecot works on the Maildir as its owner")

    # 2. implicit TLS; the same UIDs; STORE \Deleted + EXPUNGE
    m = imap_login(isport, "Bob@Test.Example", "old pass", ctx, implicit=True)
    m.select("INBOX")
    again = fetch_all(m)
    is_({b: u for u, b in again.items()}, uids, "IMAPS login; UIDs stable across sessions")
    first_uid = min(again)
    gone = wires[again[first_uid]]
    m.uid("STORE", str(first_uid), "+FLAGS", "(\\Deleted)")
    ok(gone in maildir_files(bob), "STORE \\Deleted alone removes nothing")
    typ, _ = m.expunge()
    is_(typ, "OK", "EXPUNGE")
    ok(gone not in maildir_files(bob) and len(maildir_files(bob)) == 2,
       "EXPUNGE removed that message's file, only it")
    m.logout()
    m = imap_login(iport, "bob@test.example", "old pass", ctx)
    typ, data = m.select("INBOX")
    left = fetch_all(m)
    is_(sorted(left), sorted(u for u in uids.values() if u != first_uid),
        "next session: the other messages keep their UIDs")
    m.logout()

    # 3. qpop3d on the Maildir Dovecot has worked on: UIDLs are the unique
    # names, RETR matches what IMAP fetched
    p = poplib.POP3_SSL("127.0.0.1", psport, context=ctx, timeout=30)
    p.user("bob@test.example")
    p.pass_("old pass")
    names = sorted(u.split()[1].decode() for u in p.uidl()[1])
    is_(names, sorted(maildir_files(bob)), "POP3 UIDLs after IMAP: the unique names")
    retrieved = set()
    for n in (1, 2):
        p._putcmd("RETR %d" % n)
        p._getresp()
        body = b""
        while True:
            line = p.file.readline(100000)
            if line in (b".\r\n", b""):
                break
            body += line[1:] if line.startswith(b".") else line
        retrieved.add(body)
    # POP3 must end a last line without newline before its final dot
    fetched = set(b if b.endswith(b"\r\n") else b + b"\r\n" for b in left.values())
    is_(retrieved, fetched, "POP3 RETR and IMAP FETCH give the same bytes")

    # 4. IMAP expunges a message while the POP3 session is open: it just
    # disappears for POP3, without an error at QUIT
    first_pop_uid = p.uidl(1).split()[2].decode()
    m = imap_login(isport, "bob@test.example", "old pass", ctx, implicit=True)
    m.select("INBOX")
    for uid, body in fetch_all(m).items():
        if first_pop_uid in maildir_files(bob) and \
                body.replace(b"\r\n", b"\n") == open(maildir_files(bob)[first_pop_uid], "rb").read():
            m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()
    ok(first_pop_uid not in maildir_files(bob), "IMAP expunged the message POP3 lists first")
    try:
        p.retr(1)
        ok(False, "POP3 RETR of the expunged message: -ERR")
    except poplib.error_proto:
        ok(True, "POP3 RETR of the expunged message: -ERR")
    is_(len(p.retr(2)[1]) > 0, True, "the other message is still served")
    p.dele(1)
    ok(p.quit().startswith(b"+OK"), "DELE of a vanished message, then QUIT: +OK")
    is_(len(maildir_files(bob)), 1, "one message left")

    # 5. wrong passwords; qpasswd changes the password for IMAP and POP3
    ok(imap_fails(isport, "bob@test.example", "Old pass", ctx), "IMAP: wrong password refused")
    ok(imap_fails(isport, "nobody@test.example", "old pass", ctx), "IMAP: unknown user refused")
    if run("qpasswd", QHOME, "bob@test.example", stdin=b"new pass\n").returncode != 0:
        bail("qpasswd failed")
    ok(imap_fails(isport, "bob@test.example", "old pass", ctx), "IMAP: old password refused")
    ok(pop_fails(psport, "bob@test.example", "old pass", ctx), "POP3: old password refused")
    m = imap_login(isport, "bob@test.example", "new pass", ctx, implicit=True)
    ok(m.select("INBOX")[0] == "OK", "IMAP: new password works at once")
    m.logout()
    ok(not pop_fails(psport, "bob@test.example", "new pass", ctx), "POP3: new password works at once")

    # 6. the log: logins through qauth, no password
    time.sleep(0.5)
    with open(QHOME + "/log/imap/current", "rb") as f:
        log = f.read()
    ok(b"qauth: login bob@test.example" in log, "Dovecot logs qauth's lines")
    ok(b"Info: qauth: login bob@test.example" in log and b"Error: qauth: login" not in log,
       "logins and failed logins through qauth -d are info, not errors")
    ok(b"old pass" not in log and b"new pass" not in log, "no password in the log")

    # 7. a new certificate, as qdovecot-conf(8) and qmta-admin(7) say:
    # Dovecot serves it after s6-svc -h DIR/service/imap
    tls = QHOME + "/tls/"
    old_der = imaps_cert(isport)
    r = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=new.test.example", "-keyout", tls + "key.pem.new",
            "-out", tls + "cert.pem.new")
    if r.returncode != 0:
        bail("openssl req failed: " + r.stdout.decode(errors="replace"))
    st = os.stat(tls + "key.pem")
    os.chown(tls + "key.pem.new", st.st_uid, st.st_gid)
    os.chmod(tls + "key.pem.new", 0o400)
    os.chmod(tls + "cert.pem.new", 0o644)
    os.rename(tls + "key.pem.new", tls + "key.pem")
    os.rename(tls + "cert.pem.new", tls + "cert.pem")
    with open(tls + "cert.pem") as f:
        new_der = ssl.PEM_cert_to_DER_cert(f.read())
    ok(new_der != old_der, "a new certificate is in tls/")
    run("s6-svc", "-h", QHOME + "/service/imap")
    is_(wait_until(20, lambda: imaps_cert(isport) == new_der, 0.2), True,
        "after s6-svc -h imap, IMAPS shows the new certificate")
    m = imaplib.IMAP4("127.0.0.1", iport, timeout=30)
    m.starttls(ssl_context=ssl._create_unverified_context())
    is_(m.sock.getpeercert(binary_form=True), new_der, "... and so does STARTTLS on IMAP")
    m.logout()

    # 8. qsetup's every-address form (*:PORT, passed on as 0:PORT) is every
    # IPv4 and IPv6 address for Dovecot too (written only: nothing binds)
    other = TMP + "/conf-any"
    os.mkdir(other)
    os.mkdir(other + "/tls")
    r = run("qdovecot-conf", other, "--imap", "*:143", "--imaps", "0:993")
    with open(other + "/dovecot/dovecot.conf") as f:
        conf = f.read()
    ok(r.returncode == 0 and conf.count("address = *, ::\n") == 2 and "listen = *, ::\n" in conf,
       "qdovecot-conf --imap *:143 --imaps 0:993: every IPv4 and IPv6 address", r.stdout)
    r = run("doveconf", "-c", other + "/dovecot/dovecot.conf", "-n")
    ok(r.returncode == 0, "... and Dovecot reads that configuration", r.stdout[-300:])


def imaps_cert(port):
    """the DER certificate the IMAPS listener shows, or None"""
    try:
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl._create_unverified_context(),
                              timeout=30)
    except (OSError, imaplib.IMAP4.error):
        return None
    der = m.sock.getpeercert(binary_form=True)
    m.logout()
    return der


run_main(main)
