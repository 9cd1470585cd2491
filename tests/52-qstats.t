#!/usr/bin/env python3
# qstats: figures from a known mix of log lines in the formats qsend and
# qsmtpd write (s6-log archives and current, TAI64N and ISO timestamps,
# lines it must skip), and the period options.
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QSTATS = os.path.join(ROOT, "bin", "qstats")
if not os.path.exists(QSTATS):
    QSTATS = os.path.join(ROOT, "qsend", "qstats")
PLAN = 11

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import T, TMP, tap_ok as ok  # noqa: E402
os.environ.pop("QHOME", None)  # set by qmtatest; this test sets its own where it needs one


def iso(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + ".123456789  "


def tai(t):
    return "@%016x%08x " % (t + 2 ** 62 + 37, 0)


def run(*args):
    r = subprocess.run([QSTATS] + list(args) + [home], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def row(out, name):
    for line in out.split("\n"):
        if line.startswith(name + " "):
            return [int(x) for x in line.split()[1:]]
    return None


tmp = TMP
home = os.path.join(tmp, "inst")
try:
    print("1..%d" % PLAN)
    now = int(time.time())
    old = now - 3 * 86400
    os.makedirs(os.path.join(home, "log", "qsend"))
    os.makedirs(os.path.join(home, "log", "smtp"))
    os.makedirs(os.path.join(home, "log", "empty"))
    # three days ago, in an archive: one local message delivered locally
    with open(os.path.join(home, "log", "qsend", "@400000000000000000000000.s"), "w") as f:
        f.write(iso(old) + "qsend: new 11 from <root@test.example> size 300 rcpts 1\n")
        f.write(iso(old) + "qsend: delivery 11.0 local ann@test.example ok: mail/test.example/ann/\n")
        f.write(iso(old) + "qsend: end 11\n")
    # now: an SMTP message to two recipients, one deferred then delivered
    # remotely, one failed; its bounce delivered locally; a discard; rejects
    with open(os.path.join(home, "log", "qsend", "current"), "w") as f:
        f.write(iso(now) + "qsend: ready\n")
        f.write(iso(now) + "qsend: new 12 from <x@remote.example> size 1000 rcpts 2\n")
        f.write(iso(now) + "qsend: delivery 12.0 remote \"a b\"@far.example deferred: "
                "connection refused ok: not this\n")
        f.write(iso(now) + "qsend: delivery 12.0 remote \"a b\"@far.example ok: 250 2.0.0 queued\n")
        f.write(iso(now) + "qsend: delivery 12.1 local nobody@test.example failed: no such user\n")
        f.write(iso(now) + "qsend: new 13 from <> size 2500 rcpts 1\n")
        f.write(iso(now) + "qsend: delivery 13.0 remote x@remote.example ok: 250 ok\n")
        f.write(iso(now) + "qsend: new 14 from <cron@test.example> size 200 rcpts 1\n")
        f.write(iso(now) + "qsend: delivery 14.0 local root@test.example ok: mail/\n")
        # root is an alias: its copy for the admin is no mail received
        f.write(iso(now) + "qsend: new 15 parent=14 from <cron@test.example> size 260 rcpts 1\n")
        f.write(iso(now) + "qsend: delivery 15.0 remote admin@far.example deferred: later\n")
        f.write("qsend: a line without a timestamp\n")
        f.write(iso(now) + "qsend: delivery 99.0 sideways x@y ok: unknown channel\n")
    with open(os.path.join(home, "log", "smtp", "current"), "w") as f:
        f.write(tai(now) + "qsmtpd: accept ip=192.0.2.1 helo=h tls=none auth=- from=<x@remote.example> "
                "rcpts=2 size=980 to=<\"a b\"@far.example>,<nobody@test.example> code=250\n")
        f.write(tai(now) + "qsmtpd: reject ip=192.0.2.2 helo=h tls=none auth=- from=<s@spam.example> "
                "rcpt=<r@test.example> code=554 5.7.1\n")
        f.write(tai(now) + "qsmtpd: reject ip=192.0.2.3 helo=- tls=none auth=- from=<> code=554\n")
        f.write(tai(now) + "qsmtpd: discard ip=192.0.2.4 helo=h tls=none auth=- from=<d@x.example> "
                "rcpts=1 size=50 to=<r@test.example> code=250\n")
        f.write(tai(now) + "qsmtpd: session ip=192.0.2.4 helo=h tls=none auth=- msgs=1 end=quit\n")
        f.write("x" * 10000 + "\n")

    code, out, err = run()
    ok(code == 0, "qstats exits 0", err)
    # columns: msgsfr bytes_from msgsto bytes_to deferred bounced rejected discarded
    local = row(out, "local")
    esmtp = row(out, "esmtp")
    total = row(out, "total")
    ok(esmtp is not None and esmtp[0:2] == [1, 980] and esmtp[6:8] == [2, 1],
       "esmtp in: accepted, bytes, rejected, discarded", out)
    ok(local is not None and local[0:2] == [2, 4260 - 980 - 2500 - 260],
       "local in: queued minus SMTP minus bounces minus an alias's copy (messages 11 and 14)",
       out)
    ok(esmtp is not None and esmtp[2:6] == [2, 3500, 2, 0],
       "esmtp out: two deliveries with their message sizes, two deferrals", out)
    ok(local is not None and local[2:6] == [2, 500, 0, 1],
       "local out: two deliveries, one bounced recipient", out)
    ok(total is not None and total == [a + b for a, b in zip(local, esmtp)], "total row", out)
    ok(re.search(r"^queued 5 messages \(4260 bytes\), of them 1 bounces", out, re.M) is not None,
       "queued and bounce counts", out)
    ok(re.search(r" and 1 copy made by aliases and \.forward files$", out, re.M) is not None,
       "and the copies of aliases", out)

    code, out, err = run("-n", "1d")
    ok(row(out, "local") is not None and row(out, "local")[2] == 1 and row(out, "esmtp")[0] == 1,
       "-n 1d: the archive's old delivery left out", out)
    code, out, err = run("-o", "1d")
    ok(row(out, "local") is not None and row(out, "local")[2] == 1 and row(out, "esmtp")[0] == 0,
       "-o 1d: only the old lines", out)
    code, out, err = run("-n", "soon")
    ok(code == 100 and "usage" in err, "bad age: usage, 100", (code, err))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != PLAN else 0)
