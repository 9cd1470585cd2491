#!/usr/bin/env python3
# The RFC 7208 test suite (the openspf.org suite as Debian's python3-spf
# ships it, rfc7208-tests.yml.gz) against qspf -b: each scenario's zone is
# served by a fake DNS on 127.0.0.1 (dnslib; UDP with TCP for truncated
# answers; TIMEOUT entries are never answered; a name under "error." too),
# emulating the suite's own driver: SPF records are also served as TXT
# unless the name has TXT records, "TXT: NONE" means none, one CNAME level
# comes with its target's records. Every case must give one of its
# accepted results, and a fail its expected explanation. Then qspf alone:
# an answer too big for UDP (TCP fallback), -e, usage. No network.
import gzip
import os
import select
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
TRY_MS = 300  # qspf's timeout per DNS try: a TIMEOUT costs two of them

# Cases that cannot pass, with the reason (reported as TODO, never skipped).
TODO = {}

try:
    import yaml
    import dnslib  # noqa: F401 (fakedns needs it)
except ImportError as e:
    # Debian's python3-dnslib and python3-yaml belong to the system's python3,
    # which may not be the first python3 in PATH
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dnslib or python3-yaml missing (make deps): %s" % e)
    sys.exit(0)
from fakedns import ZONE, load_zone, start_dns  # noqa: E402

if not os.path.exists(SUITE):
    print("1..0 # SKIP %s missing (make deps installs python3-spf)" % SUITE)
    sys.exit(0)

def readline(proc, seconds=30):
    r, _, _ = select.select([proc.stdout], [], [], seconds)
    if not r:
        return None
    return proc.stdout.readline().decode("utf-8", "replace")


def main():
    port, servers = start_dns()
    os.makedirs(QHOME + "/control", exist_ok=True)
    with open(QHOME + "/control/resolvers", "w") as f:
        f.write("# the fake DNS of this test\n127.0.0.1:%d\n" % port)
    with gzip.open(SUITE, "rb") as f:
        scenarios = list(yaml.safe_load_all(f))
    proc = subprocess.Popen(["qspf", "-b", "-t", str(TRY_MS), "-e", "DEFAULT"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    total = 0
    try:
        for sc in scenarios:
            ZONE["data"] = load_zone(sc.get("zonedata"))
            for name, case in sorted(sc["tests"].items()):
                total += 1
                want = case["result"]
                want = want if isinstance(want, list) else [want]
                line = "%s\t%s\t%s\n" % (case["host"], case.get("mailfrom", ""),
                                         case.get("helo", ""))
                proc.stdin.write(line.encode("utf-8"))
                proc.stdin.flush()
                got = readline(proc)
                if got is None:
                    bail("qspf gave no answer to %s" % name)
                result, _, exp = got.rstrip("\n").partition("\t")
                good = result in want
                if good and "explanation" in case and result == "fail":
                    good = exp == case["explanation"]
                title = "%s: %s" % (sc["description"], name)
                if name in TODO:
                    title += " # TODO " + TODO[name]
                ok(good, title, "got %s %r, want %s %r (%s)" % (
                    result, exp, want, case.get("explanation"), case.get("spec")))
        # an answer over 1232 bytes: truncated over UDP, whole over TCP
        ZONE["data"] = load_zone({"big.example.org": [{"TXT": "filler %02d " % i + "x" * 110}
                                                       for i in range(15)] +
                                  [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}]})
        r = run("qspf", "-t", str(TRY_MS), "192.0.2.7", "a@big.example.org", "h.example.org")
        is_(r.stdout.decode(), "pass\n", "a truncated answer is asked again over TCP")
        r = run("qspf", "-t", str(TRY_MS), "-e", "no", "198.51.100.1", "a@big.example.org",
                "h.example.org")
        is_(r.stdout.decode(), "fail\nno\n", "fail with the default explanation")
        r = run("qspf", "192.0.2.7", "a@big.example.org")
        ok(r.returncode == 100 and r.stdout.decode().startswith("qspf: fatal: usage:"),
           "usage: exit 100 with one line", r.stdout)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        for s in servers:
            s.shutdown()
            s.server_close()
    is_(total, 203, "every case of the suite ran")
    is_(proc.returncode, 0, "qspf -b exits 0 at the end of its input")


run_main(main)
