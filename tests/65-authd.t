#!/usr/bin/env python3
# The password service: qsmtpd runs as qmta-smtpd and cannot read a hash
# (control/passwords.cdb is root's and qmta-auth's, /etc/shadow root's and
# group shadow's); its qauth asks qauthd over run/authd. Over real SMTP
# AUTH: a virtual user; with control/authsystem, a login account's system
# password (the same one POP3 takes); no hash in users.cdb; a damaged
# passwords.cdb is a temporary failure (454), never a 535; qauthd down is a
# temporary failure too; qauthd itself refuses malformed requests and
# answers well-formed ones.
import base64
import os
import pwd
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

SYSUSER = "qmtat%d" % (os.getpid() % 100000)
SYSPASS = "Sys tem pw 1"
created = []


def plain(user, pw):
    return "AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


def auth(port, user, pw):
    c = Client(port, src="127.0.0.1", timeout=30)
    c.cmd("EHLO client.example")
    code = c.code(plain(user, pw))
    c.cmd("QUIT")
    c.close()
    return code


def pop_login(port, user, pw):
    c = Client(port, src="127.0.0.1", timeout=30)
    c.cmd("USER " + user)
    r = c.cmd("PASS " + pw)
    c.close()
    return r[0] if r else ""


def ask(sock, req, timeout=15):
    """one raw request to qauthd: its answer (b"" when it closed)"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(req)
        return s.recv(16)
    except ConnectionResetError:  # closed with the request unread
        return b""
    finally:
        s.close()


def authd_log():
    try:
        with open(QHOME + "/log/authd/current", encoding="latin-1") as f:
            return f.read()
    except OSError:
        return ""


def cleanup():
    inst_stop()
    for u in created:
        subprocess.run(["userdel", u], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.environ.get("KEEP"):
        import shutil
        shutil.rmtree(TMP, ignore_errors=True)


def main():
    port = free_port()
    pop = free_port()
    if os.geteuid() != 0:
        bail("needs root (a system account and the service accounts)")
    r = run("useradd", "--no-create-home", "--home-dir", TMP + "/home-" + SYSUSER,
            "--shell", "/usr/sbin/nologin", SYSUSER)
    if r.returncode != 0:
        bail("useradd failed")
    created.append(SYSUSER)
    r = subprocess.run(["chpasswd"], input=("%s:%s\n" % (SYSUSER, SYSPASS)).encode())
    if r.returncode != 0:
        bail("chpasswd failed")
    os.makedirs(QHOME + "/control", exist_ok=True)
    ctl_write("authsystem", "")  # before qsetup: qmta-auth joins group shadow
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port,
            "--pop3", "127.0.0.1:%d" % pop)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    if run("qpasswd", QHOME, "ann@test.example", stdin=b"ann pw\n").returncode != 0:
        bail("qpasswd failed")
    ctl_write("authplaintext", 1)
    ctl_write("authdelay", 10)
    ctl_write("authdelaymax", 20)
    inst_start()
    sock = QHOME + "/run/authd"

    # 1. who can read what
    smtpd = pwd.getpwnam("qmta-smtpd")
    r = subprocess.run(["s6-setuidgid", "qmta-smtpd", "cat", QHOME + "/control/passwords.cdb"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok(r.returncode != 0, "qmta-smtpd cannot read passwords.cdb")
    r = subprocess.run(["s6-setuidgid", "qmta-smtpd", "cat", QHOME + "/control/users.cdb"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok(r.returncode == 0, "qmta-smtpd reads users.cdb (who is a user)")
    with open(QHOME + "/control/users.cdb", "rb") as f:
        data = f.read()
    ok(b"$y$" not in data and b"$6$" not in data, "no hash in users.cdb")
    st = os.stat(sock)
    ok(st.st_gid == smtpd.pw_gid and (st.st_mode & 0o777) == 0o660,
       "run/authd: 0660, group of the session account")

    # 2. SMTP AUTH as qmta-smtpd: a virtual user and a system account
    is_(auth(port, "ann@test.example", "ann pw"), "235 2.7.0", "virtual user: 235 through qauthd")
    is_(auth(port, "ann@test.example", "wrong"), "535 5.7.8", "virtual user, bad password: 535")
    is_(auth(port, SYSUSER + "@test.example", SYSPASS), "235 2.7.0",
        "authsystem: the system password works for SMTP AUTH")
    is_(auth(port, SYSUSER + "@test.example", "wrong"), "535 5.7.8",
        "authsystem: a bad system password: 535")
    is_(pop_login(pop, SYSUSER + "@test.example", SYSPASS)[:3], "+OK",
        "authsystem: the same password for POP3")
    is_(auth(port, "root@test.example", "x"), "535 5.7.8", "root never logs in")

    # 3. qauthd's own answers, and what it refuses
    is_(ask(sock, b"vann@test.example\0ann pw\0"), b"Y", "qauthd: Y for a good password")
    is_(ask(sock, b"vann@test.example\0nope\0"), b"N", "qauthd: N for a bad one")
    is_(ask(sock, b"vnobody@test.example\0x\0"), b"N", "qauthd: N for no such user")
    is_(ask(sock, b"vpostmaster@test.example\0x\0"), b"L", "qauthd: L for no password set")
    is_(ask(sock, b"xann@test.example\0ann pw\0"), b"", "qauthd: an unknown kind gets no answer")
    is_(ask(sock, b"v" + b"a" * 2000 + b"\0x\0"), b"", "qauthd: a request too long gets no answer")
    is_(ask(sock, b"vann@test.example\0ann pw\0extra\0"), b"", "qauthd: three fields: no answer")
    ok(wait_until(5, lambda: "refused a malformed request" in authd_log()),
       "qauthd logs the malformed requests")
    ok("ann pw" not in authd_log(), "no password in qauthd's log")

    # 4. a damaged passwords.cdb: 454 (temporary), logged by qauthd, never 535
    pw_cdb = QHOME + "/control/passwords.cdb"
    with open(pw_cdb, "rb") as f:
        good = f.read()
    with open(pw_cdb, "r+b") as f:
        f.seek(len(good) - 40)
        f.write(b"\xff" * 30)
    is_(auth(port, "ann@test.example", "ann pw"), "454 4.7.0", "damaged passwords.cdb: 454")
    ok(wait_until(5, lambda: "control/passwords.cdb is damaged" in authd_log()),
       "qauthd says the map is damaged")
    with open(pw_cdb, "r+b") as f:
        f.write(good)
    is_(auth(port, "ann@test.example", "ann pw"), "235 2.7.0", "repaired: 235 again")

    # 5. the service down: a temporary failure, not a bad password
    subprocess.run(["s6-svc", "-d", QHOME + "/service/authd"])
    ok(wait_until(10, lambda: not os.path.exists(sock) or
                  subprocess.run(["s6-svstat", "-o", "up", QHOME + "/service/authd"],
                                 stdout=subprocess.PIPE).stdout.strip() == b"false"),
       "authd stopped")
    is_(auth(port, "ann@test.example", "ann pw"), "454 4.7.0", "qauthd down: 454")
    subprocess.run(["s6-svc", "-u", QHOME + "/service/authd"])
    ok(wait_until(20, lambda: svc_ready("authd")), "authd back")
    is_(auth(port, "ann@test.example", "ann pw"), "235 2.7.0", "qauthd back: 235")


run_main(main, cleanup)
