#!/usr/bin/env python3
# qpop3d through qsetup's pop3 (STLS) and pop3s (implicit TLS) services,
# driven by Python's poplib: login rules (USER/PASS, AUTH PLAIN), STAT/LIST/UIDL/RETR/TOP against
# the Maildir files byte for byte, DELE only at QUIT, RSET, UIDLs stable
# across sessions, one session per mailbox, failed logins slowed down,
# commands written behind the password reaching the session, STLS with
# an argument refused, the idle timeout and the log.
import base64
import glob
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



def plain64(authzid, user, password):
    """an AUTH PLAIN response (RFC 4616), base64"""
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


def main():
    port = free_port()
    sport = free_port()
    r = run("qsetup", QHOME, "--me", "test.example",
            "--pop3", "127.0.0.1:%d" % port, "--pop3s", "127.0.0.1:%d" % sport)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    for user, pw in (("bob@test.example", b"bob secret\n"), ("alice@test.example", b"Alice#1\n")):
        if run("qpasswd", QHOME, user, stdin=pw).returncode != 0:
            bail("qpasswd failed")
    with open(QHOME + "/control/authdelay", "w") as f:
        f.write("200\n")
    with open(QHOME + "/control/authdelaymax", "w") as f:
        f.write("3200\n")
    inst_start()

    ctx = ssl.create_default_context(cafile=QHOME + "/tls/cert.pem")
    ctx.check_hostname = False
    bob = QHOME + "/mail/test.example/bob"

    # three messages for bob, with what POP3 must escape or fix
    msgs = [
        b"From: alice@test.example\nSubject: one\n\nhello bob\n",
        b"Subject: dots\n\n.leading dot\n..two dots\n.\nend . \n\xe9\xe8 8-bit\n" + b"y" * 998 + b"\n",
        b"Subject: big\n\n" + b"".join(b"line %06d .\n" % i for i in range(20000)),
    ]
    for m in msgs:
        r = run("qinject", "-f", "alice@test.example", "bob@test.example", stdin=m)
        if r.returncode != 0:
            bail("qinject failed: " + r.stdout.decode(errors="replace"))
    deadline = time.time() + 30
    while len(maildir_files(bob)) < 3 and time.time() < deadline:
        time.sleep(0.2)
    if not ok(len(maildir_files(bob)) == 3, "three messages delivered to bob"):
        bail("no delivery")

    # 1. no password in the clear: USER refused until STLS
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    caps = p.capa()
    ok("STLS" in caps and "USER" not in caps, "CAPA before TLS: STLS, no USER")
    try:
        p.user("bob@test.example")
        ok(False, "USER refused before STLS")
    except poplib.error_proto as e:
        ok(b"-ERR" in e.args[0], "USER refused before STLS")
    # RFC 2595 4: STLS takes no argument; one with an argument must not
    # start the handshake (the client would wait for an -ERR)
    try:
        resp = p._shortcmd("STLS now")
    except poplib.error_proto as e:
        resp = e.args[0]
    ok(resp.startswith(b"-ERR"), "STLS with an argument: -ERR, no handshake", resp)
    p.stls(context=ctx)
    caps = p.capa()
    ok("USER" in caps and "STLS" not in caps and "UIDL" in caps and "TOP" in caps,
       "CAPA after STLS: USER, UIDL, TOP, no STLS")
    p.user("bob@test.example")
    resp = p.pass_("bob secret")
    ok(resp.startswith(b"+OK 3 messages"), "login after STLS")

    files = maildir_files(bob)
    cur = [f for f in files.values() if "/cur/" in f]
    is_(len(cur), 3, "new/ moved to cur/ at login")
    count, size = p.stat()
    wires = {}
    for uid, path in files.items():
        with open(path, "rb") as f:
            wires[uid] = wire_form(f.read())
    is_((count, size), (3, sum(len(w) for w in wires.values())), "STAT: count and CRLF octets")
    uidl = {}
    for line in p.uidl()[1]:
        num, uid = line.split()
        uidl[int(num)] = uid.decode()
    is_(sorted(uidl.values()), sorted(files), "UIDL: the unique names of the Maildir files")
    sizes = {}
    for line in p.list()[1]:
        num, sz = line.split()
        sizes[int(num)] = int(sz)
    ok(all(sizes[n] == len(wires[uidl[n]]) for n in (1, 2, 3)), "LIST sizes match the files")
    exact = True
    for n in (1, 2, 3):
        first, body = raw_multiline(p, "RETR %d" % n)
        exact = exact and first.startswith(b"+OK") and body == wires[uidl[n]]
    ok(exact, "RETR byte-exact against the Maildir files (CRLF, dots unstuffed)")
    dots = [n for n in (1, 2, 3) if b"Subject: dots" in wires[uidl[n]]][0]
    first, body = raw_multiline(p, "TOP %d 0" % dots)
    head = wires[uidl[dots]].split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    is_(body, head, "TOP n 0: the header and the blank line")
    first, body = raw_multiline(p, "TOP %d 2" % dots)
    is_(body, head + b".leading dot\r\n..two dots\r\n", "TOP n 2: two body lines, dots kept")
    try:
        p.retr(4)
        ok(False, "RETR of a message that does not exist")
    except poplib.error_proto:
        ok(True, "RETR of a message that does not exist")
    p.dele(1)
    is_(p.stat()[0], 2, "DELE hides the message")
    try:
        p.retr(1)
        ok(False, "a deleted message cannot be retrieved")
    except poplib.error_proto:
        ok(True, "a deleted message cannot be retrieved")
    p.rset()
    is_(p.stat()[0], 3, "RSET brings it back")
    p.dele(1)
    ok(os.path.exists(files[uidl[1]]), "DELE removes nothing before QUIT")
    p.sock.close()  # no QUIT: no UPDATE state
    time.sleep(0.5)
    ok(all(os.path.exists(f) for f in maildir_files(bob).values()) and
       len(maildir_files(bob)) == 3, "a connection closed without QUIT deletes nothing")

    # 2. implicit TLS, UIDLs stable across sessions, DELE applied at QUIT
    p = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    p.user("bob@test.example")
    p.pass_("bob secret")
    again = {}
    for line in p.uidl()[1]:
        num, uid = line.split()
        again[int(num)] = uid.decode()
    is_(again, uidl, "implicit TLS login; the same UIDLs in a new session")
    p.dele(1)
    resp = p.quit()
    ok(resp.startswith(b"+OK"), "QUIT after DELE: +OK")
    ok(uidl[1] not in maildir_files(bob) and len(maildir_files(bob)) == 2,
       "QUIT removed the deleted message, only it")
    p = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    p.user("bob@test.example")
    p.pass_("bob secret")
    is_([u.split()[1].decode() for u in p.uidl()[1]], [uidl[2], uidl[3]],
        "next session: the remaining UIDLs, renumbered")

    # 3. one session per mailbox: the second gets [IN-USE], then may log in
    q = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    q.user("bob@test.example")
    try:
        q.pass_("bob secret")
        ok(False, "second session on the mailbox refused")
    except poplib.error_proto as e:
        ok(b"[IN-USE]" in e.args[0], "second session on the mailbox refused with [IN-USE]")
    is_(p.stat()[0], 2, "the first session goes on")
    p.quit()
    q = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    q.user("bob@test.example")
    ok(q.pass_("bob secret").startswith(b"+OK"), "after the first QUIT, a new session logs in")
    q.quit()
    # alice's mailbox is separate (and empty: it exists from qpasswd)
    a = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    a.user("alice@test.example")
    a.pass_("Alice#1")
    is_(a.stat(), (0, 0), "another user sees her own, empty mailbox")
    a.quit()

    # 4. wrong passwords, unknown users, and the rules of plaintext logins
    p = poplib.POP3_SSL("127.0.0.1", sport, context=ctx, timeout=30)
    refused = 0
    for user, pw in (("bob@test.example", "bob secreT"), ("nobody@test.example", "x")):
        p.user(user)
        try:
            p.pass_(pw)
        except poplib.error_proto as e:
            if b"[AUTH]" in e.args[0]:
                refused += 1
    is_(refused, 2, "wrong password and unknown user: -ERR [AUTH]")
    p.user("bob@test.example")
    ok(p.pass_("bob secret").startswith(b"+OK"), "a good login after failures, same connection")
    p.quit()
    with open(QHOME + "/control/authplaintext", "w") as f:
        f.write("1\n")
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    ok("USER" in p.capa(), "authplaintext: USER offered to a loopback client")
    p.user("bob@test.example")
    ok(p.pass_("bob secret").startswith(b"+OK"), "authplaintext: plaintext login from loopback")
    p.quit()
    # all of 127.0.0.0/8 is loopback, as in qsmtpd (lib/ipaddr_isloopback.c)
    c = socket.create_connection(("127.0.0.1", port), 30, source_address=("127.0.0.2", 0))
    f = c.makefile("rb")
    f.readline()
    c.sendall(b"USER bob@test.example\r\nQUIT\r\n")
    ok(f.readline().startswith(b"+OK"), "authplaintext: USER taken from 127.0.0.2")
    f.close()
    c.close()
    # qpop3d by hand for clients a listener here cannot have (fd 0/1 pipes)
    for ip, want in (("192.0.2.1", False), ("127.0.0.10x", False), ("::ffff:127.9.9.9", True),
                     ("::1", True), ("::ffff:192.0.2.1", False)):
        env = dict(os.environ, TCPREMOTEIP=ip)
        r = subprocess.run(["qpop3d"], input=b"CAPA\r\nUSER bob@test.example\r\nQUIT\r\n",
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, timeout=30)
        lines = r.stdout.split(b"\r\n")
        got = b"USER" in lines and b"+OK send PASS" in lines
        refused = b"-ERR [AUTH] plaintext login needs TLS: use STLS first" in lines
        ok(got == want and refused != want,
           "authplaintext: %s is %s" % (ip, "loopback" if want else "not loopback"))

    # 5. a long line is refused and the session goes on; unknown commands
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p._putcmd("NOOP " + "x" * 2000)
    ok(p.file.readline().startswith(b"-ERR"), "line over 512 bytes: -ERR")
    p._putcmd("FOO")
    ok(p.file.readline().startswith(b"-ERR"), "unknown command: -ERR")
    p._putcmd("STAT")
    ok(p.file.readline().startswith(b"-ERR"), "STAT before login: -ERR")
    p.user("bob@test.example")
    ok(p.pass_("bob secret").startswith(b"+OK"), "the session survives bad lines")
    p.quit()
    # commands written right behind the password (as a script piping into
    # openssl s_client does) reach the session, which is another process
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.sock.sendall(b"USER bob@test.example\r\nPASS bob secret\r\nSTAT\r\nUIDL 1\r\nQUIT\r\n")
    got = [p.file.readline() for _ in range(5)]
    ok(all(g.startswith(b"+OK") for g in got) and b" messages (" in got[1] and
       got[2].split()[1:2] == got[1].split()[1:2] and got[3].startswith(b"+OK 1 "),
       "USER, PASS, STAT, UIDL, QUIT in one write: all answered by the session", got)
    p.close()

    # 5b. AUTH PLAIN (RFC 5034, RFC 4616): under TLS only, as USER/PASS
    # (authplaintext, which section 4 made, is put aside meanwhile)
    os.rename(QHOME + "/control/authplaintext", QHOME + "/control/authplaintext.off")
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    ok("SASL" not in p.capa(), "no SASL in CAPA before STLS")
    try:
        resp = p._shortcmd("AUTH PLAIN " + plain64("", "bob@test.example", "bob secret"))
    except poplib.error_proto as e:
        resp = e.args[0]
    ok(resp.startswith(b"-ERR [AUTH]"), "AUTH PLAIN before STLS: -ERR [AUTH]", resp)
    p.stls(context=ctx)
    ok(p.capa().get("SASL") == ["PLAIN"], "after STLS: SASL PLAIN in CAPA")
    p._putcmd("AUTH PLAIN")
    ok(p.file.readline() == b"+ \r\n", "AUTH PLAIN without a response: the empty challenge")
    p._putcmd("*")
    ok(p.file.readline().startswith(b"-ERR"), "* cancels: -ERR")
    p._putcmd("AUTH PLAIN " + plain64("alice@test.example", "bob@test.example", "bob secret"))
    ok(p.file.readline().startswith(b"-ERR [AUTH]"), "another authorization identity: -ERR [AUTH]")
    p._putcmd("AUTH PLAIN")
    p.file.readline()
    p._putcmd(plain64("bob@test.example", "bob@test.example", "bob secret"))
    ok(p.file.readline().startswith(b"+OK"), "AUTH PLAIN with the response after +: +OK")
    ok(p.stat()[0] == 2, "the session runs after AUTH PLAIN")
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", sport, timeout=30, context=ctx)
    ok(p._shortcmd("AUTH PLAIN " + plain64("", "bob@test.example", "bob secret"))
       .startswith(b"+OK"), "pop3s: AUTH PLAIN with an initial response: +OK")
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", sport, timeout=30, context=ctx)
    ok(p._shortcmd("AUTH PLAIN " + plain64("Bob@Test.Example", "bob@test.example", "bob secret"))
       .startswith(b"+OK"), "an authorization identity that is the login in another case: +OK")
    p.quit()
    os.rename(QHOME + "/control/authplaintext.off", QHOME + "/control/authplaintext")

    # 6. a burst of failed logins gets slower: count the attempts that
    # complete in a few seconds (a fixed 200 ms delay would allow ~25)
    attempts = 0
    start = time.time()
    while time.time() - start < 5:
        p = poplib.POP3("127.0.0.1", port, timeout=30)
        p.user("bob@test.example")
        try:
            p.pass_("guess %d" % attempts)
        except poplib.error_proto:
            pass
        attempts += 1
        p.sock.close()
    ok(1 <= attempts <= 10, "a burst of failed logins is slowed down (%d in 5 s)" % attempts)

    # 7. the idle timeout ends a connection
    with open(QHOME + "/control/timeoutpop3d", "w") as f:
        f.write("2\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    greeting = s.recv(100)
    start = time.time()
    data = b""
    try:
        while True:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    ok(greeting.startswith(b"+OK") and b"-ERR" in data and time.time() - start < 9,
       "idle connection closed after control/timeoutpop3d")

    # 8. the log: one line per session, never a password; a client that
    # leaves in the handshake (STLS, and port 995): qtlsd's reason, as it is
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.recv(100)
    s.sendall(b"STLS\r\n")
    s.recv(100)
    s.sendall(b"\x16\x03\x01")
    s.close()
    s = socket.create_connection(("127.0.0.1", sport), timeout=10)
    s.sendall(b"\x16\x03\x01")
    s.close()
    wait_until(10, lambda: open(QHOME + "/log/pop3s/current", "rb").read().count(
        b"TLS handshake failed") >= 1 and open(QHOME + "/log/pop3/current", "rb").read().count(
        b"TLS handshake failed") >= 1, 0.1)
    time.sleep(0.5)
    with open(QHOME + "/log/pop3s/current", "rb") as f:
        log = f.read()
    with open(QHOME + "/log/pop3/current", "rb") as f:
        log += f.read()
    ok(b"qpop3d: session bob@test.example from 127.0.0.1" in log, "sessions are logged")
    ok(b"1 deleted, quit" in log, "the log counts deletions")
    ok(b"bob secret" not in log and b"guess" not in log, "no password in the log")
    fails = [l for l in log.split(b"\n") if b"TLS handshake failed" in l]
    ok(len(fails) >= 2 and all(b"TLS handshake failed: handshake failed: " in l for l in fails),
       "a failed handshake logs qtlsd's reason without its N (STLS and port 995)", fails)

    # 9. a certificate that cannot be loaded: STLS gets -ERR and the session goes on
    os.rename(QHOME + "/tls/cert.pem", QHOME + "/tls/cert.pem.saved")
    try:
        p = poplib.POP3("127.0.0.1", port, timeout=10)
        try:
            resp = p._shortcmd("STLS")
        except poplib.error_proto as e:
            resp = e.args[0]
        ok(resp.startswith(b"-ERR"), "no usable certificate: STLS gets -ERR")
        caps = p.capa()
        ok("STLS" not in caps and "TOP" in caps, "the session goes on, STLS no longer offered")
        p.quit()
    finally:
        os.rename(QHOME + "/tls/cert.pem.saved", QHOME + "/tls/cert.pem")


run_main(main)
