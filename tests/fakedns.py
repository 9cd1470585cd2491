# A fake DNS for the SPF tests (tests/66-spf-suite.t, tests/67-spf-smtp.t):
# zone data in the form of the RFC 7208 suite's YAML, served on 127.0.0.1
# over UDP (answers over 1232 bytes truncated) and TCP; TIMEOUT entries and
# names under "error." are never answered. Needs Debian's python3-dnslib.
import socketserver
import struct
import threading

from dnslib import A, AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, DNSRecord

from qmtatest import bail, free_port

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
