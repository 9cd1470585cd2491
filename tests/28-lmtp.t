#!/usr/bin/env python3
# LMTP delivery (RFC 2033) by qlspawn's LMTP workers: a real Dovecot LMTP
# server on a Unix socket, chosen for a domain by control/lmtpdomains,
# with a Sieve script filing a message into a folder (the proof that
# Dovecot delivered it) and the quota plugin deferring one user while the
# other recipients of the same transaction are delivered; a user unknown
# to Dovecot bounced alone (550); a user with a Maildir of its own in that
# domain not sent there; one connection for several messages, run as
# qmta-vmail; Dovecot stopped: deferred, then delivered once it is back;
# a change of control/lmtpdomains counts at once.
# A small LMTP server in Python on TCP (control/users "lmtp:HOST:PORT"):
# 452 after DATA for one recipient and 250 for the other, a 550 to RCPT,
# dot-stuffing and CRLF on the wire; the same without PIPELINING; a sender
# refused at MAIL bounced, no message sent; one answering garbage: deferred.
import os
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DV = TMP + "/dovecot"
SOCK = DV + "/lmtp.sock"
LOG = QHOME + "/log/qsend/current"
SEEN = []  # transactions the Python server saw: (mail, [rcpt], data)


class FakeLmtp(threading.Thread):
    """An LMTP server on 127.0.0.1: replies by recipient, or garbage."""

    def __init__(self, garbage=False, pipelining=True):
        super().__init__(daemon=True)
        self.garbage = garbage
        self.pipelining = pipelining
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rwb")

        def say(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        try:
            if self.garbage:
                say("hello, I am not an LMTP server")
                f.readline()
                say("what?")
                return
            say("220 fake LMTP")
            mail, rcpts, accepted = None, [], []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("latin-1").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("LHLO"):
                    say("250-fake\r\n250-8BITMIME\r\n250 PIPELINING" if self.pipelining
                        else "250-fake\r\n250 8BITMIME")
                elif up.startswith("MAIL FROM:"):
                    if "badsender" in cmd:
                        mail = None
                        say("550 5.7.1 not from you")
                        continue
                    mail, rcpts, accepted = cmd[10:], [], []
                    say("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    rcpts.append(cmd[8:])
                    if "refused" in cmd:
                        say("550 5.1.1 no such mailbox here")
                    else:
                        accepted.append(cmd[8:])
                        say("250 2.1.5 ok")
                elif up == "DATA":
                    if mail is None or not accepted:
                        say("503 5.5.1 no valid recipients")
                        continue
                    say("354 go on")
                    data = b""
                    while True:
                        line = f.readline()
                        if not line or line == b".\r\n":
                            break
                        data += line
                    SEEN.append((mail, rcpts, data))
                    for r in accepted:
                        if "full" in r:
                            say("452 4.2.2 %s over quota" % r)
                        else:
                            say("250 2.0.0 %s saved" % r)
                elif up == "RSET":
                    say("250 2.0.0 ok")
                elif up == "QUIT":
                    say("221 2.0.0 bye")
                    return
                else:
                    say("500 5.5.1 what?")
        except OSError:
            pass
        finally:
            c.close()


def dovecot_conf():
    os.makedirs(DV + "/home", exist_ok=True)
    shutil.chown(DV + "/home", "nobody", "nogroup")
    with open(DV + "/dovecot.conf", "w") as f:
        f.write("""base_dir = %(dv)s/run
state_dir = %(dv)s/state
instance_name = qmta-test-lmtp
protocols = lmtp
log_path = %(dv)s/dovecot.log
ssl = no
quota_full_tempfail = yes
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = passwd-file
  args = %(dv)s/users
  default_fields = uid=nobody gid=nogroup home=%(dv)s/home/%%d/%%n
}
mail_location = maildir:~/Maildir
lda_mailbox_autocreate = yes
service lmtp {
  unix_listener lmtp {
    path = %(sock)s
    mode = 0666
  }
}
protocol lmtp {
  mail_plugins = quota sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  quota = maildir:User quota
}
""" % {"dv": DV, "sock": SOCK})
    with open(DV + "/users", "w") as f:
        f.write("ann@lmtp.example:::::::\n")
        f.write("full@lmtp.example:::::::userdb_quota_rule=*:storage=1k\n")
    home = DV + "/home/lmtp.example/ann"
    os.makedirs(home)
    with open(home + "/.dovecot.sieve", "w") as f:
        f.write('require "fileinto";\nif header :contains "subject" "sieve" '
                '{ fileinto "Filed"; }\n')
    for d in (DV + "/home/lmtp.example", home):
        shutil.chown(d, "nobody", "nogroup")
    shutil.chown(home + "/.dovecot.sieve", "nobody", "nogroup")


DOVECOT_PROC = []


def dovecot_start():
    """dovecot -F in the background; returns once its LMTP socket answers"""
    DOVECOT_PROC.append(subprocess.Popen([DOVECOT, "-F", "-c", DV + "/dovecot.conf"],
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL))

    def listening():
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(SOCK)
            return True
        except OSError:
            return False
        finally:
            s.close()
    if not wait_until(20, listening, 0.1):
        bail("no LMTP socket from dovecot: " + dovecot_log())


def dovecot_stop():
    for p in DOVECOT_PROC:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    del DOVECOT_PROC[:]


def log_has(text):
    try:
        with open(LOG, errors="replace") as f:
            return text in f.read()
    except OSError:
        return False


def dovecot_log():
    try:
        with open(DV + "/dovecot.log", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def sessions():
    """LMTP connections to Dovecot, without dovecot_start's probes (closed
    before LHLO)"""
    dlog = dovecot_log()
    return dlog.count("Connect from local") - dlog.count("(state=GREETING)")


def inject(sender, rcpts, msg):
    r = run("qinject", "-f", sender, *rcpts, stdin=msg)
    if r.returncode != 0:
        bail("qinject failed: " + r.stdout.decode(errors="replace"))


def maildir_of(user):
    return DV + "/home/lmtp.example/" + user + "/Maildir"


def main():
    if not os.path.exists("/usr/lib/dovecot/lmtp") or not os.path.exists(
            "/usr/lib/dovecot/modules/lib90_sieve_plugin.so"):
        bail("dovecot-lmtpd and dovecot-sieve are needed (tools/deps.sh)")
    if os.getuid() != 0:
        print("1..0 # SKIP needs root: Dovecot and the qmta-vmail account")
        raise SystemExit(0)
    fake = FakeLmtp()
    fake.start()
    junk = FakeLmtp(garbage=True)
    junk.start()
    plain = FakeLmtp(pipelining=False)
    plain.start()

    r = run("qsetup", QHOME, "--me", "test.example")
    if r.returncode != 0:
        bail("qsetup failed: " + r.stdout.decode(errors="replace"))
    with open(QHOME + "/control/locals", "a") as f:
        f.write("lmtp.example\nfake.example\n")
    with open(QHOME + "/control/users", "a") as f:
        for u in ("ann", "full", "ghost"):
            f.write("%s@lmtp.example:!\n" % u)
        f.write("keep@lmtp.example:!:mail/keep/\n")  # its own Maildir: not to Dovecot
        for u in ("p1", "full", "refused"):
            f.write("%s@fake.example:!:lmtp:127.0.0.1:%d\n" % (u, fake.port))
        f.write("junk@fake.example:!:lmtp:127.0.0.1:%d\n" % junk.port)
        for u in ("p2", "refused2"):
            f.write("%s@fake.example:!:lmtp:[127.0.0.1]:%d\n" % (u, plain.port))
    ctl_write("lmtpdomains", "# virtual users of lmtp.example go to Dovecot\n"
              "lmtp.example:lmtp:unix:" + SOCK)
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    dovecot_conf()
    dovecot_start()
    inst_start()
    pm = QHOME + "/mail/test.example/postmaster"

    # 1. one message to four users of lmtp.example
    inject("postmaster@test.example",
           ["ann@lmtp.example", "full@lmtp.example", "ghost@lmtp.example",
            "keep@lmtp.example"],
           b"Subject: for sieve\n\n" + b"x" * 3000 + b"\n")
    ok(wait_until(30, lambda: len(maildir_files(maildir_of("ann") + "/.Filed")) == 1),
       "ann: Dovecot's Sieve filed the message into Filed", dovecot_log())
    ok(wait_until(30, lambda: log_has(" local full@lmtp.example deferred: ")),
       "full: deferred")
    ok(log_has("full@lmtp.example deferred: unix:%s said: 452 4.2.2" % SOCK),
       "full: the 452 of Dovecot's quota is the reason")
    ok(not os.path.exists(maildir_of("full") + "/new") or
       len(maildir_files(maildir_of("full"))) == 0, "full: nothing stored")
    ok(wait_until(30, lambda: log_has(" local ghost@lmtp.example failed: ")),
       "ghost (unknown to Dovecot): bounced")
    ok(wait_until(30, lambda: any(b"ghost@lmtp.example" in open(p, "rb").read()
                                  for p in maildir_files(pm).values())),
       "the bounce reached the sender")
    ok(log_has(" local ann@lmtp.example ok: unix:%s said: 250 2.0.0" % SOCK),
       "ann: delivered, as Dovecot said")
    ok(wait_until(30, lambda: len(maildir_files(QHOME + "/mail/keep")) == 1),
       "keep: its own Maildir, not Dovecot")
    dlog = dovecot_log()
    ok(":R2>" in dlog and sessions() == 1,
       "one LMTP transaction for the recipients of one message", dlog)

    # 2. the next message takes the same connection; the worker is qmta-vmail
    inject("postmaster@test.example", ["ann@lmtp.example"], b"Subject: second\n\nhi\n")
    ok(wait_until(30, lambda: len(maildir_files(maildir_of("ann"))) == 1),
       "ann: a second message, in INBOX")
    dlog = dovecot_log()
    is_(sessions(), 1, "the connection was kept for the next message")
    vmail = pwd.getpwnam("qmta-vmail").pw_uid
    conn_owners = []
    for d in os.listdir("/proc"):
        if d.isdigit() and (proc_stat(int(d)) or ("",))[0] == "qlspawn":
            try:
                fds = os.listdir("/proc/%s/fd" % d)
                st = os.stat("/proc/%s" % d)
            except OSError:
                continue
            if any((fd_target(int(d), int(fd)) or "").startswith("socket:") for fd in fds):
                conn_owners.append(st.st_uid)
    ok(vmail in conn_owners, "an LMTP worker runs as qmta-vmail", conn_owners)

    # 3. the Python server: 452 after DATA for one, 250 for the other, 550 to RCPT
    body = b"Subject: fake\n\n.a line with a dot\nbare LF\n.\nlast line without LF"
    inject("postmaster@test.example",
           ["p1@fake.example", "full@fake.example", "refused@fake.example"], body)
    ok(wait_until(30, lambda: log_has(" local p1@fake.example ok: 127.0.0.1:%d said: 250 2.0.0"
                                      % fake.port)), "p1: 250 after DATA, delivered")
    ok(wait_until(30, lambda: log_has(" local full@fake.example deferred: 127.0.0.1:%d said: "
                                      "452 4.2.2" % fake.port)),
       "full: 452 after DATA, deferred alone")
    ok(wait_until(30, lambda: log_has(" local refused@fake.example failed: ")),
       "refused: 550 to RCPT, bounced alone")
    is_([(m.split(" ")[0], r) for m, r, d in SEEN],
        [("<postmaster@test.example>",
          ["<p1@fake.example>", "<full@fake.example>", "<refused@fake.example>"])],
        "one transaction: MAIL with the queue's sender, a RCPT per recipient")
    want = (b"Subject: fake\r\n\r\n..a line with a dot\r\nbare LF\r\n..\r\n"
            b"last line without LF\r\n")
    ok(len(SEEN) == 1 and SEEN[0][2].endswith(want), "CRLF and dot-stuffing on the wire",
       SEEN[0][2] if SEEN else None)

    # 3b. a server without PIPELINING: one command at a time; a refused sender
    inject("postmaster@test.example", ["p2@fake.example", "refused2@fake.example"],
           b"Subject: plain\n\nplain\n")
    ok(wait_until(30, lambda: log_has(" local p2@fake.example ok: ")),
       "no PIPELINING: p2 delivered")
    ok(wait_until(30, lambda: log_has(" local refused2@fake.example failed: ")),
       "no PIPELINING: refused2 bounced alone")
    ok(len(SEEN) == 2 and SEEN[1][1] == ["<p2@fake.example>", "<refused2@fake.example>"],
       "no PIPELINING: one transaction", SEEN)
    inject("badsender@test.example", ["p1@fake.example", "p2@fake.example"],
           b"Subject: bad\n\nbad\n")
    ok(wait_until(30, lambda: log_has(" local p1@fake.example failed: 127.0.0.1:%d said: 550 5.7.1"
                                      % fake.port) and
                  log_has(" local p2@fake.example failed: [127.0.0.1]:%d said: 550 5.7.1"
                          % plain.port)),
       "a sender refused with 550 to MAIL bounces, with and without PIPELINING")
    ok(len(SEEN) == 2, "no message sent after a refused MAIL")

    # 4. a server that answers garbage: deferred
    inject("postmaster@test.example", ["junk@fake.example"], b"Subject: junk\n\nx\n")
    ok(wait_until(30, lambda: log_has(" local junk@fake.example deferred: ")),
       "junk: a server answering garbage defers")
    ok(log_has("not an LMTP reply"), "... and the reason says so")

    # 5. Dovecot stopped: deferred (4.4.1); back: delivered after a flush
    dovecot_stop()
    inject("postmaster@test.example", ["ann@lmtp.example"], b"Subject: while down\n\nx\n")
    ok(wait_until(30, lambda: log_has(" local ann@lmtp.example deferred: ")),
       "Dovecot stopped: deferred")
    ok(log_has("unable to connect") and log_has("(#4.4.1)"), "... 4.4.1, unable to connect")
    q = run("qstat", QHOME).stdout.decode(errors="replace")
    ok("ann@lmtp.example" in q, "qstat shows the deferred recipient", q)
    dovecot_start()
    subprocess.run(["s6-svc", "-a", QHOME + "/service/qsend"])
    ok(wait_until(30, lambda: len(maildir_files(maildir_of("ann"))) == 2),
       "Dovecot back: delivered after the flush", dovecot_log())

    # 6. control/lmtpdomains is read again when it changes: ann's own Maildir now
    ctl_write("lmtpdomains", "# none")
    inject("postmaster@test.example", ["ann@lmtp.example"], b"Subject: home\n\nx\n")
    ok(wait_until(30, lambda: len(maildir_files(QHOME + "/mail/lmtp.example/ann")) == 1),
       "lmtpdomains changed: the next message goes to the default Maildir at once")


def cleanup():
    inst_stop()
    dovecot_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


run_main(main, cleanup)
