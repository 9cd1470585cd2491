#!/usr/bin/env python3
# qstat: the listing, states and reasons read from the info logs
# (lib/queue.h), held-back recipients (H records), filters, -s counts; then, when qsend and qremote are
# built, a live instance: a deferred message shows its reason, and
# sendmail -qR retries only what it matches.
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]


def prog(name, folder):
    p = os.path.join(BIN, name)
    return p if os.path.exists(p) else os.path.join(ROOT, folder, name)


QSTAT = prog("qstat", "qsend")
QINJECT = prog("qinject", "qinject")
SENDMAIL = prog("sendmail", "qinject")
PLAN = 29

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import T, TMP, tap_ok as ok, tap_skip as skip  # noqa: E402
os.environ.pop("QHOME", None)  # set by qmtatest; this test sets its own where it needs one


tmp = TMP
svscan = None


def make_instance(home, args=()):
    if shutil.which("qsetup"):
        r = subprocess.run(["qsetup", home, "--me", "test.example"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            return True
        print("# qsetup failed: " + r.stdout.decode(errors="replace"))
        shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "control"))
    q = os.path.join(home, "queue")
    for d in ["tmp", "new", "bounce"] + ["mess/%d" % i for i in range(32)] + \
             ["info/%d" % i for i in range(32)]:
        os.makedirs(os.path.join(q, d))
        os.chmod(os.path.join(q, d), 0o2770)
    with open(os.path.join(home, "control", "me"), "w") as f:
        f.write("test.example\n")
    return False


def qstat(home, *args):
    r = subprocess.run([QSTAT] + list(args) + [home], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def inject(home, sender, rcpts, body=b"Subject: t\n\nx\n"):
    r = subprocess.run([QINJECT, "-f", sender] + rcpts, input=body, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, env=dict(os.environ, QHOME=home))
    return r.returncode


def queue_id(path):
    """the queue id of a queue file: its I record (lib/queue.h)"""
    with open(path, "rb") as f:
        data = f.read()
    env = data[24 + int(data[3:23]):]
    for rec in env.split(b"\0"):
        if rec.startswith(b"I"):
            return rec[1:].decode()
    return None


def counts(text):
    return dict(line.split() for line in text.strip().split("\n") if line.strip())


try:
    print("1..%d" % PLAN)

    # --- part A: a queue in a known state, no daemon -------------------------
    home = os.path.join(tmp, "a")
    make_instance(home)
    q = os.path.join(home, "queue")
    code, out, err = qstat(home)
    ok(code == 0 and "queue is empty" in out, "empty queue", (code, out, err))

    code1 = inject(home, "alice@example.org", ["bob@example.net", "carol@example.com",
                                                "dave@x.example", "eve@y.example"])
    time.sleep(1.1)
    code2 = inject(home, "zed@other.example", ["fred@example.com"],
                   b"Subject: two\n\n" + b"y" * 1000 + b"\n")
    if code1 != 0 or code2 != 0:
        print("Bail out! qinject failed: %d %d" % (code1, code2))
        sys.exit(1)
    new = sorted(os.listdir(os.path.join(q, "new")), key=lambda n: os.stat(os.path.join(q, "new", n)).st_mtime)
    first, second = new[0], new[1]
    nn = int(first) % 32
    first_id = queue_id(os.path.join(q, "new", first))
    second_id = queue_id(os.path.join(q, "new", second))
    ok(first_id is not None and re.match(r"^[0-9A-Z]{11,}$", first_id) is not None and
       first_id != second_id, "each queue file holds its queue id", (first_id, second_id))
    os.rename(os.path.join(q, "new", first), os.path.join(q, "mess", str(nn), first))
    now = int(time.time())
    with open(os.path.join(q, "info", str(nn), first), "w") as f:
        f.write("Z1 %d %d first failure\n" % (now + 100, now))
        f.write("D0\n")
        f.write("Z1 %d %d connection timed out to mx.example.com\n" % (now + 600, now))
        f.write("F2 %d 550 5.1.1 user unknown\n" % now)
        f.write("W1\n")
        f.write("Z3 12")  # a line being written: ignored
    code, out, err = qstat(home)
    ok(code == 0, "qstat exits 0", err)
    blocks = out.split("\n")
    ok(re.match(r"^%s\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S+\s+<alice@example\.org>$" % first_id,
                blocks[0]) is not None, "first line: id, size, arrival, age, sender", blocks[0])
    ok(re.search(r"delivered\s+<bob@example\.net>", out) is not None, "delivered recipient", out)
    ok(re.search(r"deferred\s+<carol@example\.com>\s+next try .*\(in (9|10)m\), 2 tries, sender warned\n"
                 r"\s+connection timed out to mx\.example\.com\n", out) is not None,
       "deferred: the last reason, next try, tries, warning", out)
    ok(re.search(r"failed\s+<dave@x\.example>\n\s+550 5\.1\.1 user unknown\n", out) is not None,
       "failed with its reason", out)
    ok(re.search(r"pending\s+<eve@y\.example>\n", out) is not None,
       "no record yet (and a half-written line): pending", out)
    ok(re.search(r"^%s\s.*<zed@other\.example>  \(new\)$" % second_id, out, re.M) is not None and
       out.index(first_id) < out.index(second_id), "a message in queue/new, listed after the older one", out)
    ok(out.rstrip().split("\n")[-1] ==
       "2 messages, %d bytes, 5 recipients: 2 pending, 1 deferred, 1 failed, 1 delivered"
       % (int(open(os.path.join(q, "mess", str(nn), first), "rb").read(24)[3:23]) +
          int(open(os.path.join(q, "new", second), "rb").read(24)[3:23])),
       "summary line", out.rstrip().split("\n")[-1])

    code, out, err = qstat(home, "-s")
    c = counts(out)
    ok(code == 0 and c.get("messages") == "2" and c.get("new") == "1" and c.get("recipients") == "5"
       and c.get("pending") == "2" and c.get("deferred") == "1" and c.get("failed") == "1"
       and c.get("delivered") == "1", "-s: counts only", out)
    code, out, err = qstat(home, "-s", "-r", "FRED@")
    ok(counts(out).get("messages") == "1" and counts(out).get("recipients") == "1",
       "-r matches a recipient, case ignored", out)
    code, out, err = qstat(home, "-f", "alice")
    ok("alice@example.org" in out and "zed@" not in out, "-f matches the sender", out)
    code, out, err = qstat(home, "-i", second_id)
    ok(second_id in out and "alice@" not in out, "-i selects one id", out)
    code, out, err = qstat(home, "-i", second)
    ok(second_id in out and "alice@" not in out, "-i takes the inode number too", out)
    code, out, err = qstat(home, "-i", second_id[:10] + first_id[10:])
    ok("alice@" not in out and "zed@" not in out, "-i: the inode with another time is no match", out)
    code, out, err = qstat(home, "-r", "FRED@")
    ok(out.rstrip().split("\n")[-1].startswith("1 message, ") and
       out.rstrip().split("\n")[-1].count(" 1 recipient: 1 pending,") == 1,
       "summary of one message with one recipient: singular", out)
    code, out, err = qstat(home, "-f", "nobody-sends-this")
    ok(code == 0 and out == "no message in the queue matches\n",
       "a filter that matches nothing: not 'queue is empty'", out)
    code, out, err = qstat(home, "-s", "-o", "1h")
    ok(counts(out).get("messages") == "0", "-o 1h: none that old", out)
    code, out, err = qstat(home, "-s", "-n", "1h")
    ok(counts(out).get("messages") == "2", "-n 1h: both are newer", out)
    code, out, err = qstat(home, "-x")
    ok(code == 100 and "usage" in err, "bad option: usage, 100", (code, err))

    # held back while the destination rests (H): its reason and rest, no try
    with open(os.path.join(q, "info", str(nn), first), "w") as f:
        f.write("Z1 %d %d connection timed out to mx.example.com\n" % (now + 100, now))
        f.write("D0\n")
        f.write("H0 %d %d 2 an H after a D is ignored\n" % (now + 100, now))
        f.write("H1 %d %d 3 connection refused by mx.example.com\n" % (now + 1200, now))
        f.write("H3 %d %d 1 connection refused by mx.y.example\n" % (now + 300, now))
        f.write("H2 %d" % (now + 300))  # a line being written: ignored
    code, out, err = qstat(home)
    rest = r"\(destination resting until (\d\d:\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), after "
    ok(re.search(r"deferred\s+<carol@example\.com>\s+next try .*\(in (19|20)m\), 1 try\n"
                 r"\s+connection refused by mx\.example\.com " + rest + r"3 failures\)\n", out)
       is not None, "held: the destination's reason and rest; the try before still counts, the H not",
       out)
    c = counts(qstat(home, "-s")[1])
    ok(re.search(r"delivered\s+<bob@example\.net>\n", out) is not None and
       re.search(r"deferred\s+<eve@y\.example>\s+next try .*, 0 tries\n"
                 r"\s+connection refused by mx\.y\.example " + rest + r"1 failure\)\n", out)
       is not None and c.get("deferred") == "2" and c.get("delivered") == "1" and
       c.get("pending") == "2", "held, never tried: 0 tries; an H after a D is ignored", (out, c))

    # --- part B: a live instance ----------------------------------------------
    have = all(os.path.exists(os.path.join(BIN, p)) for p in
               ("qsetup", "qsend", "qlspawn", "qrspawn", "qremote", "qlocal"))
    if not have:
        for name in ("live: deferred message listed with its reason",
                     "live: the deferral is in qsend's log",
                     "live: sendmail -qR is accepted",
                     "live: -qR retried the matching recipient",
                     "live: -qR left the other one alone",
                     "live: qsend removed the flush request"):
            skip(name, "qsend, qremote or qsetup not built")
    else:
        home = os.path.join(tmp, "b")
        make_instance(home)
        os.environ["QHOME"] = home
        ctl = os.path.join(home, "control")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nobody listens there: connection refused
        with open(os.path.join(ctl, "smtproutes"), "w") as f:
            f.write("alpha.example:127.0.0.1:%d\nbeta.example:127.0.0.1:%d\n" % (port, port))
        for name, val in (("backoffmin", "3600"), ("backoffmax", "7200")):
            with open(os.path.join(ctl, name), "w") as f:
                f.write(val + "\n")
        svscan = subprocess.Popen(["s6-svscan", os.path.join(home, "service")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for svc in os.listdir(os.path.join(home, "service")):
            sd = os.path.join(home, "service", svc)
            if os.path.exists(os.path.join(sd, "notification-fd")):
                # s6-svwait fails at once if s6-supervise has not written its status yet
                deadline = time.time() + 20
                while not os.path.exists(os.path.join(sd, "supervise", "status")) and \
                        time.time() < deadline:
                    time.sleep(0.1)
                subprocess.run(["s6-svwait", "-U", "-t", "20000", sd], timeout=30)

        inject(home, "ops@test.example", ["u1@alpha.example"])
        inject(home, "ops@test.example", ["u2@beta.example"])

        def deferred_tries():
            code, out, err = qstat(home)
            tries = {}
            for m in re.finditer(r"deferred\s+<(\S+)>.*, (\d+) tr", out):
                tries[m.group(1)] = int(m.group(2))
            return tries, out

        deadline = time.time() + 30
        while time.time() < deadline:
            tries, out = deferred_tries()
            if len(tries) == 2:
                break
            time.sleep(0.2)
        ok(len(tries) == 2 and re.search(r"deferred\s+<u1@alpha\.example>.*\n\s+\S.*", out)
           is not None, "live: deferred message listed with its reason", out)
        log = ""
        try:
            log = open(os.path.join(home, "log", "qsend", "current")).read()
        except OSError:
            pass
        ok("deferred" in log, "live: the deferral is in qsend's log", log[-500:])

        r = subprocess.run([SENDMAIL, "-qRalpha.EXAMPLE"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        ok(r.returncode == 0, "live: sendmail -qR is accepted", r.stderr)
        deadline = time.time() + 15
        after = tries
        while time.time() < deadline:
            after, out = deferred_tries()
            if after.get("u1@alpha.example", 0) > tries.get("u1@alpha.example", 0):
                break
            time.sleep(0.2)
        time.sleep(1)
        after, out = deferred_tries()
        ok(after.get("u1@alpha.example", 0) > tries.get("u1@alpha.example", 0),
           "live: -qR retried the matching recipient", (tries, after))
        ok(after.get("u2@beta.example") == tries.get("u2@beta.example"),
           "live: -qR left the other one alone", (tries, after))
        left = [n for n in os.listdir(os.path.join(home, "queue", "flush")) if not n.startswith(".")]
        ok(left == [], "live: qsend removed the flush request", left)
finally:
    if svscan is not None:
        subprocess.run(["s6-svscanctl", "-t", os.path.join(tmp, "b", "service")],
                       stderr=subprocess.DEVNULL)
        try:
            svscan.wait(timeout=10)
        except subprocess.TimeoutExpired:
            svscan.kill()
            svscan.wait()
    if os.environ.get("KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != PLAN else 0)
