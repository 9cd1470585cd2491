# Shared by the Python integration tests (tests/6x-*.t): TAP output, an
# instance in a temp dir under s6-svscan, free ports, bounded waits.
#   sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
#   from qmtatest import *
import glob
import os
import shutil
import socket
import ssl
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


def ok(cond, name):
    T["n"] += 1
    if not cond:
        T["failed"] += 1
    print("%sok %d - %s" % ("" if cond else "not ", T["n"], name), flush=True)
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


def inst_start():
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


def inst_stop():
    for p in SVSCAN:
        subprocess.run(["s6-svscanctl", "-t", QHOME + "/service"], stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    del SVSCAN[:]


def maildir_files(md):
    """unique name -> path, for the files in new/ and cur/"""
    files = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
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

