#!/usr/bin/env python3
# qlisten's pool mode: one qsmtpd serves connection after connection
# (control/sessionsperprocess, 100 by default), and nothing of one client's
# session reaches the next one's. Each check pairs two clients on the SAME
# qsmtpd process (the pid serving each connection is read from /proc: the
# process holding the server's side of the socket), then shows that the
# second client never sees the first one's envelope or HELO, AUTH state and
# failure count, TLS state, RELAYCLIENT (from control/access through
# qnewmaps, and from a tcprules CDB alone), a rule's variable that
# overrides the listener's (SUBMISSION=0), unread pipelined input, error
# count or recipient count, and that it keeps no descriptor of it. Then
# the strict mode: with control/sessionsperprocess = 1, every connection
# gets a fresh process. Last, a session that qlisten ends (to make room)
# while it waits for qtlsd's answer to STARTTLS goes without asking qtlsd
# for a handshake and without keeping qtlsd's connection.
import base64
import glob
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

HOLD = 1.05  # see pair()


def qsmtpd_of(c):
    """the pid of the qsmtpd serving client c (0 if not exactly one)"""
    pids = wait_until(5, lambda: serving_pids(c.s, "qsmtpd"))
    return pids[0] if len(pids) == 1 else 0


def pair(port, first, second, src1=None, src2=None, tries=5):
    """Client 1 runs first(c), client 2 then runs second(c), on the same
    qsmtpd if that can be had; (pid1, pid2, what first returned, what
    second returned). qlisten gives a connection to the process that
    became idle last (in whole seconds): client 1 stays at least HOLD
    seconds, so that its process is the newest idle one when client 2
    comes; if another one took client 2 all the same, the pair is tried
    again."""
    for attempt in range(tries):
        c1 = Client(port, src=src1)
        pid1 = qsmtpd_of(c1)
        time.sleep(HOLD)
        r1 = first(c1)
        c1.close()
        # its session over: fd 0 back to /dev/null, then "D" to qlisten
        wait_until(10, lambda: fd_target(pid1, 0) == "/dev/null")
        time.sleep(0.2)
        c2 = Client(port, src=src2)
        pid2 = qsmtpd_of(c2)
        if pid2 == pid1 or attempt == tries - 1:
            r2 = second(c2)
            c2.close()
            return pid1, pid2, r1, r2
        print("# client 2 went to pid %d, not %d: again" % (pid2, pid1), flush=True)
        c2.close()


def same_pid(pid1, pid2, what):
    ok(pid1 != 0 and pid1 == pid2,
       "%s: both clients served by one qsmtpd (pids %d and %d)" % (what, pid1, pid2))


def sockets_of(pid):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return []
    return [fd for fd in fds if (fd_target(pid, int(fd)) or "").startswith("socket:")]


def udp_socket(pid, fd):
    """whether socket fd of pid is a UDP socket (lib/dnsq's kept socket to
    a resolver on loopback)"""
    inode = (fd_target(pid, int(fd)) or "")[8:-1]
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            for line in open(table).read().split("\n")[1:]:
                f = line.split()
                if len(f) >= 10 and f[9] == inode:
                    return True
        except OSError:
            pass
    return False


def to_qdkimd(pid, fd):
    """whether socket fd of pid is a Unix connection to a qdkimd process"""
    inode = (fd_target(pid, int(fd)) or "")[8:-1]
    out = subprocess.run(["ss", "-xpn"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    peer = None
    for line in out.split("\n"):
        f = line.split()
        if len(f) >= 8 and f[5] == inode:
            peer = f[7]
    if peer is None:
        return False
    for line in out.split("\n"):
        f = line.split()
        if len(f) >= 9 and f[5] == peer and '"qdkimd"' in line:
            return True
    return False


def evicted_in_starttls(port):
    """qsmtpd under a qlisten of our own (-c 2), its QTLSD a socket of ours
    that answers STARTTLS's question only after qlisten has ended the
    session to make room (shutdown of the client's socket): the 220 cannot
    be written. qtlsd's connection must be closed without a handshake
    request ("S"), and the process must keep no descriptor of it."""
    path = TMP + "/fake-tlsd"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(5)
    srv.settimeout(10)
    env = dict(os.environ, QHOME=QHOME, QTLSD=path)
    log = open(TMP + "/own-qlisten.log", "wb")
    r, w = os.pipe()
    ql = subprocess.Popen(["qlisten", "-d", str(w), "-c", "2", "-P", "0", "-s", "100", "-u",
                           "qmta-smtpd", "-M", "421 4.3.2 busy", "127.0.0.1", str(port), "qsmtpd"],
                          env=env, cwd=QHOME, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                          pass_fds=(w,))
    os.close(w)
    select.select([r], [], [], 10)
    os.close(r)
    conn = None
    try:
        a = Client(port, src="127.0.0.5")
        pid = qsmtpd_of(a)
        before = sockets_of(pid)
        a.cmd("EHLO a.example")
        a.send(b"STARTTLS\r\n")
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 256, 2)
        for fd in fds:
            os.close(fd)
        b = Client(port, src="127.0.0.5")  # the address holds two now
        time.sleep(1.0)
        b.cmd("NOOP")                      # b made progress; a none for two seconds
        time.sleep(1.1)
        n = Client(port, src="127.0.0.6")  # full: a is ended for it
        ok(n.greeting[-1].startswith("220") and a.pending(0.5).startswith(b"421 4.3.2"),
           "a session waiting for qtlsd's answer to STARTTLS is ended to make room")
        conn.sendall(b"R\n")               # now qsmtpd would say 220 to a shut socket
        conn.settimeout(5)
        try:
            said = conn.recv(10)
        except socket.timeout:
            said = "nothing, the connection still open"
        is_(said, b"", "qtlsd's connection is closed, no handshake asked for a client that is gone")
        wait_until(5, lambda: fd_target(pid, 0) == "/dev/null")
        is_(sockets_of(pid), [fd for fd in before if fd not in ("0", "1")],
            "the process keeps no descriptor of that session (only its socket with qlisten)")
        for c in (a, b, n):
            c.close()
    finally:
        if conn is not None:
            conn.close()
        ql.terminate()
        try:
            ql.wait(10)
        except subprocess.TimeoutExpired:
            ql.kill()
            ql.wait()
        srv.close()


def codes(c, cmds):
    return [c.code(x) for x in cmds]


def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


def message(c, sender, rcpts, body):
    """a whole transaction; the reply to the final dot"""
    c.code("MAIL FROM:<%s>" % sender)
    for r in rcpts:
        c.code("RCPT TO:<%s>" % r)
    c.code("DATA")
    c.send(body.replace("\n", "\r\n").encode() + b".\r\n")
    r = c.reply()
    return r[-1][:9] if r else "EOF"


def mail_with(md, marker):
    """the text of the message in Maildir md that holds marker, or None"""
    for f in glob.glob(md + "/new/*") + glob.glob(md + "/cur/*"):
        with open(f, "rb") as fh:
            t = fh.read().decode("latin-1")
        if marker in t:
            return t
    return None


def main():
    port = free_port()
    sub = free_port()
    r = run("qsetup", QHOME, "--me", "test.example",
            "--smtp", "127.0.0.1:%d" % port, "--submission", "127.0.0.1:%d" % sub)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    with open(QHOME + "/control/users", "a") as f:
        f.write("bob@test.example:!\ncarol@test.example:!\n")
    if run("qpasswd", QHOME, "alice@test.example", stdin=b"secret\n").returncode != 0:
        bail("qpasswd failed")
    with open(QHOME + "/control/access", "a") as f:
        f.write("Connect:127.0.0.2\tRELAY\n")
    open(QHOME + "/control/authplaintext", "w").close()  # AUTH from loopback without TLS
    ctl_write("authdelay", 0)
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    inst_start()
    bob = QHOME + "/mail/test.example/bob"
    carol = QHOME + "/mail/test.example/carol"

    # pool mode as qsetup writes it: the listener's children are qsmtpd
    c = Client(port)
    pid = qsmtpd_of(c)
    ok(pid != 0 and proc_stat(pid)[1] == svc_pid("smtp"),
       "a connection is served by a qsmtpd that qlisten started")
    c.close()

    # 1. envelope and HELO: client 1 is in DATA when it goes
    def c1(c):
        return codes(c, ["EHLO c1.example", "MAIL FROM:<c1@else.example>",
                         "RCPT TO:<bob@test.example>", "DATA"]) + \
            [c.send(b"Subject: c1 partial\r\nX-Marker: c1-partial\r\n\r\nhalf a body\r\n")]

    def c2(c):
        first = codes(c, ["MAIL FROM:<c2@else.example>", "RCPT TO:<bob@test.example>", "DATA",
                          "EHLO c2.example", "RCPT TO:<bob@test.example>", "DATA"])
        end = message(c, "c2@else.example", ["carol@test.example"],
                      "Subject: c2\nX-Marker: c2-whole\n\nhello\n")
        c.code("QUIT")
        return first, end
    p1, p2, r1, (r2, end) = pair(port, c1, c2)
    same_pid(p1, p2, "envelope")
    is_(r1[:4], ["250 HELP", "250 2.1.0", "250 2.1.5", "354 go ah"], "client 1 got into DATA")
    is_(r2, ["503 5.5.1"] * 3 + ["250 HELP"] + ["503 5.5.1"] * 2, "client 2: no HELO, no MAIL, no RCPT of client 1's "
        "(MAIL, RCPT, DATA refused before and after EHLO)")
    is_(end, "250 2.0.0", "client 2's own message accepted")
    got = wait_until(20, lambda: mail_with(carol, "X-Marker: c2-whole"), 0.2)
    ok(got is not None and "Return-Path: <c2@else.example>" in got and "c1" not in got,
       "client 2's message has client 2's sender and HELO only")
    time.sleep(0.5)
    ok(mail_with(bob, "X-Marker") is None and not glob.glob(bob + "/new/*"),
       "client 1's half message and recipient went nowhere")

    # 2. AUTH: on the submission listener MAIL needs it
    def a1(c):
        return codes(c, ["EHLO a1.example", "AUTH PLAIN " + plain("alice@test.example", "secret"),
                         "MAIL FROM:<alice@test.example>"])

    def a2(c):
        ehlo = c.cmd("EHLO a2.example")
        return "250-AUTH PLAIN LOGIN" in ehlo, c.code("MAIL FROM:<alice@test.example>")
    p1, p2, r1, (offered, mail) = pair(sub, a1, a2)
    same_pid(p1, p2, "AUTH (submission)")
    is_(r1, ["250 HELP", "235 2.7.0", "250 2.1.0"], "client 1 authenticated and could send")
    ok(offered, "client 2 is offered AUTH again")
    is_(mail, "530 5.7.0", "client 2 is not authenticated: MAIL gets 530")

    # ... and on the smtp listener AUTH allows relaying
    def b1(c):
        return codes(c, ["EHLO b1.example", "AUTH PLAIN " + plain("alice@test.example", "secret"),
                         "MAIL FROM:<alice@test.example>", "RCPT TO:<x@else.example>", "RSET"])

    def b2(c):
        return codes(c, ["EHLO b2.example", "MAIL FROM:<alice@test.example>",
                         "RCPT TO:<x@else.example>"])
    p1, p2, r1, r2 = pair(port, b1, b2)
    same_pid(p1, p2, "AUTH (relay)")
    is_(r1, ["250 HELP", "235 2.7.0", "250 2.1.0", "250 2.1.5", "250 2.0.0"],
        "client 1 relays after AUTH")
    is_(r2[2], "554 5.7.1", "client 2 may not relay")

    # ... and the count of failed logins (5 in a session: 421)
    bad = "AUTH PLAIN " + plain("no body@test.example", "x")  # refused without qauth

    def f1(c):
        return codes(c, ["EHLO f1.example"] + [bad] * 4)

    def f2(c):
        return codes(c, ["EHLO f2.example"] + [bad] * 5)
    p1, p2, r1, r2 = pair(port, f1, f2)
    same_pid(p1, p2, "AUTH failures")
    is_(r1[1:], ["535 5.7.8"] * 4, "client 1: four failed logins")
    is_(r2[1:], ["535 5.7.8"] * 4 + ["421 4.7.0"],
        "client 2 starts from zero failures: 421 only at its own fifth")

    # 3. TLS: client 1 sends a message under STARTTLS, client 2 in plaintext
    def t1(c):
        c.cmd("EHLO t1.example")
        r = c.starttls()
        ehlo = c.cmd("EHLO t1.example")
        end = message(c, "t1@else.example", ["carol@test.example"],
                      "Subject: t1\nX-Marker: tls-1\n\nover TLS\n")
        c.code("QUIT")
        return r[-1][:3], "250-STARTTLS" in ehlo, end

    def t2(c):
        ehlo = c.cmd("EHLO t2.example")
        end = message(c, "t2@else.example", ["carol@test.example"],
                      "Subject: t2\nX-Marker: plain-2\n\nin plaintext\n")
        c.code("QUIT")
        return "250-STARTTLS" in ehlo, end
    p1, p2, r1, r2 = pair(port, t1, t2)
    same_pid(p1, p2, "TLS")
    is_(r1, ("220", False, "250 2.0.0"), "client 1: STARTTLS, no second offer, message accepted")
    is_(r2, (True, "250 2.0.0"), "client 2 is offered STARTTLS again, its message accepted")
    m1 = wait_until(20, lambda: mail_with(carol, "X-Marker: tls-1"), 0.2) or ""
    m2 = wait_until(20, lambda: mail_with(carol, "X-Marker: plain-2"), 0.2) or ""
    rcv1 = m1.split("\n\n")[0]
    rcv2 = m2.split("\n\n")[0]
    ok("with ESMTPS" in rcv1 and "TLS" in rcv1, "client 1's Received: shows TLS")
    print("# client 1: " + rcv1.replace("\n", "\n# "))
    print("# client 2: " + rcv2.replace("\n", "\n# "))
    ok(re.search(r"with ESMTP\b(?!S)", rcv2) is not None, "client 2's Received: says ESMTP")
    ok(m2 != "" and "ESMTPS" not in rcv2 and "TLS" not in rcv2,
       "client 2's Received: claims no TLS")

    # 4. RELAYCLIENT: 127.0.0.2 relays by control/access (RELAY), 127.0.0.3 may not
    def r1f(c):
        return codes(c, ["EHLO r1.example", "MAIL FROM:<r1@else.example>",
                         "RCPT TO:<x@else.example>", "RSET"])

    def r2f(c):
        return codes(c, ["EHLO r2.example", "MAIL FROM:<r2@else.example>",
                         "RCPT TO:<x@else.example>"])
    p1, p2, r1, r2 = pair(port, r1f, r2f, src1="127.0.0.2", src2="127.0.0.3")
    same_pid(p1, p2, "RELAY from control/access")
    is_(r1[2], "250 2.1.5", "client 1 from 127.0.0.2 may relay")
    is_(r2[2], "554 5.7.1", "client 2 from 127.0.0.3 may not: 554 5.7.1 relaying denied")

    # ... and from the rules CDB alone (RELAYCLIENT set by qlisten, in no map of qsmtpd's)
    rules = QHOME + "/control/tcp.smtp.cdb"
    r = subprocess.run(["tcprules", rules, rules + ".tmp"],
                       input=b'127.0.0.4:allow,RELAYCLIENT=""\n', stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    ok(r.returncode == 0, "tcprules wrote a rules CDB with RELAYCLIENT for 127.0.0.4")
    p1, p2, r1, r2 = pair(port, r1f, r2f, src1="127.0.0.4", src2="127.0.0.3")
    same_pid(p1, p2, "RELAYCLIENT from the rules CDB")
    is_(r1[2], "250 2.1.5", "client 1 from 127.0.0.4 may relay (RELAYCLIENT)")
    is_(r2[2], "554 5.7.1", "client 2 from 127.0.0.3 does not inherit RELAYCLIENT")

    # ... and a rule that overrides a variable of the listener's own
    # (SUBMISSION=1 in the submission run script): the next client has it back
    r = subprocess.run(["tcprules", rules, rules + ".tmp"],
                       input=b'127.0.0.4:allow,SUBMISSION="0"\n', stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    ok(r.returncode == 0, "tcprules wrote a rule with SUBMISSION=0 for 127.0.0.4")

    def s1(c):
        return codes(c, ["EHLO s1.example", "MAIL FROM:<s1@else.example>"])
    p1, p2, r1, r2 = pair(sub, s1, s1, src1="127.0.0.4", src2="127.0.0.3")
    same_pid(p1, p2, "a rule's SUBMISSION=0")
    is_(r1[1], "250 2.1.0", "client 1 from 127.0.0.4 may send without AUTH (its rule)")
    is_(r2[1], "530 5.7.0", "client 2 from 127.0.0.3 has the listener's SUBMISSION=1 back: 530")
    run("qnewmaps", QHOME)  # the rules from control/access again

    # 5. buffers: client 1 leaves pipelined commands unread behind QUIT
    def u1(c):
        r = c.cmd("EHLO u1.example")
        c.send(b"QUIT\r\nMAIL FROM:<junk@else.example>\r\nRCPT TO:<bob@test.example>\r\n"
               b"NOOP\r\nNOOP\r\nHELP\r\n")
        return r[-1][:3], c.reply()[-1][:3], c.line()

    def u2(c):
        early = c.pending(0.5)  # nothing may come before client 2 says anything
        c.cmd("EHLO u2.example")
        rest = codes(c, ["RCPT TO:<bob@test.example>", "NOOP"])
        late = c.pending(0.3)
        return early, rest, late
    p1, p2, r1, r2 = pair(port, u1, u2)
    same_pid(p1, p2, "unread input after QUIT")
    is_(r1, ("250", "221", None), "client 1: 221 to QUIT, then the connection closed")
    is_(r2, (b"", ["503 5.5.1", "250 2.0.0"], b""),
        "client 2 gets no reply to client 1's leftovers and only its own replies")

    # ... and a client that goes without reading its replies
    def v1(c):
        c.send(b"EHLO v1.example\r\nMAIL FROM:<v1@else.example>\r\n" + b"NOOP\r\n" * 200 +
               b"RCPT TO:<bob@test.example>\r\n")
        return None

    def v2(c):
        early = c.pending(0.5)
        r = codes(c, ["NOOP", "RCPT TO:<bob@test.example>"])
        return early, r, c.pending(0.3)
    p1, p2, r1, r2 = pair(port, v1, v2)
    same_pid(p1, p2, "replies never read")
    is_(r2, (b"", ["250 2.0.0", "503 5.5.1"], b""),
        "client 2 sees none of client 1's replies, and no HELO or MAIL of its")

    # 6. limits: bad commands (50 close the session) and recipients (maxrcpt)
    def e1(c):
        c.send(b"BOGUS\r\n" * 49)
        return [c.reply()[-1][:3] for i in range(49)]

    def e2(c):
        c.send(b"BOGUS\r\nNOOP\r\n" + b"BOGUS\r\n" * 48 + b"NOOP\r\nBOGUS\r\nNOOP\r\n")
        got = []
        while len(got) < 60:
            r = c.reply()
            if not r:
                break
            got.append(r[-1][:3])
        return got
    p1, p2, r1, r2 = pair(port, e1, e2)
    same_pid(p1, p2, "error count")
    is_(r1, ["500"] * 49, "client 1: 49 unknown commands")
    is_(r2, ["500", "250"] + ["500"] * 48 + ["250", "500", "421"],
        "client 2's count starts at zero: 421 after its own 50th error, then the end")

    ctl_write("maxrcpt", 3)

    def m1f(c):
        return codes(c, ["EHLO m1.example", "MAIL FROM:<m1@else.example>",
                         "RCPT TO:<bob@test.example>", "RCPT TO:<carol@test.example>"])

    def m2f(c):
        return codes(c, ["EHLO m2.example", "MAIL FROM:<m2@else.example>"] +
                     ["RCPT TO:<bob@test.example>"] * 4)
    p1, p2, r1, r2 = pair(port, m1f, m2f)
    same_pid(p1, p2, "recipient count")
    is_(r1[2:], ["250 2.1.5"] * 2, "client 1: two recipients")
    is_(r2[2:], ["250 2.1.5"] * 3 + ["452 4.5.3"],
        "client 2's recipient count starts at zero: three accepted, the fourth 452")
    os.unlink(QHOME + "/control/maxrcpt")

    # no descriptor of a session outlives it: an idle pool process holds
    # one socket, its end of the socket pair with qlisten, besides its
    # connections to qdkimd (the signer, the verifier) and its UDP socket
    # to the resolver on loopback, which it keeps on purpose across
    # sessions (qsmtpd_dkim.c, lib/dnsq_query.c)
    idle = [p for svc in ("smtp", "submission") for p in children(svc_pid(svc))
            if fd_target(p, 0) == "/dev/null"]
    extra = {p: sockets_of(p) for p in idle
             if len([fd for fd in sockets_of(p)
                     if not to_qdkimd(p, fd) and not udp_socket(p, fd)]) != 1}
    ok(idle and not extra, "after all this, the idle qsmtpd processes %s hold one socket each" % idle,
       extra)

    # 7. strict mode: control/sessionsperprocess 1, listener restarted
    ctl_write("sessionsperprocess", 1)
    svc_restart("smtp")
    pids = []
    for i in range(3):
        c = Client(port)
        pids.append(qsmtpd_of(c))
        ok(c.code("QUIT") == "221 2.0.0", "strict mode: session %d served" % (i + 1))
        c.close()
        wait_until(10, lambda: not alive(pids[-1]))
    ok(0 not in pids and len(set(pids)) == 3, "strict mode: three connections, three pids %s" % pids)
    ok(not any(alive(p) for p in pids), "strict mode: each process exits after its connection")

    # 8. the listener stopped (s6-svc -d): a kept connection gets 421 at
    # its next transaction instead of holding the stopped service up
    ctl_write("sessionsperprocess", 100)
    svc_restart("smtp")
    c = Client(port)
    c.code("EHLO kept.example")
    ok(message(c, "k@else.example", ["carol@test.example"],
               "Subject: kept\nX-Marker: kept-1\n\nx\n") == "250 2.0.0", "kept: first message")
    subprocess.run(["s6-svc", "-wD", "-T", "20000", "-d", QHOME + "/service/smtp"])
    r = c.cmd("MAIL FROM:<k@else.example>")
    ok(r and r[-1].startswith("421 4.3.2"), "listener stopped: the next MAIL gets 421 4.3.2", r)
    is_(c.reply(), [], "and the connection is closed after it")
    c.close()
    subprocess.run(["s6-svc", "-wU", "-T", "20000", "-u", QHOME + "/service/smtp"])

    # 9. qlisten ends a session while it waits for qtlsd (STARTTLS)
    inst_stop()
    evicted_in_starttls(port)


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
