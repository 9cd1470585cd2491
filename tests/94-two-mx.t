#!/usr/bin/env python3
# Two MX nodes for one domain, one mailbox backend, one sender (issue 17,
# items 4 and 5), on one machine with network namespaces:
#
#   root namespace: 10.203.1.1, 10.203.2.1       namespace A        namespace B
#   sender instance (qremote, DNSCACHEIP)        mxa instance       mxb instance
#   dnsmasq 10.203.1.1:53                        10.203.1.2:25      10.203.2.2:25
#   Dovecot LMTP 10.203.1.1:24                   <- veth ->         <- veth ->
#
# The namespaces, the veth pairs and their private addresses (10.203.1.0/24,
# 10.203.2.0/24) are made by this test and removed at its end whatever
# happens: nothing of them leaves the machine, so the rule that network
# tests use 127.0.0.0/8 holds in spirit. The DNS (dnsmasq) serves two MX
# records of equal preference for lab.example and the A records of the
# nodes; both nodes hand lab.example's users to one Dovecot by LMTP over
# TCP (control/lmtpdomains; B reaches 10.203.1.1 by its default route).
# Each node runs under its own s6-svscan inside its namespace, with the
# same control files but its own control/me.
#
# The sender injects 1,000 messages (each its own Message-ID; 4 qinjects
# at a time). Half-way, node A's whole supervision tree is killed with
# kill -9 (frozen top down first, as lib.sh's freeze does). So that A holds
# a backlog when it dies, its qsend tree (qsend, qlspawn and its LMTP
# workers, qrspawn) is frozen with SIGSTOP 150 messages before the kill,
# in whatever state its deliveries are, while its listener goes on taking
# mail; the test itself hands A 20 messages by SMTP at the start and 20
# while it is frozen (the sender's qrspawn reuses its open connections, so
# it may keep to node B for a while). Then: the sender's queue empties and
# its log shows A refusing connections (if it kept to B, a pause lets its
# connections close and a few more messages open new ones), every message
# is in Dovecot or in A's dead queue, and once A is started again its queue
# drains: every acknowledged message is in Dovecot, none lost, duplicates
# counted and reported (a message A had handed to Dovecot without
# recording it is delivered again: at least once, never lost).
# Last, the scale-out recipes of qmta-admin(7) (the lines after
# '.\" scale-out recipe NAME', as tests/58-daily-tasks.t reads the daily
# ones), run as printed with /var/qmta and the host names replaced, with
# node B (the one that lived through the burst) taken out for
# maintenance: while Dovecot is stopped, mail waits in both nodes (10
# messages handed to each by SMTP, surely), with retries 10 minutes away;
# Dovecot back, "drain" on B stops its listener, ends the sessions still
# open (a session the test holds gets 421, and so do the sender's kept
# connections), flushes (the flush, not a retry, sends B's mail) and waits
# for an empty queue; "ship" copies B's
# control/ (with a new user) to A, whose running programs see the new
# maps; new mail, the new user's too, goes through A alone while B is
# drained; "move" re-injects what still waits in A into B (which takes
# local injections with its listener down) and empties A; "undrain"
# starts B's listener again.
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

BURST = 1000
KILL_AT = BURST // 2
STALL_AT = KILL_AT - 150  # node A's deliveries freeze here (see the header)
CHUNK = 50  # messages injected by 4 qinjects at a time, between the events
DIRECT = 20  # messages handed to node A by SMTP while it is frozen
TAG = str(os.getpid())
DOMAIN = "lab.example"
USERS = ("ann", "bob")
NODES = {  # name: (namespace, veth in root, veth in ns, root side, ns side)
    "mxa": ("q94a-" + TAG, "v94a" + TAG, "w94a" + TAG, "10.203.1.1", "10.203.1.2"),
    "mxb": ("q94b-" + TAG, "v94b" + TAG, "w94b" + TAG, "10.203.2.1", "10.203.2.2"),
}
LAB = NODES["mxa"][3]  # the DNS and Dovecot, reached by both nodes
SENDER = TMP + "/sender"
DV = TMP + "/dovecot"
PAGE = os.path.join(ROOT, "control", "qmta-admin.7")
PROCS = {}      # name -> Popen (dnsmasq, dovecot, svscan-NODE)
MADE_NS = []    # namespaces this test made
MADE_LINKS = []  # veth ends in the root namespace this test made


def sh(*args, check=True):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    if check and r.returncode != 0:
        bail("%s failed: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r


def home(node):
    return TMP + "/" + node


def env_of(qhome):
    """the environment of an instance's s6 tree: the caller's, without
    SSL_CERT_FILE and SSL_CERT_DIR, as an s6 tree started at boot has it.
    A bundle named by SSL_CERT_FILE is parsed whole by every qtls-client
    before its ClientHello (the system's store is looked up in its hashed
    directory, one certificate when needed): under the sanitizers that is
    seconds of CPU per STARTTLS, which the lab's bursts do not need."""
    e = dict(os.environ)
    e["QHOME"] = qhome
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        e.pop(name, None)
    return e


# ---- the lab network ----

def net_up():
    for node, (ns, outer, inner, gw, addr) in sorted(NODES.items()):
        sh("ip", "netns", "add", ns)
        MADE_NS.append(ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        MADE_LINKS.append(outer)
        sh("ip", "link", "set", inner, "netns", ns)
        sh("ip", "addr", "add", gw + "/24", "dev", outer)
        sh("ip", "link", "set", outer, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", addr + "/24", "dev", inner)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", inner, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", gw)
    # both ends up (IPv4 has no duplicate address detection to wait for)
    for node, (ns, outer, inner, gw, addr) in sorted(NODES.items()):
        if not wait_until(20, lambda: "LOWER_UP" in sh("ip", "-o", "link", "show", outer)
                          .stdout.decode(), 0.1):
            bail("the link to %s is not up" % node)


def net_down():
    for ns in MADE_NS:
        # processes left in it (a failed start) are ours: the namespace is
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), 9)
            except (OSError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check=False)  # takes its veth end along
    for link in MADE_LINKS:
        sh("ip", "link", "del", link, check=False)  # gone already, normally
    del MADE_NS[:]
    del MADE_LINKS[:]


# ---- DNS and Dovecot in the root namespace ----

def dns_start():
    a, b = NODES["mxa"], NODES["mxb"]
    PROCS["dnsmasq"] = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
         "--user=root", "--pid-file=", "--bind-interfaces", "--port=53",
         "--listen-address=" + LAB,
         "--local=/example/", "--local=/10.in-addr.arpa/",
         "--mx-host=%s,mxa.%s,10" % (DOMAIN, DOMAIN),
         "--mx-host=%s,mxb.%s,10" % (DOMAIN, DOMAIN),
         "--host-record=mxa.%s,%s" % (DOMAIN, a[4]),
         "--host-record=mxb.%s,%s" % (DOMAIN, b[4]),
         "--host-record=sender.example," + LAB,
         "--log-facility=" + TMP + "/dnsmasq.log"],
        stdout=subprocess.DEVNULL, stderr=open(TMP + "/dnsmasq.out", "w"))
    listening = lambda: ("%s:53 " % LAB) in sh("ss", "-lunH", check=False).stdout.decode()
    if not wait_until(20, listening, 0.1):
        bail("dnsmasq did not start: " + open(TMP + "/dnsmasq.out").read())


def dovecot_conf():
    os.makedirs(DV + "/home/" + DOMAIN)
    for d in (DV + "/home", DV + "/home/" + DOMAIN):
        shutil.chown(d, "nobody", "nogroup")
    dovecot_users(USERS)
    with open(DV + "/dovecot.conf", "w") as f:
        f.write("""base_dir = %(dv)s/run
state_dir = %(dv)s/state
instance_name = qmta-test-twomx-%(tag)s
protocols = lmtp
log_path = %(dv)s/dovecot.log
ssl = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = passwd-file
  args = %(dv)s/users
  default_fields = uid=nobody gid=nogroup home=%(dv)s/home/%%d/%%n
}
mail_location = maildir:~/Maildir
service lmtp {
  inet_listener lmtp {
    address = %(lab)s
    port = 24
  }
}
""" % {"dv": DV, "tag": TAG, "lab": LAB})


def dovecot_users(users):
    with open(DV + "/users.new", "w") as f:
        for u in users:
            f.write("%s@%s:::::::\n" % (u, DOMAIN))
    os.rename(DV + "/users.new", DV + "/users")


def dovecot_start():
    PROCS["dovecot"] = subprocess.Popen(["dovecot", "-F", "-c", DV + "/dovecot.conf"],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
    listening = lambda: ("%s:24 " % LAB) in sh("ss", "-ltnH", check=False).stdout.decode()
    if not wait_until(20, listening, 0.1):
        bail("Dovecot does not listen: " + dovecot_log())


def proc_stop(name):
    """SIGTERM to a daemon this test started, SIGKILL after 20 s"""
    p = PROCS.pop(name, None)
    if p is None:
        return
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def dovecot_stop():
    proc_stop("dovecot")


def dovecot_log():
    try:
        with open(DV + "/dovecot.log", errors="replace") as f:
            return f.read()[-2000:]
    except OSError:
        return ""


def mailbox_ids():
    """Message-ID -> how many copies Dovecot stored (every user's Maildir)"""
    seen = {}
    top = "%s/home/%s" % (DV, DOMAIN)
    for u in os.listdir(top):
        for path in maildir_files("%s/%s/Maildir" % (top, u)).values():
            mid = message_id(path)
            if mid:
                seen[mid] = seen.get(mid, 0) + 1
    return seen


def message_id(path):
    try:
        with open(path, "rb") as f:
            head = f.read(8192).split(b"\n\n", 1)[0]
    except OSError:
        return None
    m = re.search(rb"^Message-ID: *(<[^>\r\n]*>)", head, re.M | re.I)
    return m.group(1).decode() if m else None


# ---- the instances ----

def ctl(qhome, name, value):
    with open(qhome + "/control/" + name, "w") as f:
        f.write("%s\n" % value)


def setup_node(node):
    ns, outer, inner, gw, addr = NODES[node]
    q = home(node)
    r = run("qsetup", q, "--me", "%s.%s" % (node, DOMAIN), "--smtp", addr + ":25")
    if r.returncode != 0:
        bail("qsetup %s failed: %s" % (node, r.stdout.decode(errors="replace")))
    # the same on both nodes, as the guide says: every node's name
    for name in ("locals", "rcpthosts"):
        ctl(q, name, "\n".join(["%s.%s" % (n, DOMAIN) for n in sorted(NODES)] + [DOMAIN]))
    with open(q + "/control/users", "a") as f:
        for u in USERS:
            f.write("%s@%s:!\n" % (u, DOMAIN))
    ctl(q, "lmtpdomains", "%s:lmtp:%s:24" % (DOMAIN, LAB))
    ctl(q, "resolvers", LAB)
    # a retry waits long: what a flush sends at once is the flush's doing
    ctl(q, "backoffmin", 600)
    ctl(q, "backoffmax", 600)
    if run("qnewmaps", q).returncode != 0:
        bail("qnewmaps %s failed" % node)


def setup_sender():
    r = run("qsetup", SENDER, "--me", "sender.example")
    if r.returncode != 0:
        bail("qsetup sender failed: " + r.stdout.decode(errors="replace"))
    # the lab's retries come fast: a message caught in the kill goes again
    ctl(SENDER, "backoffmin", 2)
    ctl(SENDER, "backoffmax", 4)


def svscan_start(name, qhome, ns=None):
    """s6-svscan on qhome/service (inside namespace ns), ready services"""
    cmd = ["s6-svscan", qhome + "/service"]
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd  # ip execs s6-svscan in place
    env = env_of(qhome)
    if name == "sender":
        # qremote resolves with libowfat's dns_resolve: DNSCACHEIP, else
        # /etc/resolv.conf (control/resolvers is for lib/dnsq users only)
        env["DNSCACHEIP"] = LAB
    PROCS["svscan-" + name] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
    for svc in sorted(os.listdir(qhome + "/service")):
        d = "%s/service/%s" % (qhome, svc)
        if not os.path.exists(d + "/notification-fd"):
            continue
        if not wait_until(20, lambda: os.path.exists(d + "/supervise/status"), 0.1):
            bail("no supervisor for " + d)
        if sh("s6-svwait", "-U", "-t", "20000", d, check=False).returncode != 0:
            bail("service %s of %s not ready" % (svc, name))


def stall(node):
    """freezes the qsend tree of a node (qsend, qlspawn, its LMTP workers,
    qrspawn) as it is: its deliveries stop, its listener still accepts"""
    r = sh("s6-svstat", "-o", "pid", home(node) + "/service/qsend", check=False)
    pid = int(r.stdout.decode().strip() or "0")
    return freeze(pid) if pid > 0 else []


def svscan_kill(name):
    """kill -9 of the whole tree of s6-svscan: frozen top down first, so
    that nothing in it starts anything new; returns the pids killed"""
    p = PROCS.pop("svscan-" + name)
    pids = freeze(p.pid)
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    p.wait()
    return pids


def svscan_stop(name, qhome):
    p = PROCS.pop("svscan-" + name, None)
    if p is None:
        return
    sh("s6-svscanctl", "-t", qhome + "/service", check=False)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print("# s6-svscan of %s did not stop in 20 s: killing its tree" % name, flush=True)
        PROCS["svscan-" + name] = p
        svscan_kill(name)


def counts(qhome):
    """qstat -s of an instance as a dict"""
    r = run("qstat", "-s", qhome)
    out = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        w = line.split()
        if len(w) == 2 and w[1].isdigit():
            out[w[0]] = int(w[1])
    return out


def queue_empty(qhome):
    return counts(qhome).get("messages") == 0


def queued_ids(qhome):
    """Message-IDs of the messages in an instance's queue files"""
    ids = set()
    for sub in ("new", "mess"):
        for top, _, files in os.walk("%s/queue/%s" % (qhome, sub)):
            for fn in files:
                mid = message_id(os.path.join(top, fn))
                if mid:
                    ids.add(mid)
    return ids


def log_of(qhome, svc):
    """the service's log, with what s6-log set aside after a kill"""
    text = ""
    d = "%s/log/%s" % (qhome, svc)
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if fn.startswith("@"):
            with open(d + "/" + fn, errors="replace") as f:
                text += f.read()
    try:
        with open(d + "/current", errors="replace") as f:
            text += f.read()
    except OSError:
        pass
    return text


def smtp_direct(node, n, subject="direct"):
    """one message to a node by SMTP, as another sending MTA would: its
    Message-ID once the node said 250"""
    mid = "<twomx-%s-%d@elsewhere.example>" % (subject, n)
    user = USERS[n % 2]
    msg = ("From: kim@elsewhere.example\r\nTo: %s@%s\r\nSubject: %s %d\r\n"
           "Message-ID: %s\r\n\r\n%s %d\r\n" % (user, DOMAIN, subject, n, mid, subject, n))
    try:
        s = smtplib.SMTP(NODES[node][4], 25, timeout=30)
        s.ehlo("elsewhere.example")
        s.sendmail("kim@elsewhere.example", ["%s@%s" % (user, DOMAIN)], msg.encode())
        s.quit()
    except (OSError, smtplib.SMTPException) as e:
        print("# %s %d: %s" % (subject, n, e), flush=True)
        return None
    return mid


def inject(n, subject="burst", user=None):
    """one message from the sender: its Message-ID once qinject said yes"""
    user = user or USERS[n % 2]
    mid = "<twomx-%s-%d@sender.example>" % (subject, n)
    msg = ("From: joe@sender.example\nTo: %s@%s\nSubject: %s %d\nMessage-ID: %s\n\n"
           "message %d of the %s\n" % (user, DOMAIN, subject, n, mid, n, subject))
    r = subprocess.run(["qinject", "-f", "joe@sender.example", "%s@%s" % (user, DOMAIN)],
                       input=msg.encode(), env=env_of(SENDER), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return mid if r.returncode == 0 else None


# ---- the page's scale-out recipes ----

def recipes():
    """name -> shell lines of the '.\\" scale-out recipe NAME' blocks"""
    out, name = {}, None
    for line in open(PAGE, encoding="utf-8").read().splitlines():
        m = re.match(r'^\.\\" scale-out recipe (\S+)$', line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name is not None and line == ".fi":
            name = None
        elif name is not None and not line.startswith("."):
            out[name].append(line.replace("\\-", "-").replace("\\e", "\\"))
    return out


def run_recipe(lines, qhome, subst=()):
    """the recipe with sh -e, on the instance qhome: (status, output,
    script); subst: (text, replacement) pairs applied before /var/qmta"""
    script = "\n".join(lines)
    for a, b in list(subst) + [("/var/qmta", qhome)]:
        script = script.replace(a, b)
    r = subprocess.run(["sh", "-e", "-c", script], env=env_of(qhome), cwd=TMP,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=150)
    return r.returncode, r.stdout.decode(errors="replace"), script


def main():
    if os.getuid() != 0:
        print("1..0 # SKIP needs root: network namespaces, ports 24, 25 and 53")
        raise SystemExit(0)
    for prog in ("dnsmasq", "dovecot", "ip", "ss"):
        if shutil.which(prog) is None:
            print("1..0 # SKIP %s not installed (tools/deps.sh)" % prog)
            raise SystemExit(0)
    if not os.path.exists("/usr/lib/dovecot/lmtp"):
        print("1..0 # SKIP dovecot-lmtpd not installed (tools/deps.sh)")
        raise SystemExit(0)
    probe = "q94p-" + TAG
    if sh("ip", "netns", "add", probe, check=False).returncode != 0:
        print("1..0 # SKIP ip netns is not usable here (no CAP_SYS_ADMIN, or no "
              "network namespaces in this kernel)")
        raise SystemExit(0)
    sh("ip", "netns", "del", probe, check=False)
    taken = sh("ip", "-4", "addr", "show", check=False).stdout.decode()
    if "10.203.1." in taken or "10.203.2." in taken:
        print("1..0 # SKIP 10.203.1.0/24 or 10.203.2.0/24 is in use on this machine")
        raise SystemExit(0)

    net_up()
    dns_start()
    dovecot_conf()
    dovecot_start()
    for node in NODES:
        setup_node(node)
    setup_sender()
    for node in sorted(NODES):
        svscan_start(node, home(node), NODES[node][0])
    svscan_start("sender", SENDER)
    ok(True, "two MX nodes in their namespaces, a sender, DNS and Dovecot are up")

    # 1. the burst; node A killed half-way
    acked = []
    killed = []
    stalled = []
    backlog = 0
    refused = 0
    t0 = time.monotonic()
    direct = []
    delivered_a = False
    pool = ThreadPoolExecutor(4)
    for first in range(0, BURST, CHUNK):
        if first == 0:
            # node A surely has deliveries of its own before it stalls
            direct = [smtp_direct("mxa", n, "early") for n in range(DIRECT)]
        if first == STALL_AT:
            delivered_a = wait_until(30, lambda: log_of(home("mxa"), "qsend")
                                     .count(" ok: ") >= DIRECT, 0.2)
            stalled = stall("mxa")
            direct += [smtp_direct("mxa", n) for n in range(DIRECT)]
        if first == KILL_AT:
            backlog = counts(home("mxa")).get("messages", 0)
            killed = svscan_kill("mxa")
        for mid in pool.map(inject, range(first, min(first + CHUNK, BURST))):
            if mid is None:
                refused += 1
            else:
                acked.append(mid)
    is_(refused, 0, "qinject acknowledged all %d messages" % BURST)
    ok(all(direct) and len(direct) == 2 * DIRECT,
       "node A acknowledged %d messages by SMTP before its deliveries froze, %d after"
       % (DIRECT, DIRECT))
    acked += [m for m in direct if m]
    print("# burst injected in %.1f s" % (time.monotonic() - t0), flush=True)
    ns_a = NODES["mxa"][0]
    left = sh("ip", "netns", "pids", ns_a, check=False).stdout.split()
    ok(killed and not left, "node A killed with kill -9: %d processes, none left in its "
       "namespace" % len(killed), left)
    ok(stalled and delivered_a, "node A had delivered to Dovecot before its deliveries froze")
    print("# the sender handed node A %d messages before the kill" % len(re.findall(
        r"remote \S+ ok: mxa\.", log_of(SENDER, "qsend"))), flush=True)
    ok(backlog > 0, "node A had %d messages in its queue when it was killed" % backlog)

    # 2. the sender fails over to node B and empties its queue
    ok(wait_until(150, lambda: queue_empty(SENDER), 0.5),
       "the sender's queue empties: node B takes what node A cannot",
       counts(SENDER))
    print("# sender's queue empty %.1f s after the burst began"
          % (time.monotonic() - t0), flush=True)
    # qrspawn reuses an open connection for the next message to a domain,
    # and closes it after 5 s idle; a new one goes to either MX at random.
    # Had the sender kept to node B since the kill: a pause (its
    # connections close), 4 messages at once (4 new ones), at most 6 times.
    refused_a = re.compile(r"mxa\.%s \[[0-9.]+\]: unable to connect" % re.escape(DOMAIN))
    for n in range(6):
        if refused_a.search(log_of(SENDER, "qsend")):
            break
        time.sleep(6)
        acked += [m for m in pool.map(lambda i: inject(i, "probe"), range(4 * n, 4 * n + 4))
                  if m]
        wait_until(30, lambda: queue_empty(SENDER), 0.5)
    pool.shutdown()
    ok(refused_a.search(log_of(SENDER, "qsend")),
       "the sender saw node A refuse connections after the kill, and went on")
    ok(wait_until(60, lambda: queue_empty(home("mxb")), 0.5),
       "node B's queue empties into Dovecot", counts(home("mxb")))
    stranded = queued_ids(home("mxa"))
    print("# %d messages in node A's queue while it is down" % len(stranded), flush=True)
    stored = mailbox_ids()
    missing = [m for m in acked if m not in stored and m not in stranded]
    ok(not missing, "every acknowledged message is in Dovecot or in node A's queue",
       "missing %d: %s" % (len(missing), missing[:5]))

    # 3. node A comes back: its queue drains into Dovecot
    svscan_start("mxa", home("mxa"), ns_a)
    ok(wait_until(60, lambda: queue_empty(home("mxa")), 0.5),
       "node A back: its queue drains", counts(home("mxa")))
    stored = mailbox_ids()
    lost = [m for m in acked if m not in stored]
    dups = sorted(m for m, c in stored.items() if c > 1)
    ok(not lost, "none lost: all %d acknowledged messages (%d to the sender's qinject, %d to "
       "node A by SMTP) are in Dovecot" % (len(acked), len(acked) - len(direct), len(direct)),
       "lost %d: %s" % (len(lost), lost[:5]))
    ok(not stranded or all(m in stored for m in stranded),
       "what node A had acknowledged before the kill arrived (%d)" % len(stranded))
    ok(set(stored) <= set(acked), "Dovecot holds nothing that was not sent")
    print("# duplicates (delivered twice, none lost): %d %s"
          % (len(dups), dups[:10]), flush=True)
    ok(max(stored.values()) <= 2, "no message more than twice: %d copies of %d messages"
       % (sum(stored.values()), len(acked)))

    # 4. the guide's recipes, on node B, which lived through the burst.
    # Dovecot stopped for a while: mail waits in both nodes, retries 10
    # minutes away.
    book = recipes()
    is_(sorted(book), ["drain", "move", "ship", "undrain"],
        "qmta-admin(7) has the scale-out recipes")
    dovecot_stop()
    waiting = [inject(n, "wait") for n in range(20)]
    for node in sorted(NODES):  # each node has some, surely
        waiting += [smtp_direct(node, n, "wait-" + node) for n in range(10)]
    ok(all(waiting) and wait_until(60, lambda: queue_empty(SENDER), 0.5),
       "Dovecot down: the sender still hands its mail to the nodes", counts(SENDER))
    ok(wait_until(30, lambda: all(counts(home(n)).get("deferred", 0) > 0 for n in NODES), 0.5),
       "both nodes defer while Dovecot is down", [counts(home(n)) for n in sorted(NODES)])
    dovecot_start()

    # drain B: its listener stopped, the flush delivers what waits
    addr_b = NODES["mxb"][4]

    def b_listens():
        return "%s:25 " % addr_b in sh("ip", "netns", "exec", NODES["mxb"][0], "ss", "-ltnH",
                                       check=False).stdout.decode()
    # a session open across the drain (a sender that keeps its connection)
    held = smtplib.SMTP(addr_b, 25, timeout=30)
    held.ehlo("keeper.example")
    rc, out, script = run_recipe(book.get("drain", []), home("mxb"))
    ok(rc == 0, "the drain recipe ran on node B", script + "\n---\n" + out)
    ok(queue_empty(home("mxb")), "node B drained: its queue is empty", counts(home("mxb")))
    ok(not b_listens(), "node B no longer listens on port 25")
    try:
        code = held.noop()[0]
    except (OSError, smtplib.SMTPException):
        code = "closed"
    held.close()
    ok(code in (421, "closed"), "a session open across the drain was ended (421)", code)
    left = [proc_stat(int(p)) for p in sh("ip", "netns", "pids", NODES["mxb"][0],
                                          check=False).stdout.split() if alive(int(p))]
    ok(not [p for p in left if p and p[0] in ("qsmtpd", "qlisten")],
       "no qlisten or qsmtpd left on node B", left)
    before = log_of(home("mxb"), "smtp").count(" accept ip=")

    # ship: a new user on B, its control/ copied to A
    with open(home("mxb") + "/control/users", "a") as f:
        f.write("carl@%s:!\n" % DOMAIN)
    dovecot_users(USERS + ("carl",))
    rc, out, script = run_recipe(book.get("ship", []), home("mxb"),
                                 [("mx2.example.org:/var/qmta", home("mxa"))])
    ok(rc == 0, "the ship recipe ran from node B to node A", script + "\n---\n" + out)
    is_(open(home("mxa") + "/control/me").read().strip(), "mxa." + DOMAIN,
        "node A kept its own control/me")

    # new mail goes through A alone, the new user's too, over STARTTLS
    tls_before = len(log_of(home("mxa"), "tlsd"))
    after = [inject(n, "after") for n in range(20)] + [inject(0, "carl", "carl")]
    ok(all(after) and wait_until(60, lambda: queue_empty(SENDER), 0.5),
       "mail sent during the drain leaves the sender",
       "%s\nnode A's tlsd: %s" % (counts(SENDER), log_of(home("mxa"), "tlsd")[-1500:]))
    # a STARTTLS that hangs (both ends waiting until their 60 s limit, then
    # plaintext under tls=may) is a failure, not a slow success
    late = [line for line in log_of(SENDER, "qsend").splitlines()
            if "TLS helper timed out" in line]
    late += [line for n in sorted(NODES) for line in log_of(home(n), "tlsd").splitlines()
             if "handshake failed: timed out" in line]
    ok(not late, "no STARTTLS timed out, before or after node A's restart", late[:5])
    # (qtlsd logs a session when it ends: the sender closes a connection
    # after 5 s idle)
    tls_a = lambda: log_of(home("mxa"), "tlsd")[tls_before:]
    ok(wait_until(30, lambda: re.search(r" TLSv1\.[23] ", tls_a()), 0.5),
       "node A, restarted, took the drain's mail over TLS", tls_a()[-1500:])
    stored = mailbox_ids()
    ok(wait_until(60, lambda: all(m in mailbox_ids() for m in after if m), 0.5),
       "all of it is in Dovecot, the new user's message too (node A has the new map)",
       [m for m in after if m not in mailbox_ids()])
    ok(log_of(home("mxb"), "smtp").count(" accept ip=") == before,
       "node B took no message during the drain")

    # move: what waits in A (its retries still far) goes into B by qinject
    on_a = queued_ids(home("mxa"))
    ok(len(on_a) >= 10, "node A still holds its waiting mail (%d)" % len(on_a))
    rc, out, script = run_recipe(book.get("move", []), home("mxa"),
                                 [("ssh mx1.example.org qinject",
                                   "env QHOME=%s qinject" % home("mxb"))])
    ok(rc == 0, "the move recipe ran on node A", script + "\n---\n" + out)
    ok(wait_until(30, lambda: queue_empty(home("mxa")), 0.5), "node A's queue is empty",
       counts(home("mxa")))
    ok(wait_until(60, lambda: queue_empty(home("mxb")), 0.5),
       "node B delivered what it got", counts(home("mxb")))
    stored = mailbox_ids()
    ok(on_a and all(m in stored for m in on_a),
       "the %d messages moved from node A are in Dovecot" % len(on_a))
    lost = [m for m in acked + waiting + after if m not in stored]
    ok(not lost, "in the end, every message sent is in Dovecot (%d)"
       % len(acked + waiting + after), lost[:5])

    rc, out, script = run_recipe(book.get("undrain", []), home("mxb"))
    ok(rc == 0 and wait_until(20, b_listens, 0.1),
       "the undrain recipe: node B listens again", script + "\n---\n" + out)


def cleanup():
    svscan_stop("sender", SENDER)
    for node in sorted(NODES):
        svscan_stop(node, home(node))
    dovecot_stop()
    proc_stop("dnsmasq")
    net_down()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # cleanup runs on a kill too
run_main(main, cleanup)
