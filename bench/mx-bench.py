#!/usr/bin/env python3
"""mx-bench: qmta beside Postfix on the traffic shape an MX sees.

    python3 bench/mx-bench.py [-n N] [--sizes 4096,100000] [--sessions 1,10,50]
                              [--shapes conn,relay,reuse,sendmail,latency,lmtp]
                              [--systems qmta,qmta-s1,postfix] [--pause SECONDS]

Both mail systems run in the same run, one after the other for each
figure, fed by the same load generator: Postfix's smtp-source (Debian's
postfix package, installed here if missing; the system's own Postfix stays
unconfigured and off). Shapes:
  conn      one message per connection (smtp-source without -d): SMTP to
            Maildir, for each size and session count
  relay     one message per connection, relayed to an SMTP sink (bench/smtpsink)
  reuse     every session sends all its messages over one connection (-d)
  sendmail  10 parallel scripts calling each system's sendmail (one process
            per message is inherent there)
  latency   connect-to-greeting times of 500 connections one after another
  lmtp      one message per connection to a Dovecot LMTP server that this
            script starts (qmta: control/lmtpdomains; Postfix: its lmtp
            transport), for each session count; beside it Dovecot's own
            rate and CPU (clients feeding its socket directly, connections
            kept) and, for comparison, what SMTP to Maildir and Dovecot's
            own cost would add up to (1 / (1/maildir + 1/dovecot), with the
            conn shape's figure of the same run). Dovecot's CPU is counted
            with each system's.
Systems: qmta (qsetup's defaults), qmta-sN (the same with
control/sessionsperprocess N: qmta-s1 starts a qsmtpd for every
connection), postfix. For each figure: messages/s from the first connection to the last Maildir
file (or the last message at the sink), and CPU milliseconds per message:
the user+system time of every process of the mail system during the run,
read from a cpuacct cgroup that holds the whole system (s6-svscan and all
its descendants; Postfix's master and all its daemons; for sendmail, the
sendmail processes too). Memory per session: PSS and RSS of the session
processes (qsmtpd; Postfix's smtpd and cleanup), sampled during a run.

qmta runs with qsetup's defaults, SPF, DKIM and DMARC checks of port-25
mail included (record-only): its DNS is tests/nxdns.py on loopback, which
answers every query at once (NXDOMAIN), as a local caching resolver would
for names it knows; a resolver across the network would make the figures
the network's. Postfix, as configured here, makes no DNS lookups.

Run as root. Build first: make build bench/smtpsink bench/bannerlat.
Between runs the script pauses (--pause, default 20 s): files removed by
one run slow the next run's file creation on ext4 without a journal.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
CGROOT = "/sys/fs/cgroup/cpuacct"
FROM = "load@bench.example"
LOCAL = "bob@test.example"
FAR = "someone@far.example"
LMTP_RCPT = "ann@lmtp.example"


def die(msg, code=111):
    sys.stderr.write("mx-bench: %s\n" % msg)
    sys.exit(code)


def free_port(ip="127.0.0.1"):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            ok = s.recv(512).startswith(b"220")
            s.sendall(b"QUIT\r\n")
            s.close()
            if ok:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


class Cgroup:
    """A cpuacct cgroup: processes started into it, CPU time read from it."""

    def __init__(self, name):
        self.path = os.path.join(CGROOT, name)
        self.ok = os.path.isdir(CGROOT)
        if self.ok:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError:
                self.ok = False

    def prefix(self):
        """A command prefix that puts what it runs into the cgroup."""
        if not self.ok:
            return []
        return ["sh", "-c", 'echo $$ > "%s/tasks" && exec "$@"' % self.path, "sh"]

    def usage_ns(self):
        if not self.ok:
            return None
        with open(os.path.join(self.path, "cpuacct.usage")) as f:
            return int(f.read())

    def kill_all(self):
        """SIGKILL to whatever is still in the cgroup"""
        if not self.ok:
            return
        for pid in open(os.path.join(self.path, "tasks")).read().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.5)

    def remove(self):
        if self.ok:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def count_files(d):
    try:
        with os.scandir(d) as it:
            return sum(1 for e in it if e.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return 0


def session_mem(names, cwd):
    """(sessions, RSS KiB, PSS KiB) per session of the processes named names
    working in cwd: a session counts one process of the first name."""
    cwd = os.path.realpath(cwd)
    sessions = rss = pss = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open("/proc/%s/comm" % pid).read().strip()
            if comm not in names or os.path.realpath("/proc/%s/cwd" % pid) != cwd:
                continue
            if comm == names[0]:
                # a waiting pool process is not a session
                if not os.readlink("/proc/%s/fd/0" % pid).startswith("socket:"):
                    continue
                sessions += 1
            for line in open("/proc/%s/smaps_rollup" % pid):
                f = line.split()
                if f[0] == "Rss:":
                    rss += int(f[1])
                if f[0] == "Pss:":
                    pss += int(f[1])
        except OSError:
            continue
    n = max(sessions, 1)
    return sessions, rss // n, pss // n


class Sink:
    def __init__(self, work):
        self.ip = "127.0.0.2"
        self.port = free_port(self.ip)
        self.log = os.path.join(work, "sink.log")
        out = open(os.path.join(work, "sink.out"), "w")
        self.proc = subprocess.Popen([os.path.join(ROOT, "bench", "smtpsink"), self.ip,
                                      str(self.port), self.log], stdout=out, stderr=out)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if "ready" in open(os.path.join(work, "sink.out")).read():
                return
            time.sleep(0.1)
        die("the sink did not start")

    def count(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Dovecot:
    """A Dovecot LMTP server on a Unix socket, in a cgroup of its own."""

    def __init__(self, work):
        self.dir = os.path.join(work, "dovecot")
        self.sock = os.path.join(self.dir, "lmtp.sock")
        self.cg = Cgroup("mx-bench-dovecot")
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        shutil.chown(home, "nobody", "nogroup")
        with open(os.path.join(self.dir, "dovecot.conf"), "w") as f:
            f.write("""base_dir = {d}/run
state_dir = {d}/state
instance_name = qmta-mx-bench
protocols = lmtp
log_path = {d}/dovecot.log
ssl = no
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%d/%n
}}
mail_location = maildir:~/Maildir
service lmtp {{
  unix_listener lmtp {{
    path = {s}
    mode = 0666
  }}
}}
""".format(d=self.dir, s=self.sock))
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.proc = subprocess.Popen(self.cg.prefix() + [dovecot, "-F", "-c",
                                     os.path.join(self.dir, "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if time.monotonic() > end:
                die("dovecot did not make its LMTP socket")
            time.sleep(0.1)

    def count(self, rcpt=LMTP_RCPT):
        user, domain = rcpt.split("@")
        return count_files(os.path.join(self.dir, "home", domain, user, "Maildir", "new"))

    def direct(self, n, sessions, size):
        """Dovecot's own rate and CPU: clients on its socket, connections kept"""
        body = b"Subject: direct\r\n\r\n" + (b"x" * 76 + b"\r\n") * max(1, size // 78) + b".\r\n"
        per = n // sessions

        def client():
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            f = s.makefile("rwb")

            def reply():
                while True:
                    line = f.readline()
                    if len(line) < 4 or line[3:4] != b"-":
                        return line
            reply()
            f.write(b"LHLO bench\r\n")
            f.flush()
            reply()
            for _ in range(per):
                f.write(b"MAIL FROM:<load@bench.example>\r\nRCPT TO:<direct@lmtp.example>\r\n"
                        b"DATA\r\n")
                f.flush()
                reply(), reply(), reply()
                f.write(body)
                f.flush()
                reply()
            f.write(b"QUIT\r\n")
            f.flush()
            reply()
            s.close()

        before = self.count("direct@lmtp.example")
        cpu0 = self.cg.usage_ns()
        t0 = time.monotonic()
        ths = [threading.Thread(target=client) for _ in range(sessions)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        t1 = time.monotonic()
        got = self.count("direct@lmtp.example") - before
        cpu1 = self.cg.usage_ns()
        res = {"got": got, "n": per * sessions, "secs": t1 - t0, "rate": got / (t1 - t0),
               "mem": None}
        res["cpu_ms"] = (cpu1 - cpu0) / 1e6 / max(got, 1) if cpu0 is not None else None
        return res

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.cg.kill_all()
        self.cg.remove()


class Resolver:
    """tests/nxdns.py on loopback: NXDOMAIN to every query, at once"""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "nxdns.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addr = "127.0.0.1:" + self.proc.stdout.readline().decode().strip()

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Qmta:
    name = "qmta"
    mem_names = ["qsmtpd"]

    def __init__(self, work, sink, per_process=None, dovecot=None, resolver=None):
        if per_process is not None:
            self.name = "qmta-s%d" % per_process
        self.home = os.path.join(work, self.name)
        self.port = free_port()
        self.cg = Cgroup("mx-bench-" + self.name)
        env = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"])
        self.env = env
        r = subprocess.run([os.path.join(BIN, "qsetup"), self.home, "--me", "test.example",
                            "--smtp", "127.0.0.1:%d" % self.port], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("qsetup failed: %s" % r.stdout.decode(errors="replace"))
        with open(os.path.join(self.home, "control", "users"), "a") as f:
            f.write("bob@test.example:!\n")
        with open(os.path.join(self.home, "control", "access"), "a") as f:
            f.write("127.0.0.1\tRELAY\n")
        with open(os.path.join(self.home, "control", "smtproutes"), "w") as f:
            f.write("far.example:%s:%d\n" % (sink.ip, sink.port))
        if resolver is not None:
            with open(os.path.join(self.home, "control", "resolvers"), "w") as f:
                f.write(resolver.addr + "\n")
        if dovecot is not None:
            for name, line in (("users", LMTP_RCPT + ":!"), ("locals", "lmtp.example"),
                               ("rcpthosts", "lmtp.example"),
                               ("lmtpdomains", "lmtp.example:lmtp:unix:" + dovecot.sock)):
                with open(os.path.join(self.home, "control", name), "a") as f:
                    f.write(line + "\n")
        # all the load comes from 127.0.0.1: no limit per address (Postfix
        # exempts its own networks from its client limits the same way)
        with open(os.path.join(self.home, "control", "concurrencyloopback"), "w") as f:
            f.write("0\n")
        if per_process is not None:
            with open(os.path.join(self.home, "control", "sessionsperprocess"), "w") as f:
                f.write("%d\n" % per_process)
        subprocess.run([os.path.join(BIN, "qnewmaps"), self.home], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        self.maildir = os.path.join(self.home, "mail", "test.example", "bob", "new")
        self.svscan = subprocess.Popen(self.cg.prefix() + ["s6-svscan",
                                       os.path.join(self.home, "service")], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for svc in ("qsend", "smtp", "tlsd"):
            d = os.path.join(self.home, "service", svc)
            end = time.monotonic() + 20
            while not os.path.exists(os.path.join(d, "supervise", "status")):
                if time.monotonic() > end:
                    die("%s did not start" % svc)
                time.sleep(0.1)
            subprocess.run(["s6-svwait", "-U", "-t", "20000", d], check=True)
        if not wait_port(self.port):
            die("qmta does not answer")

    def version(self):
        return self.name + " " + subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                        stdout=subprocess.PIPE).stdout.decode().strip()

    def cwd(self):
        return self.home

    def sendmail_cmd(self):
        return [os.path.join(BIN, "sendmail"), "-f", FROM, LOCAL], dict(self.env, QHOME=self.home)

    def stop(self):
        subprocess.run(["s6-svscanctl", "-t", os.path.join(self.home, "service")])
        try:
            self.svscan.wait(30)
        except subprocess.TimeoutExpired:
            self.svscan.kill()
        self.cg.remove()


class Postfix:
    name = "postfix"
    mem_names = ["smtpd", "cleanup"]

    def __init__(self, work, sink, dovecot=None):
        self.work = os.path.join(work, "postfix")
        self.cfg = os.path.join(self.work, "etc")
        self.queue = os.path.join(self.work, "queue")
        data = os.path.join(self.work, "data")
        mail = os.path.join(self.work, "mail")
        self.maildir = os.path.join(mail, "test.example", "bob", "new")
        self.port = free_port()
        self.cg = Cgroup("mx-bench-postfix")
        for d in (self.cfg, self.queue, data, self.maildir, os.path.dirname(self.maildir) + "/cur",
                  os.path.dirname(self.maildir) + "/tmp"):
            os.makedirs(d, exist_ok=True)
        nobody = int(subprocess.run(["id", "-u", "nobody"], stdout=subprocess.PIPE).stdout)
        nogroup = int(subprocess.run(["id", "-g", "nobody"], stdout=subprocess.PIPE).stdout)
        for base, dirs, files in os.walk(mail):
            os.chown(base, nobody, nogroup)
        shutil.chown(data, "postfix")
        with open(os.path.join(self.cfg, "vmailbox"), "w") as f:
            f.write("bob@test.example test.example/bob/\n")
        main = ("""compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
maillog_file = {w}/maillog
maillog_file_prefixes = {w}
myhostname = mail.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = $myhostname ESMTP
virtual_mailbox_domains = test.example
virtual_mailbox_base = {mail}
virtual_mailbox_maps = texthash:{cfg}/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:no local delivery in this benchmark
relayhost = [{sip}]:{sport}
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
""" + ("""relay_domains = lmtp.example
transport_maps = texthash:{cfg}/transport
""" if dovecot is not None else "")).format(q=self.queue, data=data, w=self.work, mail=mail, cfg=self.cfg, uid=nobody,
           gid=nogroup, sip=sink.ip, sport=sink.port)
        with open(os.path.join(self.cfg, "main.cf"), "w") as f:
            f.write(main)
        if dovecot is not None:
            with open(os.path.join(self.cfg, "transport"), "w") as f:
                f.write("lmtp.example lmtp:unix:%s\n" % dovecot.sock)
        master = "127.0.0.1:%d inet n - n - - smtpd\n" % self.port + """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        with open(os.path.join(self.cfg, "master.cf"), "w") as f:
            f.write(master)
        r = subprocess.run(["postfix", "-c", self.cfg, "check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("postfix check failed: %s" % r.stdout.decode(errors="replace"))
        r = subprocess.run(self.cg.prefix() + ["postfix", "-c", self.cfg, "start"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("postfix start failed: %s" % r.stdout.decode(errors="replace"))
        if not wait_port(self.port):
            die("postfix does not answer")

    def version(self):
        v = subprocess.run(["postconf", "-c", self.cfg, "-h", "mail_version"],
                           stdout=subprocess.PIPE).stdout.decode().strip()
        return "Postfix " + v

    def cwd(self):
        return self.queue

    def sendmail_cmd(self):
        return ["/usr/sbin/sendmail", "-C", self.cfg, "-f", FROM, LOCAL], dict(os.environ)

    def stop(self):
        subprocess.run(["postfix", "-c", self.cfg, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if not self.cg.ok or not open(os.path.join(self.cg.path, "tasks")).read().strip():
                break
            time.sleep(0.2)
        self.cg.kill_all()
        self.cg.remove()


def wait_count(fn, want, timeout=600):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        n = fn()
        if n >= want:
            return n
        time.sleep(0.01 if want - n < 50 else 0.05)
    return fn()


def run_smtp(system, target_fn, rcpt, n, size, sessions, reuse, also=None):
    """One load; returns a dict of figures. also: another Cgroup whose CPU
    counts with the system's (Dovecot behind LMTP)."""
    before = target_fn()
    mem = {}

    def sample():
        time.sleep(0.7)
        mem["v"] = session_mem(system.mem_names, system.cwd())

    th = threading.Thread(target=sample)
    cmd = ["smtp-source", "-s", str(sessions), "-m", str(n), "-l", str(size), "-f", FROM,
           "-t", rcpt, "-M", "client.bench.example"]
    if reuse:
        cmd.insert(1, "-d")
    cmd.append("127.0.0.1:%d" % system.port)
    cpu0 = system.cg.usage_ns()
    also0 = also.usage_ns() if also is not None else 0
    t0 = time.monotonic()
    th.start()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    got = wait_count(target_fn, before + n) - before
    t1 = time.monotonic()
    cpu1 = system.cg.usage_ns()
    if also is not None and cpu0 is not None:
        cpu1 += also.usage_ns() - also0
    th.join()
    if r.returncode != 0:
        sys.stderr.write("mx-bench: smtp-source: %s\n" % r.stdout.decode(errors="replace")[-500:])
    res = {"got": got, "n": n, "secs": t1 - t0, "rate": got / (t1 - t0)}
    res["cpu_ms"] = (cpu1 - cpu0) / 1e6 / max(got, 1) if cpu0 is not None else None
    res["mem"] = mem.get("v")
    return res


def run_sendmail(system, n, workers=10):
    before = count_files(system.maildir)
    cmd, env = system.sendmail_cmd()
    msg = ("From: load@bench.example\nTo: bob@test.example\nSubject: bench\n\n" +
           "x" * 70 + "\n") * 1
    body = msg + ("0123456789" * 7 + "\n") * 55  # about 4 KiB
    per = n // workers
    ru0 = os.times()
    cpu0 = system.cg.usage_ns()
    t0 = time.monotonic()

    def worker():
        for _ in range(per):
            subprocess.run(cmd, input=body.encode(), env=env, stdout=subprocess.DEVNULL)

    ths = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    got = wait_count(lambda: count_files(system.maildir), before + per * workers) - before
    t1 = time.monotonic()
    cpu1 = system.cg.usage_ns()
    ru1 = os.times()
    children = (ru1.children_user - ru0.children_user) + (ru1.children_system -
                                                            ru0.children_system)
    res = {"got": got, "n": per * workers, "secs": t1 - t0, "rate": got / (t1 - t0), "mem": None}
    res["cpu_ms"] = ((cpu1 - cpu0) / 1e6 + children * 1000) / max(got, 1) \
        if cpu0 is not None else None
    return res


def fmt(system, shape, size, sessions, res):
    cpu = "%.2f" % res["cpu_ms"] if res.get("cpu_ms") is not None else "n/a"
    line = "%-8s %-8s size=%-6s sessions=%-3s done=%d/%d secs=%.2f rate=%.0f msg/s cpu=%s ms/msg" % (
        system, shape, size, sessions, res["got"], res["n"], res["secs"], res["rate"], cpu)
    if res.get("mem") and res["mem"][0] > 0:
        line += " sessions_sampled=%d rss=%d KiB pss=%d KiB" % res["mem"]
    return line


def main():
    ap = argparse.ArgumentParser(description="qmta beside Postfix, one message per connection")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--sizes", default="4096,100000")
    ap.add_argument("--sessions", default="1,10,50")
    ap.add_argument("--shapes", default="latency,conn,relay,reuse,sendmail")
    ap.add_argument("--systems", default="qmta,postfix")
    ap.add_argument("--pause", type=float, default=20)
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(100 if e.code else 0)
    if os.getuid() != 0:
        die("run as root")
    for tool in ("qsetup", "qnewmaps"):
        if not os.access(os.path.join(BIN, tool), os.X_OK):
            die("run make build first")
    for tool in ("smtpsink", "bannerlat"):
        if not os.access(os.path.join(ROOT, "bench", tool), os.X_OK):
            die("make bench/smtpsink bench/bannerlat first")
    if shutil.which("smtp-source") is None or shutil.which("postfix") is None:
        sys.stderr.write("mx-bench: installing postfix (for smtp-source and the comparison)\n")
        subprocess.run("echo 'postfix postfix/main_mailer_type select No configuration' | "
                       "debconf-set-selections", shell=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postfix"],
                           env=env, stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                            "postfix"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["postfix", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"

    base = os.environ.get("BENCHDIR", os.path.join(ROOT, "bench", "out"))
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="mx-bench.", dir=base)
    os.chmod(work, 0o755)
    sink = Sink(work)
    systems = []
    dovecot = None
    resolver = Resolver()
    try:
        if "lmtp" in a.shapes.split(","):
            if not os.access("/usr/lib/dovecot/lmtp", os.X_OK):
                die("the lmtp shape needs dovecot-lmtpd (make deps)")
            dovecot = Dovecot(work)
        for name in a.systems.split(","):
            if name == "qmta":
                systems.append(Qmta(work, sink, dovecot=dovecot, resolver=resolver))
            elif name.startswith("qmta-s") and name[6:].isdigit():
                systems.append(Qmta(work, sink, int(name[6:]), dovecot=dovecot, resolver=resolver))
            elif name == "postfix":
                systems.append(Postfix(work, sink, dovecot))
            else:
                die("unknown system %s (qmta, qmta-sN, postfix)" % name, 100)
        shapes = a.shapes.split(",")
        sizes = [int(s) for s in a.sizes.split(",")]
        sessions = [int(s) for s in a.sessions.split(",")]
        print("mx-bench: %s; %d messages a run; nproc %d; %s" % (
            ", ".join(s.version() for s in systems), a.n, os.cpu_count(),
            time.strftime("%Y-%m-%d %H:%M")))
        sys.stdout.flush()
        first = True

        def pause():
            nonlocal first
            if not first:
                time.sleep(a.pause)
            first = False

        if "latency" in shapes:
            for s in systems:
                r = subprocess.run([os.path.join(ROOT, "bench", "bannerlat"), "-n", "500",
                                    "127.0.0.1", str(s.port)], stdout=subprocess.PIPE)
                print("%-8s latency  %s" % (s.name, r.stdout.decode().strip()))
                sys.stdout.flush()
        maildir = {}  # (system, size, sessions) -> the conn shape's rate
        for shape in ("conn", "relay", "reuse"):
            if shape not in shapes:
                continue
            for size in sizes:
                for c in (sessions if shape != "reuse" else [10]):
                    for s in systems:
                        pause()
                        if shape == "relay":
                            res = run_smtp(s, sink.count, FAR, a.n, size, c, False)
                        else:
                            res = run_smtp(s, lambda s=s: count_files(s.maildir), LOCAL,
                                           a.n if shape == "conn" else 2 * a.n, size, c,
                                           shape == "reuse")
                        if shape == "conn":
                            maildir[(s.name, size, c)] = res["rate"]
                        print(fmt(s.name, shape, size, c, res))
                        sys.stdout.flush()
        if dovecot is not None:
            for c in sessions:
                pause()
                dv = dovecot.direct(a.n, c, 4096)
                print(fmt("dovecot", "lmtp-own", 4096, c, dv))
                for s in systems:
                    pause()
                    res = run_smtp(s, dovecot.count, LMTP_RCPT, a.n, 4096, c, False, dovecot.cg)
                    line = fmt(s.name, "lmtp", 4096, c, res)
                    md = maildir.get((s.name, 4096, c))
                    if md and dv["rate"] > 0:
                        line += " maildir_plus_dovecot=%.0f msg/s" % (1 / (1 / md + 1 / dv["rate"]))
                    print(line)
                    sys.stdout.flush()
        if "sendmail" in shapes:
            for s in systems:
                pause()
                print(fmt(s.name, "sendmail", 4096, 10, run_sendmail(s, a.n)))
                sys.stdout.flush()
    finally:
        for s in systems:
            s.stop()
        if dovecot is not None:
            dovecot.stop()
        resolver.stop()
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
