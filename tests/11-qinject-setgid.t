#!/usr/bin/env python3
# The setgid QHOME/bin/qinject trusts nothing from its caller that chooses
# where it writes. As nobody: a fake instance whose queue/new is a symlink
# to the real one, the caller keeping the temp file open to rewrite it
# after the commit (the forgery of issue 15): the forged message is not
# delivered. A fake instance of the caller's own: the queue file is written
# without the queue group (the setgid privilege was dropped). What must
# keep working: nobody and root through bin/qinject into the instance it
# was installed for (QHOME set, unset, or naming it by another path),
# qsmtpd without the queue group falling back to QHOME/bin/qinject. And
# root's qsetup follows no link the queue group can plant. A local user's
# Authentication-Results field naming this host is dropped.
import grp
import json
import os
import pwd
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F403

PLAN = 19
if os.getuid() != 0:
    print("1..0 # SKIP needs root (a root instance with a setgid bin/qinject)")
    sys.exit(0)
NOBODY = pwd.getpwnam("nobody")
# the attacker's interpreter must be one that nobody can run
PYTHON = next((p for p in ("/usr/bin/python3", sys.executable)
               if subprocess.run(["s6-setuidgid", "nobody", p, "-c", ""]).returncode == 0), None)
if PYTHON is None:
    print("1..0 # SKIP no python3 that nobody can run")
    sys.exit(0)
SETGID = QHOME + "/bin/qinject"
BOB = QHOME + "/mail/test.example/bob"


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


def svc(*args):
    return run("s6-svc", "-T", "20000", *args)


def delivered(pattern):
    """the Maildir files of bob whose text matches pattern (bytes regex)"""
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(BOB, sub)
        for f in os.listdir(d) if os.path.isdir(d) else []:
            data = open(os.path.join(d, f), "rb").read()
            if re.search(pattern, data):
                found.append(data)
    return found


def wait_delivered(pattern, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if delivered(pattern):
            return True
        time.sleep(0.1)
    return False


def inject(args, body, env, user=as_nobody):
    return subprocess.run([SETGID] + args, input=body, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, preexec_fn=user, cwd="/",
                          timeout=30)


# The attacker, run as nobody: builds the fake instance FAKE (queue/new as
# given), runs bin/qinject on it with the qmail-queue protocol, opens the
# temp file while qinject waits for the rest of the message, lets it commit,
# then rewrites the file through the descriptor it kept.
ATTACK = r'''
import json, os, select, subprocess, sys, time
qinject, fake, newdir = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(fake + "/control")
os.makedirs(fake + "/queue/tmp")
open(fake + "/control/me", "w").write("test.example\n")
if newdir == "-":
    os.makedirs(fake + "/queue/new")
else:
    os.symlink(newdir, fake + "/queue/new")
mr, mw = os.pipe()
er, ew = os.pipe()
p = subprocess.Popen([qinject], stdin=mr, stdout=er, stderr=subprocess.PIPE,
                     env=dict(os.environ, QHOME=fake), close_fds=True)
os.close(mr)
os.close(er)
os.write(mw, b"Subject: innocent\n\n" + b"x" * 200 + b"\n")
fd = -1
deadline = time.time() + 10
while fd == -1 and time.time() < deadline and p.poll() is None:
    for n in os.listdir(fake + "/queue/tmp"):
        try:
            fd = os.open(fake + "/queue/tmp/" + n, os.O_RDWR)
            break
        except OSError:
            pass
    time.sleep(0.01)
os.close(mw)
try:
    os.write(ew, b"Fnobody@test.example\0Tbob@test.example\0\0")
except OSError:
    pass
os.close(ew)
err = p.stderr.read().decode(errors="replace")
code = p.wait(timeout=30)
result = {"code": code, "err": err, "kept_fd": fd != -1, "rewritten": False, "gid": None}
if fd != -1:
    result["gid"] = os.fstat(fd).st_gid
    if code == 0:
        msg = (b"Received: from boss.test.example by test.example; trusted\n"
               b"Subject: forged\n\nforged body: wire the money\n")
        env = b"T%d\0Fceo@test.example\0Rbob@test.example\0" % int(time.time())
        data = b"Q1 %020d\n" % len(msg) + msg + env
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        result["rewritten"] = True
    os.close(fd)
print(json.dumps(result))
'''


def attack(name, newdir):
    fake = os.path.join(TMP, name)
    r = subprocess.run([PYTHON, "-c", ATTACK, SETGID, fake, newdir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=as_nobody,
                       cwd="/", timeout=60)
    try:
        return json.loads(r.stdout.decode())
    except ValueError:
        return {"code": None, "err": r.stderr.decode(errors="replace"), "kept_fd": False,
                "rewritten": False, "gid": None}


try:
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % free_port())
    if r.returncode != 0:
        bail("qsetup failed: " + r.stdout.decode(errors="replace"))
    st = os.stat(SETGID)
    if not st.st_mode & 0o2000:
        print("1..0 # SKIP qsetup made no setgid bin/qinject")
        sys.exit(0)
    print("1..%d" % PLAN)
    QGID = st.st_gid
    os.chmod(TMP, 0o777)  # the attacker's fake instances live beside the real one
    with open(QHOME + "/control/users", "a") as f:
        f.write("bob@test.example:!\n")
    # the SMTP check below sends its transcript in one write
    open(QHOME + "/control/relaxpipelining", "w").close()
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    inst_start()

    # --- the forgery: qsend is down while the attacker works, so that its
    # rewrite is in place before anything reads the file ---------------------
    svc("-wD", "-d", QHOME + "/service/qsend")
    a = attack("fake1", QHOME + "/queue/new")
    print("# attack: %r" % a, flush=True)
    svc("-wU", "-u", QHOME + "/service/qsend")
    ok(a["kept_fd"], "the attacker held the temp file open while qinject wrote it")
    ok(a["code"] != 0, "qinject on a fake instance with queue/new linked to the real one fails")
    wait_delivered(rb"Subject: (innocent|forged)", 10)
    ok(not delivered(rb"forged body"), "the forged message is not delivered")
    ok(not delivered(rb"Subject: innocent"), "nothing of the attempt is delivered")

    # --- a fake instance of the caller's own: the privilege is gone ---------
    a = attack("fake2", "-")
    print("# own instance: %r" % a, flush=True)
    ok(a["gid"] is not None and a["gid"] != QGID,
       "another QHOME: qinject runs without the queue group (file group %s, queue group %d)"
       % (a["gid"], QGID))

    # --- what must keep working ---------------------------------------------
    env = dict(os.environ, QHOME=QHOME)
    r = inject(["-f", "nobody@test.example", "bob@test.example"], b"Subject: legit 1\n\nx\n", env)
    ok(r.returncode == 0, "nobody, QHOME the instance: accepted (%r)" % r.stderr)
    ok(wait_delivered(rb"Subject: legit 1", 20) and
       re.search(rb"invoked by uid %d[ )]" % NOBODY.pw_uid, delivered(rb"Subject: legit 1")[0])
       is not None, "delivered, with the caller's uid in the Received: line")

    # a local user posing as a session program gets no auth=pass field
    env2 = dict(env, TCPREMOTEIP="192.0.2.9", QMTA_DKIM="sign",
                QMTA_DKIMREQ="id test.example\nauth root@test.example\n")
    r = inject(["-f", "nobody@test.example", "bob@test.example"], b"Subject: posing\n\nx\n", env2)
    ok(r.returncode == 0 and wait_delivered(rb"Subject: posing", 20) and
       b"auth=pass" not in delivered(rb"Subject: posing")[0],
       "nobody with TCPREMOTEIP and QMTA_DKIM set: local mail, no auth=pass field (%r)" % r.stderr)

    # nor one written into the message: an Authentication-Results field
    # naming this host is dropped from local mail (another host's stays)
    forged = (b"Authentication-Results: test.example; dkim=pass header.d=bank.example\n"
              b"authentication-results:  TEST.EXAMPLE;\n\tauth=pass smtp.auth=ceo@test.example\n"
              b"Authentication-Results: mx.other.example; spf=none\n"
              b"Subject: forged ar\n\nAuthentication-Results: test.example; body text\n")
    r = inject(["-f", "nobody@test.example", "bob@test.example"], forged, dict(env))
    got = delivered(rb"Subject: forged ar") if wait_delivered(rb"Subject: forged ar", 20) else []
    head = got[0].split(b"\n\n", 1)[0] if got else b""
    ok(r.returncode == 0 and got and b"dkim=pass" not in head and b"auth=pass" not in head,
       "a local user's Authentication-Results naming this host is dropped (%r)" % head[-400:])
    ok(got and b"Authentication-Results: mx.other.example; spf=none" in head and
       b"Authentication-Results: test.example; body text" in got[0],
       "another host's stays, and the body is untouched")
    # posing as an alias's copy (QPARENT, which qlocal sets) changes nothing
    r = inject(["-f", "nobody@test.example", "bob@test.example"],
               forged.replace(b"forged ar", b"forged ar 2"),
               dict(env, QPARENT="HKZ1Q0B7W83F2K"))
    got = delivered(rb"Subject: forged ar 2") if wait_delivered(rb"Subject: forged ar 2", 20) else []
    head = got[0].split(b"\n\n", 1)[0] if got else b""
    ok(r.returncode == 0 and got and b"dkim=pass" not in head and b"auth=pass" not in head,
       "... also with QPARENT set, as qlocal sets it for an alias's copy (%r)" % head[-400:])

    env = {k: v for k, v in os.environ.items() if k != "QHOME"}
    r = inject(["-f", "nobody@test.example", "bob@test.example"], b"Subject: legit 2\n\nx\n", env)
    ok(r.returncode == 0 and wait_delivered(rb"Subject: legit 2", 20),
       "nobody, QHOME unset: the instance bin/qinject was installed for (%r)" % r.stderr)

    link = os.path.join(TMP, "link")
    os.symlink(QHOME, link)
    env = dict(os.environ, QHOME=link + "/")
    r = inject(["-f", "nobody@test.example", "bob@test.example"], b"Subject: legit 3\n\nx\n", env)
    ok(r.returncode == 0 and wait_delivered(rb"Subject: legit 3", 20),
       "nobody, QHOME naming the instance by another path: accepted (%r)" % r.stderr)

    env = dict(os.environ, QHOME=QHOME)
    r = inject(["-f", "root@test.example", "bob@test.example"], b"Subject: legit 4\n\nx\n", env,
               user=None)
    ok(r.returncode == 0 and wait_delivered(rb"Subject: legit 4", 20),
       "root through bin/qinject: accepted (%r)" % r.stderr)

    # closed descriptors 0-2 never become the queue file
    r = subprocess.run(["sh", "-c", 'exec "$0" -f nobody@test.example bob@test.example 2>&-',
                        SETGID], input=b"Subject: legit 5\n\nx\n", stdout=subprocess.PIPE,
                       env=dict(os.environ, QHOME=QHOME), preexec_fn=as_nobody, cwd="/",
                       timeout=30)
    ok(r.returncode == 0 and wait_delivered(rb"Subject: legit 5", 20),
       "fd 2 closed by the caller: accepted, the message intact")

    # qsmtpd without the queue group writes nothing itself: bin/qinject
    smtpd = pwd.getpwnam("qmta-smtpd")

    def as_smtpd_without_queue_group():
        os.setgroups([smtpd.pw_gid])
        os.setgid(smtpd.pw_gid)
        os.setuid(smtpd.pw_uid)

    transcript = (b"EHLO c.example\r\nMAIL FROM:<alice@else.example>\r\n"
                  b"RCPT TO:<bob@test.example>\r\nDATA\r\nSubject: legit 6\r\n\r\nhi\r\n.\r\n"
                  b"QUIT\r\n")
    env = dict(os.environ, QHOME=QHOME, TCPREMOTEIP="127.0.0.1", TCPLOCALIP="127.0.0.1",
               PROTO="TCP")
    env.pop("QINJECT", None)
    r = subprocess.run(["qsmtpd"], input=transcript, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, preexec_fn=as_smtpd_without_queue_group,
                       cwd=QHOME, timeout=60)
    ok(re.search(rb"^250 2\.0\.0 ok", r.stdout, re.M) is not None,
       "qsmtpd without the queue group: 250 through QHOME/bin/qinject (%r)" % r.stdout[-300:])
    ok(wait_delivered(rb"Subject: legit 6", 20), "and delivered")

    ok(grp.getgrgid(QGID).gr_name == "qmta-queue" and os.stat(SETGID).st_mode & 0o7777 == 0o2755,
       "bin/qinject is still setgid qmta-queue, mode 2755")

    # root's qsetup, rerun, never follows a link the queue group put into
    # queue/mess (else its chown and chmod would give the group any directory)
    victim = os.path.join(TMP, "victim")
    os.mkdir(victim, 0o755)
    os.rmdir(QHOME + "/queue/mess/5")
    os.symlink(victim, QHOME + "/queue/mess/5")
    r = run("qsetup", QHOME, "--me", "test.example")
    vs = os.stat(victim)
    ok(r.returncode == 0 and vs.st_gid == 0 and vs.st_mode & 0o7777 == 0o755 and
       not os.path.islink(QHOME + "/queue/mess/5") and os.path.isdir(QHOME + "/queue/mess/5"),
       "rerun qsetup: a link at queue/mess/5 is removed, its target untouched")
finally:
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != PLAN else 0)
