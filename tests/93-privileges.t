#!/usr/bin/env python3
# Least privilege, audited: a root instance with every listener qsetup
# makes without Dovecot (smtp, submission, smtps, pop3, pop3s), running
# under s6-svscan with sessions open (SMTP, a POP3 login). Every process of
# the tree is checked against the table PROCS (uid, gid, groups by
# service); no root process holds a client's connection; the owners and
# modes of queue/, control/, tls/ and auth/ are checked against the tables
# below. Any drift fails, naming the path or process, expected and found.
# A change of privileges changes these tables, qsetup, lib/queue.h and
# the man pages together.
import grp
import os
import poplib
import pwd
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

if os.getuid() != 0:
    print("1..0 # SKIP needs root (a root instance under its system accounts)")
    sys.exit(0)

# service -> program name -> allowed (user, group, supplementary groups);
# groups None: not checked (root's). "*": any service.
SMTPD = ("qmta-smtpd", "qmta-smtpd", {"qmta-smtpd", "qmta-queue"})
ROOT = ("root", "root", None)
PROCS = {
    "*": {"s6-svscan": [ROOT], "s6-supervise": [ROOT],
          "s6-log": [("qmta-log", "qmta-log", {"qmta-log"})]},
    "qsend": {"qsend": [("qmta-send", "qmta-send", {"qmta-send", "qmta-queue"})],
              # root, to become each mailbox's owner: its Maildir workers
              # and delivery children are that owner (here qmta-vmail)
              "qlspawn": [ROOT, ("qmta-vmail", "qmta-vmail", {"qmta-vmail"})],
              "qrspawn": [("qmta-remote", "qmta-remote",
                           {"qmta-remote", "qmta-queue", "qmta-send"})]},
    "tlsd": {"qtlsd": [("qmta-tls", "qmta-tls", {"qmta-tls"})]},
    # the password service: qmta-auth alone (no shadow without authsystem)
    "authd": {"qauthd": [("qmta-auth", "qmta-auth", {"qmta-auth"})]},
    # DKIM: the signer (the keys' only reader) and the verifier (no key),
    # each with a child per client connection
    "dkimsign": {"qdkimd": [("qmta-dkim", "qmta-dkim", {"qmta-dkim"})]},
    "dkimverify": {"qdkimd": [("qmta-dkimv", "qmta-dkimv", {"qmta-dkimv"})]},
    "smtp": {"qlisten": [SMTPD], "qsmtpd": [SMTPD]},
    "submission": {"qlisten": [SMTPD], "qsmtpd": [SMTPD]},
    "smtps": {"qlisten": [SMTPD], "qsmtpd": [SMTPD]},
    # qpop3d's privilege separation: qlisten and qpop3d's parent stay root
    # (they hold no client connection: checked below), the talking child is
    # qmta-smtpd alone, the session the mailbox owner
    "pop3": {"qlisten": [ROOT],
             "qpop3d": [ROOT, ("qmta-smtpd", "qmta-smtpd", {"qmta-smtpd"}),
                        ("qmta-vmail", "qmta-vmail", {"qmta-vmail"})]},
}
PROCS["pop3s"] = PROCS["pop3"]

S = "qmta-send"
# path (relative to QHOME) -> "mode owner:group"
QUEUE = {
    "queue": "750 root:qmta-queue",
    "queue/tmp": "3703 %s:%s" % (S, S),
    "queue/new": "1757 %s:%s" % (S, S),
    "queue/pool": "1757 %s:%s" % (S, S),
    "queue/mess": "750 root:%s" % S,
    "queue/info": "750 root:%s" % S,
    "queue/bounce": "750 %s:%s" % (S, S),
    "queue/bad": "750 %s:%s" % (S, S),
    "queue/flush": "2750 %s:%s" % (S, S),
    "queue/admin": "700 %s:%s" % (S, S),
    "queue/trigger": "620 %s:qmta-queue" % S,
    "queue/lock": "600 root:root",
}
for i in range(32):
    QUEUE["queue/mess/%d" % i] = "750 %s:%s" % (S, S)
    QUEUE["queue/info/%d" % i] = "750 %s:%s" % (S, S)
OTHER = {
    "control": "755 root:root",
    "control/users": "600 root:root",
    "control/users.cdb": "644 root:root",        # who is a user: no hashes
    "control/passwords.cdb": "640 root:qmta-auth",  # the hashes: qauthd and root
    "tls": "750 root:qmta-tls",
    "tls/cert.pem": "644 root:root",
    "tls/key.pem": "400 qmta-tls:qmta-tls",
    "auth": "700 qmta-smtpd:qmta-smtpd",
    "auth/failures": "600 qmta-smtpd:qmta-smtpd",
    "run": "755 root:root",
    "run/tlsd": "660 qmta-tls:qmta-smtpd",
    "run/authd": "660 qmta-auth:qmta-smtpd",
    "control/dkim": "750 root:qmta-dkim",       # the DKIM keys: the signer and root
    "run/dkimsign": "660 qmta-dkim:qmta-queue",  # qsmtpd and the setgid qinject
    "run/dkimverify": "660 qmta-dkimv:qmta-smtpd",
}
CONTROL_DEFAULT = "644 root:root"  # every other file in control/


def name_u(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def name_g(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def mode_of(path):
    st = os.lstat(path)
    return "%o %s:%s" % (stat.S_IMODE(st.st_mode), name_u(st.st_uid), name_g(st.st_gid))


def status(pid):
    """{field: value} of /proc/PID/status, or None"""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def tree(pid, service):
    """[(pid, service)] of pid and everything below it"""
    st = proc_stat(pid)
    if st is None:
        return []
    if st[0] == "s6-supervise":
        args = cmdline(pid)
        if len(args) > 1:
            service = args[1].decode(errors="replace")
    out = [(pid, service)]
    for c in children(pid):
        out += tree(c, service)
    return out


def client_sockets(ports):
    """socket inode -> "local->remote" of every TCP connection to one of ports"""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            port = int(cols[1].rsplit(":", 1)[1], 16)
            if cols[3] != "0A" and port in ports:  # 0A: LISTEN
                found[cols[9]] = "%s->%s" % (cols[1], cols[2])
    return found


def can(user, test_args):
    """test(1) run as user with the user's groups: True if it succeeds"""
    pw = pwd.getpwnam(user)

    def become():
        os.initgroups(user, pw.pw_gid)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return subprocess.run(["test"] + test_args, preexec_fn=become).returncode == 0


def main():
    ports = {n: free_port() for n in ("smtp", "submission", "smtps", "pop3", "pop3s")}
    args = ["qsetup", QHOME, "--me", "test.example"]
    for n, p in ports.items():
        args += ["--" + n, "127.0.0.1:%d" % p]
    r = run(*args)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    if run("qpasswd", QHOME, "bob@test.example", stdin=b"bob secret\n").returncode != 0:
        bail("qpasswd failed")
    open(QHOME + "/control/authplaintext", "w").close()
    os.chmod(QHOME + "/control/authplaintext", 0o644)
    inst_start()
    print("1..8", flush=True)

    # sessions: an SMTP client in the middle of a transaction (with a
    # message queued before it), a POP3 user logged in
    r = run("qinject", "-f", "alice@test.example", "bob@test.example", stdin=b"Subject: x\n\nx\n")
    def delivered():
        try:
            return maildir_files(QHOME + "/mail/test.example/bob")
        except OSError:
            return {}
    ok(r.returncode == 0 and wait_until(20, delivered), "a message delivered")
    smtp = Client(ports["smtp"])
    smtp.cmd("EHLO c.example")
    smtp.cmd("MAIL FROM:<a@c.example>")
    pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=30)
    pop.user("bob@test.example")
    pop.pass_("bob secret")
    pop.stat()
    time.sleep(0.5)

    # 1. every process of the tree, as its table says
    drift = []
    seen = set()
    for pid, service in tree(SVSCAN[0].pid, "*"):
        st = status(pid)
        if st is None:
            continue  # gone meanwhile
        comm = st["Name"]
        uids = st["Uid"].split()
        gids = st["Gid"].split()
        groups = {name_g(int(g)) for g in st["Groups"].split()}
        if len(set(uids)) != 1 or len(set(gids)) != 1:
            drift.append("%s (%s, pid %d): uids %s gids %s differ" % (comm, service, pid, uids, gids))
            continue
        who = (name_u(int(uids[0])), name_g(int(gids[0])))
        allowed = PROCS.get(service, {}).get(comm) or PROCS["*"].get(comm)
        if allowed is None:
            drift.append("%s (%s, pid %d) as %s: not in the table" % (comm, service, pid, who[0]))
            continue
        if not any(who == a[:2] and (a[2] is None or groups == a[2]) for a in allowed):
            drift.append("%s (%s, pid %d): want one of %s, found %s:%s groups %s" % (
                comm, service, pid, [("%s:%s" % a[:2], sorted(a[2] or [])) for a in allowed],
                who[0], who[1], sorted(groups)))
        seen.add((service, comm, who[0]))
    ok(not drift, "every process runs as its table says", "\n".join(drift))
    want_seen = {("smtp", "qsmtpd", "qmta-smtpd"), ("pop3", "qpop3d", "root"),
                 ("pop3", "qpop3d", "qmta-smtpd"), ("pop3", "qpop3d", "qmta-vmail"),
                 ("qsend", "qsend", "qmta-send"), ("tlsd", "qtlsd", "qmta-tls"),
                 ("dkimsign", "qdkimd", "qmta-dkim"), ("dkimverify", "qdkimd", "qmta-dkimv")}
    ok(want_seen <= seen, "the sessions' processes were there to see",
       "missing: %s" % sorted(want_seen - seen))

    # 2. no root process holds a client's connection
    conns = client_sockets(set(ports.values()))
    held = []
    for pid, service in tree(SVSCAN[0].pid, "*"):
        st = status(pid)
        if st is None or "0" not in st["Uid"].split():
            continue
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            t = fd_target(pid, int(fd))
            if t and t.startswith("socket:[") and t[8:-1] in conns:
                held.append("%s (%s, pid %d) fd %s: %s" % (st["Name"], service, pid, fd,
                                                         conns[t[8:-1]]))
    ok(conns and not held, "no root process holds a client's connection (%d seen)" % len(conns),
       "\n".join(held))
    pop.quit()
    smtp.close()

    # 3. queue/, control/, tls/, auth/ as their tables say
    def check(table, extra=()):
        bad = []
        for rel, want in sorted(table.items()):
            try:
                got = mode_of(os.path.join(QHOME, rel))
            except OSError as e:
                got = "missing (%s)" % e.strerror
            if got != want:
                bad.append("%s: want %s, found %s" % (rel, want, got))
        return bad + list(extra)

    qextra = []
    for d, _, files in os.walk(QHOME + "/queue"):
        rel = os.path.relpath(d, QHOME)
        if rel not in QUEUE:
            qextra.append("%s: a directory not in the table (%s)" % (rel, mode_of(d)))
        for f in files:
            p = os.path.join(rel, f)
            if p in QUEUE:
                continue
            st = os.lstat(os.path.join(QHOME, p))
            # a queue file: its writer's (never root), qsend's group, 0640
            if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o640 or \
                    st.st_uid == 0 or name_g(st.st_gid) != S:
                qextra.append("%s: want a queue file 640 WRITER:%s, found %s" % (p, S, mode_of(
                    os.path.join(QHOME, p))))
    bad = check(QUEUE, qextra)
    ok(not bad, "queue/ and everything in it", "\n".join(bad))

    table = dict(OTHER)
    for f in os.listdir(QHOME + "/control"):
        table.setdefault("control/" + f, CONTROL_DEFAULT)
    for d in ("tls", "auth"):
        for f in os.listdir(QHOME + "/" + d):
            table.setdefault(d + "/" + f, "(not in the table)")
    bad = check(table)
    ok(not bad, "control/, tls/, auth/ and run/", "\n".join(bad))

    # 4. what the accounts can do: the writers' rights and no more
    m = "%s/queue/mess/0" % QHOME
    ok(not can("qmta-smtpd", ["-r", m]) and not can("qmta-smtpd", ["-x", m]) and
       not can("qmta-smtpd", ["-r", QHOME + "/queue/info/0"]) and
       not can("qmta-smtpd", ["-r", QHOME + "/queue/tmp"]) and
       can("qmta-smtpd", ["-w", QHOME + "/queue/tmp"]) and
       can("qmta-smtpd", ["-w", QHOME + "/queue/new"]),
       "qmta-smtpd may create in tmp/ and commit into new/, not read mess/, info/ or list tmp/")
    ok(can("qmta-remote", ["-r", m]) and not can("qmta-remote", ["-w", m]) and
       can("qmta-send", ["-w", m]) and not can("qmta-smtpd", ["-r", QHOME + "/control/users"]),
       "qmta-remote reads messages, qsend writes them; control/users is root's")


try:
    main()
finally:
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)

sys.exit(1 if T["failed"] or T["n"] != 8 else 0)
