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
import socketserver
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
TRY_MS = 300  # qspf's timeout per DNS try: a TIMEOUT costs two of them

# Cases that cannot pass, with the reason (reported as TODO, never skipped).
TODO = {}

try:
    import yaml
    from dnslib import A, AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, DNSRecord
except ImportError as e:
    # Debian's python3-dnslib and python3-yaml belong to the system's python3,
    # which may not be the first python3 in PATH
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dnslib or python3-yaml missing (make deps): %s" % e)
    sys.exit(0)
if not os.path.exists(SUITE):
    print("1..0 # SKIP %s missing (make deps installs python3-spf)" % SUITE)
    sys.exit(0)

ZONE = {"data": {}}


def txt_strings(v):
    parts = v if isinstance(v, list) else [v]
    out = []
    for p in parts:
        b = str(p).encode("utf-8")
        if not b:
            out.append(b"")
        while b:
            out.append(b[:255])
            b = b[255:]
    return out


def load_zone(zonedata):
    """name -> list of ("TIMEOUT",) or (type, value), as the suite's driver reads it"""
    zone = {}
    for name, entries in (zonedata or {}).items():
        recs = []
        gen = []
        has_txt = False
        for e in entries:
            if not isinstance(e, dict):
                recs.append(("TIMEOUT",))
                continue
            for t, v in e.items():
                if t == "TXT":
                    has_txt = True
                if t in ("TXT", "SPF"):
                    if v == "NONE":
                        continue
                    if t == "SPF":
                        gen.append(("TXT", v))
                if v == "TIMEOUT":
                    recs.append(("TIMEOUT", t))
                    continue
                recs.append((t, v))
        if not has_txt:
            recs.extend(gen)
        zone[str(name).lower().rstrip(".")] = recs
    return zone


def rdata(t, v):
    if t == "A":
        return QTYPE.A, A(v)
    if t == "AAAA":
        return QTYPE.AAAA, AAAA(v)
    if t == "MX":
        return QTYPE.MX, MX(str(v[1]), int(v[0]))
    if t == "PTR":
        return QTYPE.PTR, PTR(str(v))
    if t == "CNAME":
        return QTYPE.CNAME, CNAME(str(v))
    if t == "TXT":
        return QTYPE.TXT, TXT(txt_strings(v))
    if t == "SPF":
        return 99, TXT(txt_strings(v))
    return None, None


def lookup(name, qtype, level=0):
    """(rcode, [RR]) or None for no answer at all"""
    zone = ZONE["data"]
    if name not in zone:
        if name.startswith("error."):
            return None
        return RCODE.NXDOMAIN, []
    out = []
    seen = False
    for e in zone[name]:
        if e[0] == "TIMEOUT":
            if len(e) == 2:
                if QTYPE.get(e[1], 0) == qtype or (e[1] == "SPF" and qtype == 99):
                    return None
                continue
            if not seen:
                return None
            break
        t, v = e
        rt, rd = rdata(t, v)
        if rt is None:
            continue
        if rt == qtype:
            seen = True
            out.append(RR(name, rt, rdata=rd, ttl=0))
        elif rt == QTYPE.CNAME and level == 0:
            out.append(RR(name, rt, rdata=rd, ttl=0))
            sub = lookup(str(v).lower().rstrip("."), qtype, 1)
            if sub is None:
                return None
            out.extend(sub[1])
            seen = True
    return RCODE.NOERROR, out


def answer(data, limit):
    try:
        q = DNSRecord.parse(data)
    except Exception:
        return None
    qn = b".".join(q.q.qname.label).decode("utf-8", "replace").lower()
    res = lookup(qn, q.q.qtype)
    if res is None:
        return None
    reply = q.reply()
    reply.header.rcode = res[0]
    for rr in res[1]:
        reply.add_answer(rr)
    wire = reply.pack()
    if limit is not None and len(wire) > limit:
        reply = q.reply()
        reply.header.tc = 1
        wire = reply.pack()
    return wire


class UDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        wire = answer(data, 1232)
        if wire is not None:
            sock.sendto(wire, self.client_address)


class TCP(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(5)
        try:
            head = self.request.recv(2)
            n = struct.unpack("!H", head)[0]
            data = b""
            while len(data) < n:
                chunk = self.request.recv(n - len(data))
                if not chunk:
                    return
                data += chunk
            wire = answer(data, None)
            if wire is not None:
                self.request.sendall(struct.pack("!H", len(wire)) + wire)
        except (OSError, struct.error):
            pass


def start_dns():
    for _ in range(20):
        port = free_port()
        try:
            udp = socketserver.ThreadingUDPServer(("127.0.0.1", port), UDP)
        except OSError:
            continue
        try:
            tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), TCP)
        except OSError:
            udp.server_close()
            continue
        for s in (udp, tcp):
            s.daemon_threads = True
            threading.Thread(target=s.serve_forever, daemon=True).start()
        return port, (udp, tcp)
    bail("no free port for the fake DNS")


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
