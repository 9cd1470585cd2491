#!/usr/bin/env python3
# Slow and idle clients cannot take the SMTP service (issue 15, hole 4).
#
# The proof: a qsetup instance with its default limits (concurrencyincoming
# 400, concurrencyperip 40, concurrencyloopback 100: 127.0.0.0/8 counts as
# loopback, so the last one is the per-address limit here; none is changed)
# gets 500 idle connections and 200 slowloris ones (a byte every 3 s,
# never a whole command) from 70 addresses, 127.0.0.2 to 127.0.0.71, ten
# connections each; a connection that is refused or ended comes back half
# a second later, as an attacker's would. The service is full (400 held);
# a normal client from another address gets its 220 within a second (one
# retry if the machine is loaded) and its message is accepted and
# delivered: qlisten ends an idle connection of an address holding more to
# make room for it.
#
# Then the pieces one by one:
#  - the whole-command deadline: with control/timeoutsmtpd 3 a client
#    sending a byte a second and never a whole line is cut off with
#    421 4.4.2 within 3 to 5 s; a client that completes a command every
#    second is not;
#  - the DATA minimum rate (control/datarate, bytes/s): a trickle in DATA
#    is cut with 421 4.4.2 although it never pauses timeoutsmtpd seconds;
#    data faster than the rate is accepted;
#  - stress: with control/concurrencyincoming 8 (high-water mark 6) and
#    control/timeoutstress 2, six idle sessions stay, a seventh puts
#    qlisten under stress and idle sessions are cut after ~2 s, not after
#    control/timeoutsmtpd (60).
import os
import resource
import selectors
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

# the figure the issue asks for; a sanitizer build (make test SAN=1) runs
# every program several times slower, and its timing proves nothing
BANNER_MAX = 3.0 if "ASAN_OPTIONS" in os.environ else 1.0
IDLE_ADDRS = ["127.0.0.%d" % x for x in range(2, 52)]     # 50 x 10 idle
SLOW_ADDRS = ["127.0.0.%d" % x for x in range(52, 72)]    # 20 x 10 slowloris
PER_ADDR = 10
SLOW_EVERY = 3.0       # seconds between two bytes of a slowloris client
COMEBACK = 0.5         # seconds before a refused or ended attacker connects again
SLOW_TEXT = b"EHLO slow.example is still typing" + b"x" * 1000  # never a CRLF


class Attack(threading.Thread):
    """The attackers, on non-blocking sockets in one thread."""
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_now = threading.Event()
        self.sel = selectors.DefaultSelector()
        self.conns = []
        for kind, addrs in (("idle", IDLE_ADDRS), ("slow", SLOW_ADDRS)):
            for a in addrs:
                for i in range(PER_ADDR):
                    self.conns.append({"kind": kind, "src": a, "sock": None, "greeted": False,
                                       "buf": b"", "sent": 0, "next": 0.0, "again": 0.0})
        self.connects = 0
        self.refused = 0    # 421 before a greeting (the -M reply: full)
        self.evicted = 0    # 421 after the greeting: ended to make room
        self.errors = 0
        self.slow_bytes = 0  # every byte a slowloris client sent, over its reconnects

    def connect(self, c):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((c["src"], 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.errors += 1
            c["again"] = time.monotonic() + COMEBACK
            return
        c.update(sock=s, greeted=False, buf=b"", sent=0, next=time.monotonic() + SLOW_EVERY)
        self.sel.register(s, selectors.EVENT_READ, c)
        self.connects += 1

    def drop(self, c):
        self.sel.unregister(c["sock"])
        c["sock"].close()
        c.update(sock=None, greeted=False, again=time.monotonic() + COMEBACK)

    def held(self):
        return sum(1 for c in self.conns if c["sock"] is not None and c["greeted"])

    def run(self):
        for c in self.conns:
            self.connect(c)
        while not self.stop_now.is_set():
            for key, ev in self.sel.select(0.1):
                c = key.data
                try:
                    data = c["sock"].recv(4096)
                except OSError:
                    data = b""
                c["buf"] += data
                if b"421 " in c["buf"]:
                    if c["greeted"]:
                        self.evicted += 1
                    else:
                        self.refused += 1
                    c["buf"] = b""
                elif c["buf"].startswith(b"220 "):
                    c["greeted"] = True
                if not data:
                    self.drop(c)
            now = time.monotonic()
            for c in self.conns:
                if c["sock"] is None:
                    if now >= c["again"]:
                        self.connect(c)
                elif c["kind"] == "slow" and c["greeted"] and now >= c["next"]:
                    try:
                        c["sock"].send(SLOW_TEXT[c["sent"]:c["sent"] + 1])
                        c["sent"] += 1
                        self.slow_bytes += 1
                    except OSError:
                        pass
                    c["next"] = now + SLOW_EVERY
        for c in self.conns:
            if c["sock"] is not None:
                self.drop(c)


def qsmtpd_sessions():
    """qsmtpd processes of the smtp listener that hold a client"""
    return [p for p in children(svc_pid("smtp"))
            if (fd_target(p, 0) or "").startswith("socket:")]


def normal_client(port, src, marker):
    """(seconds to the 220, the greeting, the reply to the message's dot)"""
    t0 = time.monotonic()
    c = Client(port, src=src, timeout=30)
    t = time.monotonic() - t0
    end = "no greeting"
    if c.greeting and c.greeting[-1].startswith("220"):
        c.code("EHLO normal.example")
        c.code("MAIL FROM:<normal@else.example>")
        c.code("RCPT TO:<bob@test.example>")
        c.code("DATA")
        c.send(("Subject: %s\r\nX-Marker: %s\r\n\r\nthrough the crowd\r\n.\r\n"
                % (marker, marker)).encode())
        r = c.reply()
        end = r[-1][:9] if r else "EOF"
        c.code("QUIT")
    c.close()
    return t, (c.greeting or ["EOF"])[-1], end


def delivered(md, marker):
    import glob
    for f in glob.glob(md + "/new/*") + glob.glob(md + "/cur/*"):
        with open(f, "rb") as fh:
            if ("X-Marker: %s\n" % marker).encode() in fh.read():
                return True
    return False


def proof(port, bob):
    attack = Attack(port)
    attack.start()
    try:
        # the crowd settles: 400 held, the rest refused and coming back
        wait_until(20, lambda: attack.held() >= 400, 0.2)
        time.sleep(2.5)  # every held connection idle for more than a second
        held = attack.held()
        sessions = len(qsmtpd_sessions())
        print("# attack: %d connects, %d held, %d sessions, %d refused, %d evicted, %d errors" %
              (attack.connects, held, sessions, attack.refused, attack.evicted, attack.errors),
              flush=True)
        ok(attack.connects >= 700 and held >= 390 and sessions >= 390,
           "700 attackers (500 idle, 200 slowloris) fill the service: %d held" % held)
        # a slowloris client sends its first byte 3 s after its 220; under
        # load the idle ones may hold every slot at first, and the slow ones
        # come in only as qlisten evicts or its stress deadline cuts
        ok(wait_until(30, lambda: attack.slow_bytes > 0, 0.2),
           "the slowloris clients are sending their bytes (%d so far)" % attack.slow_bytes)

        t, greeting, end = normal_client(port, "127.0.0.200", "normal-1")
        print("# normal client: 220 after %.3f s" % t, flush=True)
        marker = "normal-1"
        if not (t < BANNER_MAX and greeting.startswith("220")):
            print("# slow or refused (%r): one retry" % greeting, flush=True)
            t, greeting, end = normal_client(port, "127.0.0.201", "normal-2")
            print("# normal client, again: 220 after %.3f s" % t, flush=True)
            marker = "normal-2"
        ok(greeting.startswith("220") and t < BANNER_MAX,
           "a normal client from another address gets its 220 within %g s (%.3f s)"
           % (BANNER_MAX, t), greeting)
        is_(end, "250 2.0.0", "... and its message is accepted")
        still = attack.held()
        ok(still >= 380, "while the attackers still hold the service (%d)" % still)
        ok(wait_until(30, lambda: delivered(bob, marker), 0.2), "... and delivered to the Maildir")
        log = open(QHOME + "/log/smtp/current", encoding="latin-1").read()
        ok("for=127.0.0.200" in log or "for=127.0.0.201" in log,
           "qlisten logged the eviction that made room for it")
    finally:
        attack.stop_now.set()
        attack.join(20)
    ok(wait_until(30, lambda: len(qsmtpd_sessions()) == 0, 0.2),
       "the attackers gone, every session ends")


def deadline_tests(port):
    ctl_write("timeoutsmtpd", 3)  # read at each session's start
    # a byte a second, never a whole line
    c = Client(port, src="127.0.0.80")
    t0 = time.monotonic()
    sent = 0
    got = b""
    c.s.settimeout(0.1)
    while time.monotonic() - t0 < 10:
        try:
            b = c.s.recv(4096)
            got += b
            if not b or b"\r\n" in got:
                break
        except socket.timeout:
            pass
        if time.monotonic() - t0 >= sent + 0.5:
            try:
                c.send(b"NOOP and more"[sent % 13:sent % 13 + 1])
                sent += 1
            except OSError:
                break
    t = time.monotonic() - t0
    c.close()
    ok(got.startswith(b"421 4.4.2") and 2.5 <= t <= 5.5 and sent >= 2,
       "whole-command deadline: a byte a second is cut with 421 4.4.2 after %.1f s "
       "(%d bytes sent)" % (t, sent), got)
    # a whole command every second goes on
    c = Client(port, src="127.0.0.80")
    replies = []
    for i in range(5):
        time.sleep(1)
        replies.append(c.code("NOOP"))
    c.close()
    is_(replies, ["250 2.0.0"] * 5, "a whole command every second for 5 s: not cut")

    # DATA: a byte every 0.25 s (4 bytes/s, no pause near 3 s) under datarate 100
    ctl_write("datarate", 100)

    def into_data(src):
        c = Client(port, src=src)
        r = [c.code(x) for x in ("EHLO rate.example", "MAIL FROM:<r@else.example>",
                                  "RCPT TO:<bob@test.example>", "DATA")]
        return c, r
    c, r = into_data("127.0.0.81")
    t0 = time.monotonic()
    got = b""
    c.s.settimeout(0.25)
    n = 0
    while time.monotonic() - t0 < 10:
        try:
            b = c.s.recv(4096)
            got += b
            if not b or b"\r\n" in got:
                break
        except socket.timeout:
            pass
        try:
            c.send(b"Subject: slow\r\n"[n % 15:n % 15 + 1])
            n += 1
        except OSError:
            break
    t = time.monotonic() - t0
    c.close()
    ok(r[-1].startswith("354") and got.startswith(b"421 4.4.2") and 2.5 <= t <= 5.5,
       "DATA minimum rate: a trickle of 4 bytes/s is cut with 421 4.4.2 after %.1f s" % t, got)
    # faster than the rate, with pauses: 200 bytes every 0.5 s for 5 s
    c, r = into_data("127.0.0.82")
    c.send(b"Subject: rate ok\r\nX-Marker: rate-ok\r\n\r\n")
    for i in range(10):
        time.sleep(0.5)
        c.send(b"y" * 198 + b"\r\n")
    c.send(b".\r\n")
    end = c.reply()
    c.close()
    ok(end and end[-1].startswith("250 2.0.0"),
       "DATA at 400 bytes/s with pauses (above the rate): accepted", end)
    os.unlink(QHOME + "/control/datarate")


def stress_tests(port):
    ctl_write("concurrencyincoming", 8)  # high-water mark: 8 - 8/4 = 6
    ctl_write("timeoutstress", 2)
    ctl_write("timeoutsmtpd", 60)
    svc_restart("smtp")
    idle = [Client(port, src="127.0.0.90") for i in range(6)]
    time.sleep(4)
    early = [c.pending(0.05) for c in idle]
    ok(all(e == b"" for e in early),
       "six idle sessions (at the high-water mark, not above): none cut after 4 s", early)
    t0 = time.monotonic()
    idle.append(Client(port, src="127.0.0.91"))
    cut = []
    while time.monotonic() - t0 < 8 and not cut:
        for c in idle:
            got = c.pending(0.05)
            if got.startswith(b"421 4.4.2"):
                cut.append(time.monotonic() - t0)
    ok(cut and cut[0] <= 5,
       "a seventh (above three quarters of 8): idle sessions are cut with 421 4.4.2 after "
       "control/timeoutstress (%s s), not control/timeoutsmtpd (60 s)" %
       ",".join("%.1f" % x for x in cut))
    for c in idle:
        c.close()
    log = open(QHOME + "/log/smtp/current", encoding="latin-1").read()
    ok("ip=127.0.0.90 " in log and "end=timeout" in log, "the cut sessions are logged end=timeout")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1024:
        bail("cannot open 700 sockets (RLIMIT_NOFILE %d)" % hard)
    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port)
    inst_start()
    for name, want in (("concurrencyincoming", "400"), ("concurrencyperip", "40"),
                       ("concurrencyloopback", "100")):
        with open(QHOME + "/control/" + name) as f:
            is_(f.read().strip(), want, "default control/%s" % name)
    bob = QHOME + "/mail/test.example/bob"
    proof(port, bob)
    deadline_tests(port)
    stress_tests(port)


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
