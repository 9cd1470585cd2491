#!/usr/bin/env python3
# qsmtpd's milter client against a real rspamd (Debian's package): a private
# rspamd started here with its own configuration in the test's temp dir,
# written by tests/rspamd-conf.sh (a normal worker and a proxy worker in
# milter mode, each on a free loopback port; its own pid file, log and
# database directory; no redis, no controller; every module that would
# reach the network or DNS switched off, its resolver pointed at the run's
# NXDOMAIN server). control/milters
# points at the proxy. A GTUBE message is refused at the end of data with
# rspamd's reply and never delivered; a clean one is delivered carrying the
# fields rspamd's milter_headers module adds (X-Spamd-Result and friends).
# Skipped unless run as root with rspamd installed (tools/deps.sh).
# rspamd 3.4 answers the milter negotiation asking for no reply at every
# stage but the end of the message (SMFIP_NR_*, SMFIP_NOHREPL), which
# qsmtpd offers.
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"
CONFDIR = "/etc/rspamd"        # the package's stock configuration, read only
RDIR = TMP + "/rspamd"         # ours: LOCAL_CONFDIR, run/, db/, log/
STARTUP_SECONDS = 180          # loading the rules and the TLD list takes a while
PROC = []

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def rspamd_write(milter_port, normal_port):
    """the configuration (tests/rspamd-conf.sh, shared with bench/milter-bench.sh)"""
    dns = os.environ.get("QMTA_TEST_DNS") or "127.0.0.1:%d" % free_port()
    r = run("sh", ROOT + "/tests/rspamd-conf.sh", RDIR, str(milter_port), str(normal_port), dns)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("tests/rspamd-conf.sh failed")


def answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def rspamd_start(milter_port, normal_port):
    log = open(RDIR + "/stderr", "w")
    PROC.append(subprocess.Popen(
        [RSPAMD, "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", RDIR + "/rspamd.conf",
         "--var", "CONFDIR=" + CONFDIR, "--var", "LOCAL_CONFDIR=" + RDIR,
         "--var", "RUNDIR=%s/run" % RDIR, "--var", "DBDIR=%s/db" % RDIR,
         "--var", "LOGDIR=%s/log" % RDIR],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log))
    log.close()
    up = wait_until(STARTUP_SECONDS, lambda: PROC[0].poll() is not None
                    or (answers(milter_port) and answers(normal_port)), 0.2)
    return up and PROC[0].poll() is None


def rspamd_log():
    for name in ("stderr", "log/rspamd.log"):
        try:
            with open("%s/%s" % (RDIR, name), errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines[-15:]:
            print("# %s: %s" % (name, line), flush=True)


def rspamd_stop():
    """SIGTERM to the main process, which stops its workers; whatever is
    left after 20 s is stopped and killed, top down"""
    for p in PROC:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for pid in freeze(p.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                p.wait()
    del PROC[:]


def session(port, body):
    """one message from a client outside: the last line of the reply to the
    end of data, or of the first command refused"""
    c = Client(port, timeout=120)
    try:
        for cmd, want in (("EHLO client.example", "250"), ("MAIL FROM:<ann@far.example>", "250"),
                          ("RCPT TO:<bob@test.example>", "250"), ("DATA", "354")):
            r = c.cmd(cmd)
            if not r or not r[-1].startswith(want):
                return "%s: %s" % (cmd.split()[0], r[-1] if r else "EOF")
        c.send(body.replace("\n", "\r\n").encode() + b".\r\n")
        r = c.reply()
        c.cmd("QUIT")
        return r[-1] if r else "EOF"
    finally:
        c.close()


def delivered(marker):
    for f in glob.glob(QHOME + "/mail/test.example/bob/new/*"):
        with open(f, "rb") as fh:
            t = fh.read().decode("latin-1")
        if marker in t:
            return t
    return None


def message(subject, marker, extra=""):
    return ("From: Ann <ann@far.example>\nTo: Bob <bob@test.example>\n"
            "Subject: %s\nDate: Sun, 6 Dec 2026 12:00:00 +0000\n"
            "Message-ID: <%s@far.example>\n\n"
            "Hello Bob,\n\nthe minutes of today's meeting follow.\n%s\n%s\n"
            % (subject, marker, extra, marker))


def main():
    if os.geteuid() != 0:
        tap_skip("rspamd through the milter client", "not root (rspamd's workers run as _rspamd)")
        return
    if not os.access(RSPAMD, os.X_OK):
        tap_skip("rspamd through the milter client", "rspamd is not installed (tools/deps.sh)")
        return

    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port)

    milter_port = free_port()
    normal_port = free_port()
    while normal_port == milter_port:
        normal_port = free_port()
    rspamd_write(milter_port, normal_port)
    if not ok(rspamd_start(milter_port, normal_port), "rspamd started and listens"):
        rspamd_log()
        bail("rspamd did not start")
    ctl_write("milters", "inet:127.0.0.1:%d default=tempfail timeout=60" % milter_port)
    inst_start()

    # GTUBE: rspamd's reject action with its own text, nothing delivered
    gtube = session(port, message("buy now", "marker-gtube", GTUBE))
    # a clean message: delivered, with rspamd's fields
    clean = session(port, message("minutes", "marker-clean"))
    t = wait_until(30, lambda: delivered("marker-clean")) or "" if clean.startswith("250") else ""
    head = "\n" + t.split("\n\n", 1)[0] + "\n"
    log = open(QHOME + "/log/smtp/current", errors="replace").read()

    tap_ok(gtube.startswith("554 5.7.1 Gtube pattern"),
           "GTUBE refused at the end of data with rspamd's reply", gtube)
    tap_ok(clean.startswith("250 2.0.0 ok: queued as"), "a clean message is queued", clean)
    tap_ok(t, "a clean message is delivered")
    qid = clean.split()[-1]
    tap_ok("\nX-Spamd-Result: default: False [" in head,
           "it carries rspamd's X-Spamd-Result (not spam)", head)
    tap_ok("\nX-Rspamd-Server: " in head and "\nX-Rspamd-Queue-Id: %s\n" % qid in head,
           "and X-Rspamd-Server, X-Rspamd-Queue-Id with our queue id", head)
    tap_ok("\nX-Rspamd-Action: no action\n" in head, "and X-Rspamd-Action: no action", head)
    ok(delivered("marker-gtube") is None, "the GTUBE message was not delivered")
    tap_ok("code=554 5.7.1 Gtube pattern" in log, "the refusal is logged with rspamd's text")
    if T["failed"]:
        for line in log.splitlines()[:4]:
            print("# smtp: " + line, flush=True)
        rspamd_log()


def cleanup():
    rspamd_stop()
    inst_stop()
    if os.environ.get("KEEP"):
        print("# kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


run_main(main, cleanup)
