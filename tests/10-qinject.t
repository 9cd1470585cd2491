#!/usr/bin/env python3
# qinject: the qmail-queue protocol and the script face, exit codes, the
# queue file it writes (lib/queue.h), databytes, a malformed envelope, a
# read timeout, and nothing half-written after any refusal.
# Works on an instance made by qsetup when it is built, else on a queue
# tree made here. No daemon runs: committed files stay in queue/new.
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PATH"] = os.path.join(ROOT, "bin") + os.pathsep + os.environ["PATH"]
QINJECT = os.path.join(ROOT, "qinject", "qinject")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import T, TMP, tap_ok as ok  # noqa: E402


tmp = TMP
home = os.path.join(tmp, "inst")
os.environ["QHOME"] = home
Q = os.path.join(home, "queue")


def make_instance():
    if shutil.which("qsetup"):
        r = subprocess.run(["qsetup", home, "--me", "test.example"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            return "qsetup"
        print("# qsetup failed, using a hand-made queue: " + r.stdout.decode(errors="replace"))
        shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "control"))
    for d in ("tmp", "new", "mess", "info", "bounce"):
        os.makedirs(os.path.join(Q, d))
        os.chmod(os.path.join(Q, d), 0o2770)
    os.mkfifo(os.path.join(Q, "trigger"))
    os.chmod(os.path.join(Q, "trigger"), 0o660)
    with open(os.path.join(home, "control", "me"), "w") as f:
        f.write("test.example\n")
    return "by hand"


def set_control(name, value):
    fn = os.path.join(home, "control", name)
    if value is None:
        if os.path.exists(fn):
            os.unlink(fn)
    else:
        with open(fn, "w") as f:
            f.write(value)


def files(d):
    p = os.path.join(Q, d)
    return sorted(os.listdir(p))


def clean_new():
    for n in files("new"):
        os.unlink(os.path.join(Q, "new", n))


def queue_empty():
    return files("tmp") == [] and files("new") == []


def read_queue_file():
    """The only file in queue/new, parsed: (name, stat, message, records)."""
    names = files("new")
    if len(names) != 1:
        return None
    fn = os.path.join(Q, "new", names[0])
    data = open(fn, "rb").read()
    hdr = data[:24]
    if not (hdr[:3] == b"Q1 " and hdr[23:24] == b"\n" and hdr[3:23].isdigit()):
        return None
    n = int(hdr[3:23])
    msg = data[24:24 + n]
    env = data[24 + n:]
    if not env.endswith(b"\0"):
        return None
    recs = env[:-1].split(b"\0")
    # the queue id comes first (lib/queue.h): kept aside, the rest compared
    global LAST_ID
    LAST_ID = recs.pop(0)[1:] if recs and recs[0].startswith(b"I") else None
    return names[0], os.stat(fn), msg, recs


def inject_script(args, msg, timeout=30):
    return subprocess.run([QINJECT] + args, input=msg, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def inject_proto(msg, env, timeout=30, hold_msg=False):
    """qmail-queue protocol: msg on fd 0, env on fd 1. Returns (code, stderr)."""
    mr, mw = os.pipe()
    er, ew = os.pipe()
    p = subprocess.Popen([QINJECT], stdin=mr, stdout=er, stderr=subprocess.PIPE)
    os.close(mr)
    os.close(er)
    try:
        view = memoryview(msg)
        while len(view) > 0:
            view = view[os.write(mw, view):]
        if not hold_msg:
            os.close(mw)
            mw = -1
            try:
                os.write(ew, env)
            except BrokenPipeError:
                pass
            os.close(ew)
            ew = -1
        err = p.stderr.read()
        code = p.wait(timeout=timeout)
    finally:
        for fd in (mw, ew):
            if fd != -1:
                os.close(fd)
        if p.poll() is None:
            p.kill()
            p.wait()
    return code, err.decode(errors="replace")


try:
    how = make_instance()
    print("1..35")
    print("# queue made " + how)

    # --- the script face -------------------------------------------------
    body = b"Subject: hello\r\nX-Eight: \xe9t\xe9\r\n\r\nline one\r\n" + b"x" * 998 + b"\r\nlast\r\n"
    r = inject_script(["-f", "ops@Example.ORG", "ann@example.net", "bob"], body)
    ok(r.returncode == 0, "script face: exit 0", r.stderr)
    ok(files("tmp") == [], "nothing left in queue/tmp")
    qf = read_queue_file()
    ok(qf is not None, "one well-formed queue file in queue/new")
    name, st, msg, recs = qf if qf else ("", None, b"", [])
    ok(name.isdigit() and st is not None and int(name) == st.st_ino,
       "the queue file is named by its inode number")
    lines = msg.split(b"\n")
    ok(LAST_ID is not None and re.match(rb"^[0-9A-Z]{11,}$", LAST_ID) is not None,
       "the envelope starts with the queue id", LAST_ID)
    ok(re.match(rb"^Received: \(qmta \d+ invoked by uid \d+ id " + (LAST_ID or b"x") + rb"\); "
                rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                rb"\d{4} \d\d:\d\d:\d\d \+0000$", lines[0]) is not None,
       "Received: line first, with an RFC 5322 date", lines[0])
    ok(msg[len(lines[0]) + 1:] == body.replace(b"\r\n", b"\n"),
       "message stored with LF line ends, 8-bit bytes and a 998-byte line intact")
    ok(len(recs) == 4 and re.match(rb"^T\d+$", recs[0]) is not None, "envelope starts with Ttime", recs)
    ok(recs[1:] == [b"Fops@example.org", b"Rann@example.net", b"Rbob@test.example"],
       "sender and recipients; domain lowercased; bare name gets @me", recs)
    ok(st is not None and st.st_uid != 0, "the queue file is not root's when root injects",
       st.st_uid if st else None)
    ok(st is not None and (st.st_mode & 0o777) == 0o640, "mode 0640",
       oct(st.st_mode) if st else None)
    clean_new()

    r = inject_script(["carol@example.net"], b"Subject: x\n\nbody\n")
    qf = read_queue_file()
    import pwd
    me_user = pwd.getpwuid(os.getuid()).pw_name
    ok(r.returncode == 0 and qf is not None and qf[3][1] == ("F%s@test.example" % me_user).encode(),
       "without -f the sender is the invoking user at control/me", (r.stderr, qf and qf[3]))
    clean_new()

    r = inject_script(["-f", "", "dave@example.net"], b"x\n")
    qf = read_queue_file()
    ok(r.returncode == 0 and qf is not None and qf[3][1] == b"F", "-f '' is the null sender")
    clean_new()

    r = inject_script(["-x", "a@b.example"], b"x\n")
    ok(r.returncode == 100 and b"usage" in r.stderr, "unknown option: usage, exit 100", r)
    r = inject_script(["-f", "a@b.example"], b"x\n")
    ok(r.returncode == 100, "no recipient: usage, exit 100", r.returncode)
    r = inject_script(["not an address@@"], b"x\n")
    ok(r.returncode == 91 and queue_empty(), "malformed recipient argument: 91, nothing written",
       r)

    # --- the qmail-queue protocol ----------------------------------------
    code, err = inject_proto(b"Subject: p\r\n\r\nhi\r\n",
                             b"Fs@example.org\0VHDRS\0Xenv-17\0Tr1@example.net\0NSUCCESS,DELAY\0"
                             b"Orfc822;r1@example.net\0Tr2@example.net\0\0")
    qf = read_queue_file()
    ok(code == 0, "protocol: exit 0", err)
    ok(qf is not None and qf[3][1:] == [b"Fs@example.org", b"VHDRS", b"Xenv-17", b"Rr1@example.net",
                                        b"NSUCCESS,DELAY", b"Orfc822;r1@example.net",
                                        b"Rr2@example.net"],
       "DSN extension records stored after F and after their recipient", qf and qf[3])
    ok(qf is not None and qf[2].endswith(b"\nSubject: p\n\nhi\n"), "protocol: message stored")
    clean_new()

    code, err = inject_proto(b"x\n", b"F\0Tpostmaster\0\0")
    ok(code == 0 and files("new") != [], "null sender and bare postmaster accepted", err)
    clean_new()

    bad = [
        (b"Ts@example.org\0\0", 91, "first record not F"),
        (b"Fs@example.org\0\0", 91, "no recipient"),
        (b"Fs@example.org\0Tr@example.net\0Zfoo\0\0", 91, "unknown record"),
        (b"Fs@example.org\0Tr@example..net\0\0", 91, "malformed recipient"),
        (b"Fs@example.org\0Tr@example.net\0NOFTEN\0\0", 91, "bad NOTIFY value"),
        (b"Fs@example.org\0T" + b"a" * 400 + b"@example.net\0\0", 11, "address too long"),
        (b"Fs@example.org\0Tr@example.net\0", 54, "envelope cut before its end"),
    ]
    for env, want, what in bad:
        code, err = inject_proto(b"Subject: bad\n\nx\n", env)
        ok(code == want and queue_empty(), "%s: exit %d, nothing left" % (what, want),
           (code, err, files("tmp"), files("new")))
        clean_new()

    # --- databytes ---------------------------------------------------------
    set_control("databytes", "100\n")
    code, err = inject_proto(b"a" * 99 + b"\r\n", b"Fs@example.org\0Tr@example.net\0\0")
    ok(code == 0, "a message of exactly databytes (after CRLF -> LF) is accepted", err)
    clean_new()
    code, err = inject_proto(b"a" * 200000 + b"\n", b"Fs@example.org\0Tr@example.net\0\0")
    ok(code == 31 and queue_empty(), "over databytes: 31, nothing left", (code, err))
    r = inject_script(["r@example.net"], b"b" * 101)
    ok(r.returncode == 31 and queue_empty(), "script face over databytes: 31", r.returncode)
    set_control("databytes", "0\n")
    code, err = inject_proto(b"c" * 200000 + b"\n", b"Fs@example.org\0Tr@example.net\0\0")
    ok(code == 0 and read_queue_file() is not None and len(read_queue_file()[2]) > 200000,
       "databytes 0: no limit", err)
    clean_new()
    set_control("databytes", None)

    # --- a read timeout ----------------------------------------------------
    set_control("timeoutinject", "1\n")
    code, err = inject_proto(b"Subject: slow\n", b"", timeout=20, hold_msg=True)
    ok(code == 52 and queue_empty(), "no input for timeoutinject seconds: 52, nothing left",
       (code, err))
    set_control("timeoutinject", None)

    # --- the trigger -------------------------------------------------------
    tfd = os.open(os.path.join(Q, "trigger"), os.O_RDONLY | os.O_NONBLOCK)
    r = inject_script(["r@example.net"], b"x\n")
    try:
        poke = os.read(tfd, 10)
    except BlockingIOError:
        poke = b""
    os.close(tfd)
    ok(r.returncode == 0 and poke == b"\0", "one byte written to queue/trigger after the commit",
       poke)
    clean_new()

    # --- an unusable queue is a temporary error ----------------------------
    os.chmod(os.path.join(Q, "tmp"), 0o500)
    r = inject_script(["r@example.net"], b"x\n")
    os.chmod(os.path.join(Q, "tmp"), 0o2770)
    ok(r.returncode in (53, 62, 63) and queue_empty(), "unwritable queue/tmp: temporary (6x)",
       (r.returncode, r.stderr))
    os.environ["QHOME"] = os.path.join(tmp, "nowhere")
    r = inject_script(["r@example.net"], b"x\n")
    os.environ["QHOME"] = home
    ok(r.returncode == 61 and b"qinject: fatal: " in r.stderr, "missing QHOME: 61", r)
finally:
    if os.environ.get("KEEP"):
        print("# kept " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != 35 else 0)
