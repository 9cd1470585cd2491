# Shared by the Python integration tests (tests/39-*.t, 6x-*.t, 91-*.t): TAP output, an
# instance in a temp dir under s6-svscan, free ports, bounded waits.
#   sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
#   from qmtatest import *
import glob
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(sys.argv[0]), ".."))
os.environ["PATH"] = ROOT + "/bin:" + os.environ["PATH"]
TMP = tempfile.mkdtemp(prefix="qmta-test.")
os.chmod(TMP, 0o755)
QHOME = TMP + "/inst"
os.environ["QHOME"] = QHOME
T = {"n": 0, "failed": 0}
SVSCAN = []


def ok(cond, name, detail=None):
    T["n"] += 1
    if not cond:
        T["failed"] += 1
    print("%sok %d - %s" % ("" if cond else "not ", T["n"], name), flush=True)
    if not cond and detail is not None:
        print("# " + str(detail).replace("\n", "\n# "), flush=True)
    return cond


def is_(got, want, name):
    if not ok(got == want, name):
        print("# got:  %r\n# want: %r" % (got, want), flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bail(why):
    print("Bail out! " + why, flush=True)
    raise SystemExit(1)


def run(*args, stdin=None):
    return subprocess.run(list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


def inst_make(*listeners, users=("bob",)):
    """qsetup makes the instance in QHOME for test.example with the listener
    options given ("--smtp", "127.0.0.1:PORT", ...), the users
    USER@test.example (no password) go into control/users, the maps are
    compiled; a failure bails out. Then the test adds its own and calls
    inst_start()."""
    r = run("qsetup", QHOME, "--me", "test.example", *listeners)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    with open(QHOME + "/control/users", "a") as f:
        f.write("".join("%s@test.example:!\n" % u for u in users))
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")


def inst_start():
    # SPF, DKIM and DMARC ask DNS on every port-25 session, qremote for MX
    # records: unless the test wrote its own control/resolvers, the run's
    # NXDOMAIN server (tests/nxdns.py, $QMTA_TEST_DNS), else a loopback port
    # where nothing listens (as lib.sh does)
    resolvers = QHOME + "/control/resolvers"
    if not os.path.exists(resolvers):
        with open(resolvers, "w") as f:
            f.write(os.environ.get("QMTA_TEST_DNS") or "127.0.0.1:%d" % free_port())
            f.write("\n")
    SVSCAN.append(subprocess.Popen(["s6-svscan", QHOME + "/service"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for svc in sorted(glob.glob(QHOME + "/service/*/")):
        if not os.path.exists(svc + "notification-fd"):
            continue
        deadline = time.time() + 20
        while not os.path.exists(svc + "supervise/status") and time.time() < deadline:
            time.sleep(0.1)
        if run("s6-svwait", "-U", "-t", "20000", svc).returncode != 0:
            bail("service %s not ready" % svc)


def freeze(pid):
    """Stops pid, then everything below it, top down; returns them all
    (as lib.sh's freeze: a stopped process starts nothing new)."""
    try:
        os.kill(pid, 19)  # SIGSTOP
    except OSError:
        return []
    pids = [pid]
    for c in children(pid):
        pids += freeze(c)
    return pids


def svscan_stop(p, home):
    """Stops s6-svscan p of the instance in home, its tree killed after 15 s."""
    subprocess.run(["s6-svscanctl", "-t", home + "/service"], stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print("# s6-svscan did not stop in 15 s: killing its tree", flush=True)
        for pid in freeze(p.pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        p.wait()


def inst_stop():
    for p in SVSCAN:
        svscan_stop(p, QHOME)
    del SVSCAN[:]


def wait_until(seconds, fn, step=0.05):
    """fn() until it is true, at most seconds; its last value"""
    deadline = time.monotonic() + seconds
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def ctl_write(name, value):
    with open(QHOME + "/control/" + name, "w") as f:
        f.write("%s\n" % value)


# ---- processes, seen through /proc ----

def proc_stat(pid):
    """(comm, ppid) of pid, or None"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    return comm, int(s[s.rindex(")") + 2:].split()[1])


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None and st[1] == pid:
                out.append(int(d))
    return out


def fd_target(pid, fd):
    try:
        return os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return None


def alive(pid):
    st = proc_stat(pid)
    if st is None:
        return False
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


def svc_pid(name):
    """the pid of service/name (its run script's exec'd program), or 0"""
    r = subprocess.run(["s6-svstat", "-p", QHOME + "/service/" + name],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return int(r.stdout.decode().strip() or "0")
    except ValueError:
        return 0


def svc_ready(name):
    r = subprocess.run(["s6-svstat", "-o", "up,ready", QHOME + "/service/" + name],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout.decode().split() == ["true", "true"]


def svc_restart(name, seconds=20):
    """s6-svc -r; waits until a new process of the service is up and ready"""
    old = svc_pid(name)
    subprocess.run(["s6-svc", "-r", QHOME + "/service/" + name])
    if not wait_until(seconds, lambda: svc_pid(name) not in (0, old) and svc_ready(name), 0.1):
        bail("service %s did not come back after s6-svc -r" % name)


def _tcp_key(ip, port):
    """the form of ip:port in /proc/net/tcp or tcp6"""
    if ":" in ip:
        words = struct.unpack("<IIII", socket.inet_pton(socket.AF_INET6, ip))
        return "%08X%08X%08X%08X:%04X" % (words + (port,))
    return "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0], port)


def socket_inode(sock):
    """the inode of the server's side of a connected client socket, or None"""
    me = sock.getsockname()
    peer = sock.getpeername()
    want_local = _tcp_key(peer[0], peer[1])
    want_rem = _tcp_key(me[0], me[1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[1] == want_local and cols[2] == want_rem:
                        return cols[9]
        except OSError:
            pass
    return None


def serving_pids(sock, comm):
    """the processes named comm that hold the server's side of sock"""
    inode = socket_inode(sock)
    if inode is None:
        return []
    target = "socket:[%s]" % inode
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st is None or st[0] != comm:
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % d)
        except OSError:
            continue
        for fd in fds:
            if fd_target(int(d), int(fd)) == target:
                pids.append(int(d))
                break
    return pids


# ---- an SMTP client that shows every byte ----

class Client:
    """A raw SMTP client: src binds the source address (127.0.0.x)."""
    def __init__(self, port, host="127.0.0.1", src=None, timeout=20, greet=True):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src is not None:
            self.s.bind((src, 0))
        self.s.connect((host, port))
        self.raw = self.s
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        """one line without CRLF, or None at end of file"""
        while b"\r\n" not in self.buf:
            b = self.s.recv(65536)
            if not b:
                return None
            self.buf += b
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def reply(self):
        """the lines of one reply (a multi-line one whole); [] at end of file"""
        lines = []
        while True:
            line = self.line()
            if line is None:
                return lines
            lines.append(line)
            if len(line) < 4 or line[3:4] != "-":
                return lines

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def code(self, text):
        """the code and enhanced code of the reply to text ("250 2.1.0")"""
        r = self.cmd(text)
        return r[-1][:9] if r else "EOF"

    def starttls(self):
        r = self.cmd("STARTTLS")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.s = ctx.wrap_socket(self.s)
        self.buf = b""
        return r

    def pending(self, wait=0.3):
        """whatever arrives within wait seconds beyond what was read"""
        self.s.settimeout(wait)
        got = self.buf
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    break
                got += b
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        self.buf = b""
        return got

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def maildir_files(md):
    """unique name -> path, for the files in new/ and cur/ (none while
    the Maildir is not there yet: the first delivery creates it)"""
    files = {}
    for sub in ("new", "cur"):
        d = os.path.join(md, sub)
        for f in os.listdir(d) if os.path.isdir(d) else []:
            if not f.startswith("."):
                files[f.split(":")[0]] = os.path.join(md, sub, f)
    return files


def wire_form(data):
    """the message as POP3 sends it, before dot-stuffing: CRLF line ends"""
    out = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if data and not data.endswith(b"\n"):
        out += b"\r\n"
    return out


def raw_multiline(p, cmd):
    """sends cmd and returns (first line, body) with the body unstuffed
    but otherwise exactly as received (CRLF kept)"""
    p._putcmd(cmd)
    first = p._getresp()
    body = b""
    while True:
        line = p.file.readline(100000)
        if not line:
            raise EOFError("connection closed")
        if line == b".\r\n":
            break
        if line.startswith(b"."):
            line = line[1:]
        body += line
    return first, body



HELPERS = []  # processes a test started beside the instance: killed by run_main


def milter_start(source, mode, name="testmilter"):
    """A test milter (python3-milter): source is written to TMP/name.py and
    started as "name.py MODE SOCKET SEEN" on a Unix socket in TMP, which
    qmta-smtpd may use; it writes what it saw into SEEN. Returns (socket,
    seen); killed at the end (HELPERS)."""
    sock = "%s/m-%s.sock" % (TMP, mode)
    seen = "%s/m-%s.seen" % (TMP, mode)
    script = "%s/%s.py" % (TMP, name)
    with open(script, "w") as f:
        f.write(source)
    HELPERS.append(subprocess.Popen(["/usr/bin/python3", script, mode, sock, seen],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if not wait_until(20, lambda: os.path.exists(sock)):
        bail("milter %s did not start" % mode)
    os.chmod(sock, 0o666)  # qsmtpd runs as qmta-smtpd on a root instance
    return sock, seen


def run_main(main, cleanup=None):
    """Runs the test's main(): a crash of the test itself is a failing test.
    Then cleanup() (by default: the instance stopped, TMP removed unless
    KEEP is set), the plan, and the exit status."""
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:
        import traceback
        traceback.print_exc(file=sys.stdout)
        ok(False, "test ran to the end: %s" % e)
    finally:
        for p in HELPERS:
            p.kill()
            p.wait()
        if cleanup is not None:
            cleanup()
        else:
            inst_stop()
            if os.environ.get("KEEP"):
                print("# kept " + TMP)
            else:
                shutil.rmtree(TMP, ignore_errors=True)
    print("1..%d" % T["n"])
    sys.exit(1 if T["failed"] else 0)


def tap_ok(cond, name, *diag, todo=None):
    """ok() for the tests that give several diagnostics or mark a test TODO
    (a failing TODO test is not counted as failed); counts in T as ok()
    does. Its companion tap_skip(name, why) counts a skipped test."""
    T["n"] += 1
    line = "%sok %d - %s" % ("" if cond else "not ", T["n"], name)
    print(line + (" # TODO " + todo if todo else ""), flush=True)
    if not cond:
        if not todo:
            T["failed"] += 1
        for d in diag:
            if d is not None:
                print("# " + str(d).replace("\n", "\n# "), flush=True)
    return cond


def tap_skip(name, why):
    T["n"] += 1
    print("ok %d - %s # SKIP %s" % (T["n"], name, why), flush=True)
