#!/usr/bin/env python3
# Torture test (issue 15, item 13): SMTP load from 20 concurrent clients
# while kill -9 hits qsend, qlspawn and its workers, qrspawn and its
# qremote, a qsmtpd, qlisten, and every few rounds the whole supervision tree, and
# while the queue's own disk (a small tmpfs mounted on queue/) fills and
# empties. Some messages go to local Maildirs, some are relayed to a
# recording SMTP sink (control/smtproutes), some to both, a few to twelve
# recipients; now and then the sink answers 451 to two of its recipients
# for a few seconds (deferrals, retried with control/backoffmin 1).
#
# Each client records what its transactions got: 250 after DATA
# (acknowledged), a reply 4xx (refused: not stored, never delivered), or a
# broken connection (not acknowledged: it may or may not be delivered).
# After the load the system drains, and then:
#   - every acknowledged message is delivered to every accepted recipient
#     (in a Maildir or at the sink): lost = 0;
#   - nothing stays in queue/new, mess, info (stuck = 0), nor in queue/tmp
#     once qsend has started again (it removes the temp files of killed
#     writers at start), nor in queue/bad;
#   - no message refused with a 4xx reply is delivered; no 5xx reply at all;
#   - every delivered file is complete and one we sent.
# Duplicates are allowed (at-least-once: a kill between a delivery and its
# mark repeats it) and counted.
#
# The run is seeded (TORTURE_SEED, printed), TORTURE_SECONDS of load
# (default 75), then at most 120 s of draining. The figures are printed as
# TAP comments and, with TORTURE_REPORT=FILE, written to FILE.
import errno
import json
import os
import random
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

CLIENTS = 20
LOAD_SECONDS = float(os.environ.get("TORTURE_SECONDS", "75"))
DRAIN_SECONDS = 120
QUEUE_MB = 6
USERS = ["u%d" % i for i in range(4)]
SEED = int(os.environ.get("TORTURE_SEED", str(int(time.time()) % 1000000)))

Q = QHOME + "/queue"
SINK = TMP + "/sink"
SINK_RULES = TMP + "/sink-rules"
DEFERRED = ["r3@relay.test", "r4@relay.test"]  # the sink says 451 to these at times
state = {"mounted": False, "sink": None, "tree_ok": True, "zombie": None}
lock = threading.Lock()
stop_load = threading.Event()
stop_chaos = threading.Event()
disk_full = threading.Event()

# per message token: {"rcpts": [...], "acked": [...], "outcome": "acked" | "refused" | "broken"}
sent = {}
replies = {"4xx_full": 0, "4xx": 0, "5xx": 0, "250_full": 0, "connect_fail": 0}
refusals = {}  # "451 4.3.0 queue write error..." -> count
kills = {"qsend": 0, "qlspawn": 0, "qlspawn-worker": 0, "qrspawn": 0, "qremote": 0,
         "qsmtpd": 0, "qlisten": 0, "tree": 0}
phases = {"full": 0, "451": 0}


def note(msg):
    print("# " + msg, flush=True)


# ---- the instance ----

def setup(port):
    def qsetup():
        r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port)
        if r.returncode != 0:
            sys.stderr.write(r.stdout.decode(errors="replace"))
            bail("qsetup failed")
    qsetup()
    try_dir = TMP + "/try"
    os.mkdir(try_dir)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", try_dir],
                      stderr=subprocess.DEVNULL).returncode != 0:
        print("1..0 # SKIP cannot mount a tmpfs here", flush=True)
        raise SystemExit(0)
    subprocess.run(["umount", try_dir])
    # the queue on its own small file system; qsetup rerun fills it in
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=750" % QUEUE_MB, "tmpfs",
                       Q]).returncode != 0:
        bail("mount of the queue tmpfs failed")
    state["mounted"] = True
    qsetup()
    with open(QHOME + "/control/users", "a") as f:
        for u in USERS:
            f.write("%s@test.example:!\n" % u)
    with open(QHOME + "/control/rcpthosts", "a") as f:
        f.write("relay.test\n")
    ctl_write("backoffmin", 1)
    ctl_write("backoffmax", 2)
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")


def sink_start():
    os.mkdir(SINK)
    sport = free_port()
    state["sink"] = subprocess.Popen(
        [sys.executable, ROOT + "/tests/smtpsink.py", SINK, "127.0.0.1:%d" % sport,
         "--rules", SINK_RULES],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_until(20, lambda: os.path.exists(SINK + "/ready"), 0.1):
        bail("smtpsink did not start")
    ctl_write("smtproutes", "relay.test:127.0.0.1:%d" % sport)


def tree_start():
    """s6-svscan and every service ready; False if not within 30 s"""
    SVSCAN.append(subprocess.Popen(["s6-svscan", QHOME + "/service"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 30
    for svc in ("qsend", "tlsd", "smtp"):
        d = QHOME + "/service/" + svc + "/"
        while not os.path.exists(d + "supervise/status") and time.monotonic() < deadline:
            time.sleep(0.1)
        left = max(1, int((deadline - time.monotonic()) * 1000))
        if run("s6-svwait", "-U", "-t", str(left), d).returncode != 0:
            note("service %s not ready after a start of the tree" % svc)
            return False
    return True


def tree_kill():
    """kill -9 of s6-svscan and everything below it (frozen first: nothing new starts)"""
    p = SVSCAN.pop()
    for pid in freeze(p.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    p.wait()
    # supervisors that no longer run would confuse the next s6-svscan (as in 90-crash.t)
    for svc in os.listdir(QHOME + "/service"):
        for d in ("/supervise", "/log/supervise"):
            shutil.rmtree(QHOME + "/service/" + svc + d, ignore_errors=True)
    shutil.rmtree(QHOME + "/service/.s6-svscan", ignore_errors=True)


# ---- load ----

def message(token, rcpts, rng):
    pad = "".join("pad %s line %d %s\r\n" % (token, i, "x" * 60)
                  for i in range(rng.randrange(0, 120)))
    return ("From: load@client.example\r\nTo: %s\r\nSubject: torture %s\r\n"
            "X-Token: %s\r\n\r\nbody %s\r\n%send %s\r\n" %
            (", ".join(rcpts), token, token, token, pad, token))


def client(n, port):
    rng = random.Random(SEED * 100 + n)
    k = 0
    c = None
    left_in_conn = 0
    while not stop_load.is_set():
        if c is None:
            try:
                c = smtplib.SMTP("127.0.0.1", port, timeout=20)
                c.ehlo("client%d.example" % n)
                left_in_conn = rng.randrange(1, 4)
            except (OSError, smtplib.SMTPException):
                c = None
                with lock:
                    replies["connect_fail"] += 1
                time.sleep(0.2)
                continue
        token = "t%02d-%05d" % (n, k)
        k += 1
        r = rng.random()
        local = "%s@test.example" % rng.choice(USERS)
        remote = "r%d@relay.test" % rng.randrange(5)
        if r < 0.05:  # a small list: recipient indexes of two digits in the info log
            rcpts = ["%s@test.example" % u for u in USERS] + ["r%d@relay.test" % i
                                                              for i in range(8)]
        else:
            rcpts = [local] if r < 0.5 else [remote] if r < 0.92 else [local, remote]
        rec = {"rcpts": rcpts, "acked": [], "outcome": "broken"}
        with lock:
            sent[token] = rec
        full = disk_full.is_set()
        try:
            refused = c.sendmail("load@client.example", rcpts, message(token, rcpts, rng))
            rec["acked"] = [a for a in rcpts if a not in refused]
            rec["outcome"] = "acked"
            if full:
                with lock:
                    replies["250_full"] += 1
        except smtplib.SMTPRecipientsRefused as e:
            rec["outcome"] = "refused"
            for code, _ in e.recipients.values():
                with lock:
                    replies["5xx" if code >= 500 else "4xx"] += 1
        except smtplib.SMTPResponseException as e:
            # MAIL or DATA answered with an error: the message was not taken
            rec["outcome"] = "refused"
            with lock:
                text = e.smtp_error.decode("latin-1") if isinstance(e.smtp_error, bytes) \
                    else str(e.smtp_error)
                key = "%d %s" % (e.smtp_code, text.split(",")[0])
                refusals[key] = refusals.get(key, 0) + 1
                if e.smtp_code >= 500:
                    replies["5xx"] += 1
                    note("5xx for %s: %d %r" % (token, e.smtp_code, e.smtp_error))
                elif full or disk_full.is_set():
                    replies["4xx_full"] += 1
                else:
                    replies["4xx"] += 1
            if e.smtp_code == 421:
                c.close()
                c = None
            time.sleep(rng.uniform(0.2, 1))  # as a client would, a while before the next try
        except (OSError, smtplib.SMTPException):
            c = None  # cut mid-way (a kill): not acknowledged, may or may not be delivered
        left_in_conn -= 1
        if c is not None and left_in_conn <= 0:
            try:
                c.quit()
            except (OSError, smtplib.SMTPException):
                pass
            c = None
        time.sleep(rng.uniform(0, 0.15))
    if c is not None:
        try:
            c.quit()
        except (OSError, smtplib.SMTPException):
            pass


# ---- chaos ----

def comm_children(pid, comm):
    return [c for c in children(pid) if (proc_stat(c) or ("", 0))[0] == comm]


def in_session(pid):
    t = fd_target(pid, 0)
    return t is not None and t.startswith("socket:")


def victims(kind):
    qsend = svc_pid("qsend")
    if kind == "qsend":
        return [qsend] if qsend else []
    if kind in ("qlspawn", "qrspawn"):
        return comm_children(qsend, kind) if qsend else []
    if kind == "qlspawn-worker":
        return [w for p in (comm_children(qsend, "qlspawn") if qsend else []) for w in children(p)]
    if kind == "qremote":
        return [w for p in (comm_children(qsend, "qrspawn") if qsend else [])
                for w in comm_children(p, "qremote")]
    if kind == "qlisten":
        listener = svc_pid("smtp")
        return [listener] if listener else []
    if kind == "qsmtpd":
        listener = svc_pid("smtp")
        pids = comm_children(listener, "qsmtpd") if listener else []
        busy = [p for p in pids if in_session(p)]
        return busy or pids
    return []


def killer():
    rng = random.Random(SEED)
    kinds = ["qsend", "qlspawn", "qlspawn-worker", "qrspawn", "qremote", "qsmtpd", "qsmtpd",
             "qlisten"]
    order = []
    rounds = 0
    while not stop_chaos.wait(rng.uniform(0.4, 1.6)):
        rounds += 1
        if rounds % 12 == 0:
            tree_kill()
            with lock:
                kills["tree"] += 1
            time.sleep(rng.uniform(0, 1))
            if not tree_start():
                state["tree_ok"] = False
                return
            continue
        if not order:
            order = kinds[:]
            rng.shuffle(order)
        kind = order.pop()
        pids = victims(kind)
        if not pids:
            continue
        try:
            os.kill(rng.choice(sorted(pids)), signal.SIGKILL)
            with lock:
                kills[kind] += 1
        except OSError:
            pass


def filler():
    """the queue disk full for 1.5-4 s (topped up as space comes free), then emptied"""
    rng = random.Random(SEED + 1)
    path = Q + "/filler"
    while not stop_chaos.wait(rng.uniform(2, 6)):
        phases["full"] += 1
        end = time.monotonic() + rng.uniform(1.5, 4)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            disk_full.set()
            while time.monotonic() < end and not stop_chaos.is_set():
                for chunk in (1 << 20, 4096):
                    while True:
                        try:
                            os.write(fd, b"\0" * chunk)
                        except OSError as e:
                            if e.errno != errno.ENOSPC:
                                raise
                            break
                time.sleep(0.05)
        finally:
            os.close(fd)
            os.unlink(path)
            disk_full.clear()


def sink_rules(text):
    with open(SINK_RULES + ".new", "w") as f:
        f.write(text)
    os.rename(SINK_RULES + ".new", SINK_RULES)


def deferrer():
    """the sink answers 451 to DEFERRED for 1-4 s at a time"""
    rng = random.Random(SEED + 2)
    while not stop_chaos.wait(rng.uniform(2, 6)):
        phases["451"] += 1
        sink_rules("".join("rcpt %s 451 4.7.1 try again later\n" % a for a in DEFERRED))
        stop_chaos.wait(rng.uniform(1, 4))
        sink_rules("")


# ---- the count ----

def delivered():
    """(token, recipient) -> number of deliveries; also the files that are not ours or cut"""
    got = {}
    bad = []
    for u in USERS:
        md = QHOME + "/mail/test.example/" + u
        for sub in ("new", "cur"):
            d = md + "/" + sub
            for f in os.listdir(d) if os.path.isdir(d) else []:
                with open(d + "/" + f, "rb") as fh:
                    data = fh.read().decode("latin-1")
                tok = None
                for line in data.split("\n"):
                    if line.startswith("X-Token: "):
                        tok = line[9:].strip()
                        break
                if tok is None or tok not in sent or not data.endswith("end %s\n" % tok):
                    bad.append(d + "/" + f)
                    continue
                key = (tok, u + "@test.example")
                got[key] = got.get(key, 0) + 1
    try:
        log = open(SINK + "/log.jsonl").read().splitlines()
    except OSError:
        log = []
    for entry in log:
        e = json.loads(entry)
        with open("%s/msg-%d.eml" % (SINK, e["n"]), "rb") as fh:
            data = fh.read().decode("latin-1")
        tok = None
        for line in data.split("\r\n"):
            if line.startswith("X-Token: "):
                tok = line[9:].strip()
                break
        if tok is None or tok not in sent or not data.endswith("end %s\r\n" % tok):
            bad.append("sink message %d" % e["n"])
            continue
        for r in e["rcpt"]:
            key = (tok, r)
            got[key] = got.get(key, 0) + 1
    return got, bad


def queue_files(*subs):
    out = []
    for s in subs:
        for dirpath, _, files in os.walk(Q + "/" + s):
            out += [dirpath + "/" + f for f in files]
    return out


def lost_pairs(got):
    return [(t, r) for t, rec in sent.items() if rec["outcome"] == "acked"
            for r in rec["acked"] if got.get((t, r), 0) == 0]


def main():
    port = free_port()
    setup(port)
    sink_start()
    if not tree_start():
        bail("the instance did not start")
    note("seed %d (TORTURE_SEED=%d repeats this run's choices), %d clients, %d s of load, "
         "queue on a %d MiB tmpfs" % (SEED, SEED, CLIENTS, LOAD_SECONDS, QUEUE_MB))

    t0 = time.monotonic()
    clients = [threading.Thread(target=client, args=(i, port), daemon=True)
               for i in range(CLIENTS)]
    chaos = [threading.Thread(target=killer, daemon=True),
             threading.Thread(target=filler, daemon=True),
             threading.Thread(target=deferrer, daemon=True)]
    for t in clients + chaos:
        t.start()
    while time.monotonic() - t0 < LOAD_SECONDS and state["tree_ok"]:
        time.sleep(0.5)
    stop_chaos.set()
    stop_load.set()
    t_stop = time.monotonic()
    backlog = len(queue_files("new", "mess"))
    for t in chaos + clients:
        t.join(60)
    t1 = time.monotonic()
    ok(state["tree_ok"], "the tree came back after every kill -9 of the whole of it")
    if not state["tree_ok"] or any(t.is_alive() for t in chaos + clients):
        bail("the load or the chaos did not stop")
    if not tree_start_if_down():
        bail("the instance is not running after the load")
    load_time = t_stop - t0

    # drain: qsend started again (it removes the temp files of killed
    # writers at start), then flushed every 2 s until the queue is empty.
    # Among the killed writers, one that is still a zombie when qsend
    # starts (init had not reaped it yet: the session processes of a tree
    # killed just before, on a busy machine), made here on purpose: its
    # temp file goes too.
    zombie_writer()
    svc_restart("qsend", 30)
    stuck = queue_files("new", "mess", "info")
    while stuck and time.monotonic() - t1 < DRAIN_SECONDS:
        subprocess.run(["s6-svc", "-a", QHOME + "/service/qsend"])
        wait_until(2, lambda: not queue_files("new", "mess", "info"), 0.1)
        stuck = queue_files("new", "mess", "info")
    drain_time = time.monotonic() - t_stop
    got, bad = delivered()
    # the sink and the Maildirs may trail qsend's last result by a moment
    lost = lost_pairs(got)
    if lost:
        time.sleep(2)
        got, bad = delivered()
        lost = lost_pairs(got)

    n_sent = len(sent)
    acked = [t for t, r in sent.items() if r["outcome"] == "acked"]
    refused = [t for t, r in sent.items() if r["outcome"] == "refused"]
    broken = [t for t, r in sent.items() if r["outcome"] == "broken"]
    acked_pairs = sum(len(sent[t]["acked"]) for t in acked)
    delivered_msgs = sum(1 for t in acked if all(got.get((t, r), 0) for r in sent[t]["acked"]))
    dup = sum(n - 1 for n in got.values() if n > 1)
    dup_msgs = len({t for (t, _), n in got.items() if n > 1})
    broken_delivered = sum(1 for t in broken if any(got.get((t, r), 0) for r in sent[t]["rcpts"]))
    refused_delivered = [t for t in refused if any(got.get((t, r), 0) for r in sent[t]["rcpts"])]
    local_d = sum(n for (t, r), n in got.items() if r.endswith("@test.example"))
    remote_d = sum(n for (t, r), n in got.items() if r.endswith("@relay.test"))

    ok(len(acked) >= 200, "load: %d messages sent, %d acknowledged in %.0f s" %
       (n_sent, len(acked), load_time))
    missed = [k for k, v in kills.items() if v == 0]
    ok(not missed, "kill -9 hit every target: %s" %
       ", ".join("%s %d" % kv for kv in kills.items()), "never hit: %s" % missed)
    ok(phases["full"] >= 3 and replies["4xx_full"] > 0,
       "the queue disk filled %d times; %d messages refused with 4xx while it was full" %
       (phases["full"], replies["4xx_full"]))
    ok(not stuck, "zero stuck: queue/new, mess and info empty %.0f s after the load stopped" %
       drain_time, "left: %s" % stuck[:10])
    ok(not lost, "zero lost: every acknowledged message delivered to every accepted recipient "
       "(%d deliveries)" % acked_pairs,
       "lost %d, e.g. %s" % (len(lost), lost[:10]))
    ok(not refused_delivered, "no message refused with a 4xx reply was delivered",
       "delivered: %s" % refused_delivered[:10])
    ok(replies["5xx"] == 0, "no 5xx reply to any message (%d)" % replies["5xx"])
    ok(not bad, "every delivered message is complete and one we sent", bad[:10])
    tmp_left = wait_until(20, lambda: not queue_files("tmp"), 0.5) or queue_files("tmp")
    ok(tmp_left is True, "no temp file left in queue/tmp", tmp_left)
    if tmp_left is not True:
        # who holds them: the writer named by each file (PID.TIME.N)
        for path in tmp_left[:20]:
            pid = os.path.basename(path).split(".")[0]
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ")
                wchan = open("/proc/%s/wchan" % pid).read()
                stat = open("/proc/%s/stat" % pid).read().split(")")[1].split()[0]
                fds = sorted(os.readlink("/proc/%s/fd/%s" % (pid, f))
                             for f in os.listdir("/proc/%s/fd" % pid))
                print("# %s: pid %s alive, state %s, wchan %s: %s; fds %s" %
                     (path, pid, stat, wchan, cmd.decode(errors="replace"), fds))
            except OSError:
                print("# %s: pid %s gone" % (path, pid))
            try:
                st = os.stat(path)
                print("#    %d bytes, mtime %.1f s ago" % (st.st_size, time.time() - st.st_mtime))
            except OSError:
                pass
    ok(not queue_files("bad"), "nothing set aside in queue/bad", queue_files("bad")[:10])

    figures = [
        "torture run: %s, seed %d, %d SMTP clients for %.0f s, queue on a %d MiB tmpfs" %
        (time.strftime("%Y-%m-%d"), SEED, CLIENTS, load_time, QUEUE_MB),
        "sent %d, acknowledged %d, delivered %d, lost %d, duplicated %d (in %d messages)" %
        (n_sent, len(acked), delivered_msgs, len(lost), dup, dup_msgs),
        "not acknowledged: %d refused with 4xx (%d while the disk was full), %d cut by a kill "
        "(%d of them delivered anyway); 250 while the disk was full: %d" %
        (len(refused), replies["4xx_full"], len(broken), broken_delivered, replies["250_full"]),
        "refusals: %s" % "; ".join("%s: %d" % kv for kv in sorted(refusals.items())),
        "deliveries: %d to Maildirs, %d relayed to the sink; %d messages in the queue when "
        "the load stopped, all gone %.0f s later" % (local_d, remote_d, backlog, drain_time),
        "kills: %s; disk full %d times, sink deferring %d times" %
        (", ".join("%s %d" % kv for kv in kills.items()), phases["full"], phases["451"]),
    ]
    for f in figures:
        note(f)
    if os.environ.get("TORTURE_REPORT"):
        with open(os.environ["TORTURE_REPORT"], "w") as fh:
            fh.write("\n".join(figures) + "\n")
    if T["failed"]:
        for name in ("qsend", "smtp"):
            try:
                tail = open(QHOME + "/log/%s/current" % name, encoding="latin-1").readlines()[-15:]
            except OSError:
                tail = []
            note("log of %s:\n# %s" % (name, "# ".join(tail)))
        # what qsend said of the files it set aside, and what they hold
        damaged = []
        for dirpath, _, files in os.walk(QHOME + "/log/qsend"):
            for f in files:
                try:
                    with open(dirpath + "/" + f, encoding="latin-1") as fh:
                        damaged += [l for l in fh if "damaged" in l]
                except OSError:
                    pass
        note("qsend on damaged files:\n# %s" % "# ".join(damaged[:10]))
        for path in queue_files("bad")[:3]:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            note("%s: %d bytes, starts %r, ends %r" % (path, len(data), data[:160], data[-240:]))


def zombie_writer():
    """a writer that wrote part of a message into queue/tmp under its own
    name (PID.TIME.COUNTER, as queue_open names it) and was killed, but is
    not reaped: its pid still exists, as a zombie"""
    p = subprocess.Popen(["sh", "-c", 'printf "partial" > "$0/queue/tmp/$$.$(date +%s).0" && '
                          'exec sleep 600', QHOME])
    state["zombie"] = p
    wait_until(10, lambda: any(f.startswith("%d." % p.pid) for f in os.listdir(Q + "/tmp")),
               0.05)
    p.send_signal(signal.SIGKILL)
    if not wait_until(10, lambda: zombie_state(p.pid) == "Z", 0.05):
        note("the zombie writer %d is in state %s" % (p.pid, zombie_state(p.pid)))


def zombie_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def tree_start_if_down():
    if SVSCAN and SVSCAN[-1].poll() is None:
        return True
    return tree_start()


def cleanup():
    stop_chaos.set()
    stop_load.set()
    inst_stop()
    if state["zombie"] is not None:
        state["zombie"].kill()
        state["zombie"].wait()
    if state["sink"] is not None:
        state["sink"].kill()
        state["sink"].wait()
    if state["mounted"]:
        if subprocess.run(["umount", Q]).returncode != 0:
            subprocess.run(["umount", "-l", Q])
    if os.environ.get("KEEP"):
        note("kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


if os.getuid() != 0:
    print("1..0 # SKIP needs root (mounts a tmpfs for the queue)", flush=True)
    shutil.rmtree(TMP, ignore_errors=True)
    raise SystemExit(0)
run_main(main, cleanup)
