#!/usr/bin/env python3
# qlisten over real TCP on 127.0.0.0/8 and ::1, run directly on small
# programs and as qsetup's listener:
#  - classic mode (a shell script per connection, printing its environment):
#    readiness on -d, the UCSPI variables (PROTO, TCPREMOTEIP,
#    TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT, TCPLOCALHOST), the client on
#    fd 0 and 1, IPv6 ::1, the dual-stack "0" address showing an IPv4
#    client as a.b.c.d, the rules CDB of tcprules (deny, variables, a
#    prefix, the default rule, a new map without a restart), the loopback
#    limit -P with the -m reply (-p not applied to loopback), the total -c
#    with the -M reply, eviction of a connection of the address holding the
#    most for a newcomer, SIGTERM;
#  - pool mode (a Python program speaking listenproto.h): the environment
#    in the message, -s N connections per process, SIGHUP renewing the
#    processes, SIGTERM ending the listener while a session finishes;
#  - with qsetup's instance: readiness under s6, the client's address in
#    qsmtpd's Received:, s6-svc -h (SIGHUP) and s6-svc -d (SIGTERM) with a
#    session in progress that still delivers its message;
#  - usage errors: exit 100 with one line.
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

ENVPROG = r'''#!/bin/sh
# one connection on fd 0 and 1: its environment, then an echo of one line
env | grep -E '^(PROTO|TCP[A-Z]*|RELAYCLIENT|FOO|PREFIX|DEFAULT|QLISTENFD)=' | sort
echo "pid=$$"
echo .
read -r line
echo "got=$line"
'''

POOLPROG = r'''
import os, socket, sys
# qlisten's pool mode (lib/listenproto.h): a connection and its
# environment per message, "D" when done, end of file: exit
ctl = socket.socket(fileno=int(os.environ["QLISTENFD"]))
start = sorted(k for k in os.environ if k.startswith(("QLISTEN", "TCP", "PROTO")))
while True:
    msg, fds, flags, addr = socket.recv_fds(ctl, 4096, 1)
    if not fds:
        sys.exit(0)
    c = socket.socket(fileno=fds[0])
    env = [r for r in msg.decode().split("\0") if r]
    c.sendall(("pid=%d\n" % os.getpid() + "".join(x + "\n" for x in sorted(env)) +
               "start=" + ",".join(start) + "\n.\n").encode())
    f = c.makefile("rb")
    line = f.readline()
    if line:
        c.sendall(b"got=" + line)
    f.close()
    c.close()
    ctl.send(b"D")
'''

LISTENERS = []


class Listener:
    """qlisten run directly, its log in a file, ready when it says so"""
    def __init__(self, args, name):
        self.logname = TMP + "/" + name + ".log"
        self.log = open(self.logname, "wb")
        r, w = os.pipe()
        self.p = subprocess.Popen(["qlisten", "-d", str(w)] + args, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log, pass_fds=(w,))
        os.close(w)
        LISTENERS.append(self)
        self.ready = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not select.select([r], [], [], 0.2)[0]:
                continue
            b = os.read(r, 16)
            if not b:
                break
            self.ready += b
        os.close(r)

    def logtext(self):
        with open(self.logname, "rb") as f:
            return f.read().decode("latin-1")

    def kids(self):
        return children(self.p.pid)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class EnvConn:
    """a client of a test program: the NAME=VALUE lines it printed"""
    def __init__(self, port, host="127.0.0.1", src=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(10)
        if src is not None:
            self.s.bind((src, 0))
        self.s.connect((host, port))
        self.port = self.s.getsockname()[1]
        self.f = self.s.makefile("rb")
        self.env = {}
        self.first = b""
        while True:
            line = self.f.readline()
            if not self.first:
                self.first = line
            if not line or line == b".\n":
                break
            k, _, v = line.decode().rstrip("\n").partition("=")
            self.env[k] = v
        self.pid = int(self.env.get("pid", "0"))

    def echo(self, text):
        """sends a line; what the program answers (b"" if nothing)"""
        try:
            self.s.sendall(text.encode() + b"\n")
            return self.f.readline()
        except OSError:
            return b""

    def close(self):
        self.f.close()
        self.s.close()


def free_port6():
    s = socket.socket(socket.AF_INET6)
    s.bind(("::", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def refused(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def where(pid):
    """what a process that should have ended is doing (for a failure's diagnostics)"""
    out = []
    for f in ("status", "wchan", "stack"):
        try:
            with open("/proc/%d/%s" % (pid, f)) as fh:
                t = fh.read()
        except OSError as e:
            t = str(e)
        if f == "status":
            t = "".join(l for l in t.splitlines(True) if l.startswith(("State", "SigBlk", "SigPnd", "ShdPnd")))
        out.append("%s: %s" % (f, t.strip()))
    return "pid %d: %s" % (pid, "; ".join(out))


def log_tail(name, n=10):
    try:
        with open(QHOME + "/log/%s/current" % name, encoding="latin-1") as fh:
            return "\n" + "".join(fh.readlines()[-n:])
    except OSError as e:
        return str(e)


def tcprules(fn, text):
    return subprocess.run(["tcprules", fn, fn + ".tmp"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode == 0


def classic():
    envprog = TMP + "/envprog"
    with open(envprog, "w") as f:
        f.write(ENVPROG)
    os.chmod(envprog, 0o755)
    rules = TMP + "/rules.cdb"
    ok(tcprules(rules, '127.0.0.11:deny\n127.0.0.12:allow,FOO="bar",RELAYCLIENT=""\n'
                '127.0.1.:allow,PREFIX="p"\n:allow,DEFAULT="yes"\n'), "tcprules made the rules CDB")
    port = free_port()
    ql = Listener(["-c", "4", "-p", "1", "-P", "2", "-l", "local.example", "-x", rules,
                   "-m", "PERIP REPLY", "-M", "BUSY REPLY", "-u", "nobody",
                   "127.0.0.1", str(port), envprog], "classic")
    is_(ql.ready, b"\n", "classic: readiness, one newline on -d, then the descriptor closed")

    c = EnvConn(port, src="127.0.0.5")
    is_({k: v for k, v in c.env.items() if k != "pid"},
        {"PROTO": "TCP", "TCPREMOTEIP": "127.0.0.5", "TCPREMOTEPORT": str(c.port),
         "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": str(port), "TCPLOCALHOST": "local.example",
         "DEFAULT": "yes"},
        "classic: the UCSPI environment (and the default rule's variable)")
    st = proc_stat(c.pid)
    ok(st is not None and st[1] == ql.p.pid, "classic: the program is qlisten's child")
    with open("/proc/%d/status" % c.pid) as f:
        uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
    is_(uid, str(subprocess.run(["id", "-u", "nobody"], stdout=subprocess.PIPE).stdout.decode()
                 .strip()), "classic: the program runs as -u nobody")
    is_(c.echo("hello"), b"got=hello\n", "classic: the client is on fd 0 and fd 1")
    c.close()

    # rules
    s = socket.socket()
    s.settimeout(5)
    s.bind(("127.0.0.11", 0))
    s.connect(("127.0.0.1", port))
    try:
        got = s.recv(100)
    except OSError:
        got = b""
    s.close()
    is_(got, b"", "rules: deny closes the connection at once, nothing said")
    ok(wait_until(5, lambda: "qlisten: deny ip=127.0.0.11" in ql.logtext()), "rules: deny logged")
    c = EnvConn(port, src="127.0.0.12")
    ok(c.env.get("FOO") == "bar" and c.env.get("RELAYCLIENT") == "" and "DEFAULT" not in c.env,
       "rules: the address's variables (FOO=bar, RELAYCLIENT=), not the default's")
    c.close()
    c = EnvConn(port, src="127.0.1.5")
    ok(c.env.get("PREFIX") == "p" and "FOO" not in c.env, "rules: a prefix rule (127.0.1.)")
    c.close()
    ok(tcprules(rules, '127.0.0.12:deny\n'), "rules: a new CDB renamed over the old one")
    c = EnvConn(port, src="127.0.0.12")
    is_(c.first, b"", "rules: the new map is read without a restart (127.0.0.12 denied now)")
    c.close()

    # limits: -P 2 for a loopback address (-p 1 is for the others)
    a = EnvConn(port, src="127.0.0.20")
    b = EnvConn(port, src="127.0.0.20")
    ok(a.pid != 0 and b.pid != 0, "-P 2: two connections of 127.0.0.20 (-p 1 is not for loopback)")
    c = EnvConn(port, src="127.0.0.20")
    is_(c.first, b"PERIP REPLY\r\n", "-P 2: the third gets the -m reply")
    c.close()
    ok("qlisten: refuse ip=127.0.0.20 reason=perip limit=2" in ql.logtext(), "-P: refusal logged")
    d = EnvConn(port, src="127.0.0.21")
    ok(d.pid != 0, "-P 2: another address still gets in")
    a.close()
    got = None
    for i in range(50):
        e = EnvConn(port, src="127.0.0.20")
        got = e.pid
        e.close()
        if got:
            break
        time.sleep(0.1)
    ok(got, "-P 2: a slot comes back when a connection ends")

    # -c 4: four connections from four addresses, none idle for long: a fifth is refused
    held = [b, d, EnvConn(port, src="127.0.0.22"), EnvConn(port, src="127.0.0.23")]
    ok(all(h.pid for h in held), "-c 4: four connections held")
    c = EnvConn(port, src="127.0.0.24")
    is_(c.first, b"BUSY REPLY\r\n", "-c 4: the fifth gets the -M reply")
    c.close()
    ok("qlisten: refuse ip=127.0.0.24 reason=full limit=4" in ql.logtext(), "-c: refusal logged")
    ok(all(h.echo("still") == b"got=still\n" for h in held), "-c 4: the four go on")
    for h in held:
        h.close()

    # SIGTERM: qlisten exits, the connection in progress goes on
    c = EnvConn(port, src="127.0.0.25")
    ql.p.send_signal(signal.SIGTERM)
    try:
        rc = ql.p.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    is_(rc, 0, "classic: SIGTERM: qlisten exits 0")
    ok(refused(port), "classic: SIGTERM: nobody listens any more")
    is_(c.echo("after"), b"got=after\n", "classic: SIGTERM: the connection in progress goes on")
    c.close()


def families():
    envprog = TMP + "/envprog"
    port6 = free_port6()
    ql = Listener(["-c", "10", "-P", "0", "::1", str(port6), envprog], "ipv6")
    c = EnvConn(port6, host="::1")
    ok(c.env.get("TCPREMOTEIP") == "::1" and c.env.get("TCPLOCALIP") == "::1" and
       c.env.get("TCPREMOTEPORT") == str(c.port) and c.env.get("TCPLOCALPORT") == str(port6),
       "IPv6: ::1 as TCPREMOTEIP and TCPLOCALIP", c.env)
    c.close()
    ql.stop()

    # "0": every address of both families; -c 3 for the eviction below
    # (-u: a listener that stays root keeps no copy of a connection, so
    # cannot evict one)
    port = free_port6()
    ql = Listener(["-u", "nobody", "-c", "3", "-P", "0", "-M", "BUSY REPLY", "0", str(port), envprog], "dual")
    c4 = EnvConn(port, src="127.0.0.6")
    c6 = EnvConn(port, host="::1")
    ok(c4.env.get("TCPREMOTEIP") == "127.0.0.6" and c4.env.get("TCPLOCALIP") == "127.0.0.1",
       "dual stack: an IPv4 client is shown as a.b.c.d", c4.env)
    ok(c6.env.get("TCPREMOTEIP") == "::1", "dual stack: an IPv6 client as itself", c6.env)
    c4.close()
    c6.close()
    wait_until(5, lambda: not ql.kids())

    # eviction: three idle connections of one address; a newcomer of another gets in
    held = [EnvConn(port, src="127.0.0.40") for i in range(3)]
    ok(all(h.pid for h in held), "evict: -c 3 taken by 127.0.0.40")
    time.sleep(1.2)  # no progress for a second: evictable (the address holds more than the newcomer)
    n = EnvConn(port, host="::1")
    ok(n.pid != 0, "evict: a newcomer from another address is served")
    ended = []
    for h in held:
        h.s.settimeout(2)
        try:
            ended.append(h.f.readline())
        except OSError:
            ended.append(None)
    is_(sorted(x for x in ended if x), [b"BUSY REPLY\r\n"],
        "evict: exactly one of the three got the -M reply")
    ok("qlisten: evict ip=127.0.0.40 " in ql.logtext() and "for=::1" in ql.logtext(),
       "evict: logged with the newcomer's address")
    for h in held + [n]:
        h.close()
    ql.stop()


def pool():
    poolprog = TMP + "/poolprog.py"
    with open(poolprog, "w") as f:
        f.write(POOLPROG)
    port = free_port()
    ql = Listener(["-s", "3", "-i", "1", "-l", "pool.example", "127.0.0.1", str(port),
                   sys.executable, poolprog], "pool")
    is_(ql.ready, b"\n", "pool: readiness on -d")
    ok(wait_until(10, lambda: len(ql.kids()) >= 1), "pool: a process started ahead of need")

    c = EnvConn(port, src="127.0.0.7")
    is_({k: v for k, v in c.env.items() if k != "pid"},
        {"PROTO": "TCP", "TCPREMOTEIP": "127.0.0.7", "TCPREMOTEPORT": str(c.port),
         "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": str(port), "TCPLOCALHOST": "pool.example",
         "start": "QLISTENFD,QLISTENSHM,QLISTENSLOT"},
        "pool: the connection's environment in the message; the process's own has only QLISTEN*")
    is_(c.echo("x"), b"got=x\n", "pool: the client's socket came with it")
    c.close()

    served = {}
    for i in range(7):
        c = EnvConn(port)
        served[c.pid] = served.get(c.pid, 0) + 1
        c.close()
        time.sleep(0.05)
    ok(max(served.values()) >= 2, "pool: a process serves several connections %s" % served)
    ok(max(served.values()) <= 3 and len(served) >= 3,
       "pool: -s 3: at most three per process %s" % served)
    full = [p for p, n in served.items() if n == 3]
    ok(wait_until(10, lambda: not any(alive(p) for p in full)),
       "pool: a process that served three exits")

    # SIGHUP: the idle processes go at once, the busy one after its connection
    busy = EnvConn(port)
    time.sleep(0.3)
    idle = [p for p in ql.kids() if p != busy.pid]
    ok(busy.pid != 0 and idle, "pool: one busy process, idle ones %s" % idle)
    ql.p.send_signal(signal.SIGHUP)
    ok(wait_until(10, lambda: not any(alive(p) for p in idle)), "SIGHUP: the idle processes exit")
    is_(busy.echo("on"), b"got=on\n", "SIGHUP: the busy one finishes its connection")
    busy.close()
    ok(wait_until(10, lambda: not alive(busy.pid)), "SIGHUP: ... and then exits")
    new = set()
    for i in range(3):
        c = EnvConn(port)
        new.add(c.pid)
        c.close()
    ok(0 not in new and not new & (set(idle) | {busy.pid}) and ql.p.poll() is None,
       "SIGHUP: new connections get new processes, the listener stays")

    # SIGTERM: the listener and idle processes go, a session in progress finishes
    c = EnvConn(port)
    time.sleep(0.3)
    idle = [p for p in ql.kids() if p != c.pid]
    ql.p.send_signal(signal.SIGTERM)
    try:
        rc = ql.p.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    is_(rc, 0, "pool: SIGTERM: qlisten exits 0")
    ok(refused(port), "pool: SIGTERM: nobody listens any more")
    ok(wait_until(10, lambda: not any(alive(p) for p in idle)), "pool: SIGTERM: idle processes exit")
    is_(c.echo("last"), b"got=last\n", "pool: SIGTERM: the session in progress finishes")
    c.close()
    ok(wait_until(10, lambda: not alive(c.pid)), "pool: SIGTERM: its process exits after it")


def usage():
    envprog = TMP + "/envprog"
    port = str(free_port())
    cases = [
        ([], "no arguments"),
        (["127.0.0.1", port], "no program"),
        (["-c", "0", "127.0.0.1", port, envprog], "-c 0"),
        (["-c", "x", "127.0.0.1", port, envprog], "-c not a number"),
        (["-s", "0", "127.0.0.1", port, envprog], "-s 0"),
        (["-d", "1", "127.0.0.1", port, envprog], "-d below 3"),
        (["-P", "100001", "127.0.0.1", port, envprog], "-P above the limit"),
        (["-Z", "127.0.0.1", port, envprog], "unknown option"),
        (["-m", "two\r\nlines", "127.0.0.1", port, envprog], "-m with CRLF"),
        (["127.0.0.1", "65536", envprog], "port out of range"),
        (["127.0.0.1", "2x5", envprog], "port not a number"),
        (["127.0.0.256", port, envprog], "not an IPv4 address"),
        (["::g", port, envprog], "not an IPv6 address"),
    ]
    for args, what in cases:
        r = subprocess.run(["qlisten"] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        err = r.stderr.decode(errors="replace")
        ok(r.returncode == 100 and r.stdout == b"" and err.count("\n") == 1 and
           err.startswith("qlisten: "), "usage: %s: exit 100, one line" % what,
           "rc %d: %r" % (r.returncode, err))
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    hold.listen(1)
    r = subprocess.run(["qlisten", "127.0.0.1", str(hold.getsockname()[1]), envprog],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=10)
    hold.close()
    err = r.stderr.decode(errors="replace")
    ok(r.returncode == 111 and err.count("\n") == 1 and "unable to bind" in err,
       "a port in use: exit 111, one line", "rc %d: %r" % (r.returncode, err))


def last_words(c):
    """the code of the next reply and what follows it (None: the end of the
    connection), or what went wrong (the client's timeout)"""
    try:
        r = c.reply()
        return [r[-1][:9] if r else "EOF", c.line()]
    except OSError as e:
        return ["no end: %s" % e]


def instance():
    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port)
    inst_start()
    bob = QHOME + "/mail/test.example/bob"
    ok(svc_ready("smtp"), "instance: the smtp listener is up and ready (qlisten -d 3)")
    ql = svc_pid("smtp")
    st = proc_stat(ql)
    ok(st is not None and st[0] == "qlisten", "instance: the service runs qlisten")

    def send(c, marker):
        c.code("EHLO client.example")
        c.code("MAIL FROM:<a@else.example>")
        c.code("RCPT TO:<bob@test.example>")
        c.code("DATA")
        c.send(("Subject: %s\r\nX-Marker: %s\r\n\r\nhi\r\n.\r\n" % (marker, marker)).encode())
        r = c.reply()
        return r[-1][:9] if r else "EOF"

    def delivered(marker):
        import glob
        for f in glob.glob(bob + "/new/*") + glob.glob(bob + "/cur/*"):
            with open(f, "rb") as fh:
                t = fh.read().decode("latin-1")
            if ("X-Marker: %s\n" % marker) in t:
                return t
        return None

    c = Client(port, src="127.0.0.7")
    is_(send(c, "env"), "250 2.0.0", "instance: a message from 127.0.0.7")
    c.code("QUIT")
    c.close()
    m = wait_until(20, lambda: delivered("env"), 0.2) or ""
    ok("Received: from client.example ([127.0.0.7])" in m,
       "instance: qsmtpd got the client's address from qlisten (TCPREMOTEIP)")

    # s6-svc -h: SIGHUP renews the pool
    busy = Client(port)
    bpid = (wait_until(5, lambda: serving_pids(busy.s, "qsmtpd")) or [0])[0]
    idle = [p for p in children(ql) if p != bpid]
    ok(bpid != 0 and idle, "instance: a busy qsmtpd and idle ones %s" % idle)
    subprocess.run(["s6-svc", "-h", QHOME + "/service/smtp"])
    ok(wait_until(10, lambda: not any(alive(p) for p in idle)),
       "s6-svc -h: the idle qsmtpd processes exit")
    is_(send(busy, "hup"), "250 2.0.0", "s6-svc -h: the busy session goes on and queues its message")
    busy.code("QUIT")
    busy.close()
    ok(wait_until(10, lambda: not alive(bpid)), "s6-svc -h: then its process exits")
    c = Client(port)
    npid = (wait_until(5, lambda: serving_pids(c.s, "qsmtpd")) or [0])[0]
    c.close()
    ok(npid != 0 and npid not in idle + [bpid] and svc_pid("smtp") == ql,
       "s6-svc -h: the next connection gets a new process; the listener is the same")

    # s6-svc -d: SIGTERM with a session in the middle of its transaction,
    # one between two transactions, and one whose client says nothing more
    c = Client(port)
    cpid = (wait_until(5, lambda: serving_pids(c.s, "qsmtpd")) or [0])[0]
    first = [c.code("EHLO client.example"), c.code("MAIL FROM:<a@else.example>"),
             c.code("RCPT TO:<bob@test.example>")]
    between = Client(port)
    between_pid = (wait_until(5, lambda: serving_pids(between.s, "qsmtpd")) or [0])[0]
    between.code("EHLO client.example")
    quiet = Client(port, timeout=60)
    quiet_pid = (wait_until(5, lambda: serving_pids(quiet.s, "qsmtpd")) or [0])[0]
    quiet.code("EHLO client.example")
    subprocess.run(["s6-svc", "-d", QHOME + "/service/smtp"])
    # (30 s: under the sanitizers on a loaded machine a process's exit,
    # with its leak check, has taken more than 10)
    ok(wait_until(30, lambda: not alive(ql)), "s6-svc -d: qlisten exits", where(ql))
    ok(refused(port), "s6-svc -d: nobody listens any more")
    between.send(b"NOOP\r\n")
    is_(last_words(between), ["421 4.3.2", None],
        "s6-svc -d: a session between transactions gets 421 4.3.2 to its next command and ends")
    between.close()
    c.code("DATA")
    c.send(b"Subject: term\r\nX-Marker: term\r\n\r\nhi\r\n.\r\n")
    r = c.reply()
    is_(first + [r[-1][:9] if r else "EOF", c.code("QUIT")],
        ["250 HELP", "250 2.1.0", "250 2.1.5", "250 2.0.0", "221 2.0.0"],
        "s6-svc -d: the session in progress finishes normally")
    c.close()
    ok(wait_until(20, lambda: delivered("term"), 0.2), "s6-svc -d: its message is delivered")
    ok(wait_until(10, lambda: not alive(cpid)), "s6-svc -d: its qsmtpd exits after the session")
    # timeoutstress (10 s by default) after the stop, not timeoutsmtpd (1200 s)
    is_(last_words(quiet), ["421 4.3.2", None],
        "s6-svc -d: a session whose client says nothing is ended with 421 4.3.2 soon after")
    quiet.close()
    ok(between_pid != 0 and quiet_pid != 0 and
       wait_until(20, lambda: not alive(between_pid) and not alive(quiet_pid)),
       "s6-svc -d: their qsmtpd processes exit",
       where(between_pid) + where(quiet_pid) if between_pid and quiet_pid else "no pids")
    subprocess.run(["s6-svc", "-u", QHOME + "/service/smtp"])
    ok(wait_until(40, lambda: svc_ready("smtp") and not refused(port), 0.1),
       "s6-svc -u: the listener is back",
       run("s6-svstat", QHOME + "/service/smtp").stdout.decode(errors="replace") + log_tail("smtp"))


def main():
    classic()
    families()
    pool()
    usage()
    instance()


try:
    main()
except SystemExit:
    raise
except Exception as e:  # a crash of the test itself is a failure
    import traceback
    traceback.print_exc(file=sys.stdout)
    ok(False, "test ran to the end: %s" % e)
finally:
    for ql in LISTENERS:
        ql.stop()
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
print("1..%d" % T["n"])
