#!/usr/bin/env python3
"""authdns: a loopback DNS server for bench/auth-bench.sh (Python stdlib only).

    python3 bench/authdns.py ZONE PORTS STATS [TTL...]

Serves the records of ZONE over UDP on 127.0.0.1, one port per TTL given
(default: 0 and 300), and writes those ports to PORTS, one a line, in the
order of the TTLs, once it listens. ZONE holds lines in zone-file form, as
qdkim-keygen prints them:

    name. IN TXT "string" "string"...
    name. IN A 192.0.2.1

(several lines with one name and type are several records; '#' comments).
A name not in ZONE is NXDOMAIN, a known name without the type asked is
NOERROR without data; both carry an SOA whose minimum is the port's TTL
(RFC 2308), so a negative answer is cached as long as a positive one. An
EDNS0 query gets an OPT record back; an answer over the client's payload
size (512 bytes without EDNS0) is truncated (TC), which the benchmark's
records never are. On SIGUSR1 it writes STATS (atomically): "total N",
then "N NAME TYPE" for each name and type asked since it started.
SIGTERM ends it. It answers from memory, one packet at a time: no
recursion, nothing leaves the machine.
"""
import os
import select
import signal
import socket
import struct
import sys

TYPES = {"A": 1, "SOA": 6, "TXT": 16, "OPT": 41}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
SOA_NAME = "bench.example"


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        b = label.encode("ascii")
        if not b or len(b) > 63:
            raise ValueError("bad name %r" % name)
        out += bytes([len(b)]) + b
    return out + b"\0"


def txt_rdata(strings):
    out = b""
    for s in strings:
        b = s.encode("ascii")
        while True:  # strings over 255 bytes are cut, as a zone file may not hold them
            out += bytes([min(len(b), 255)]) + b[:255]
            b = b[255:]
            if not b:
                break
    return out


def parse_strings(text):
    """the quoted strings of a TXT line"""
    out = []
    i = 0
    while i < len(text):
        if text[i] != '"':
            i += 1
            continue
        j = i + 1
        s = ""
        while j < len(text) and text[j] != '"':
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
            s += text[j]
            j += 1
        out.append(s)
        i = j + 1
    return out


def load_zone(path):
    zone = {}
    for line in open(path, encoding="ascii"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(None, 3)
        if len(f) < 4 or f[1].upper() != "IN":
            raise ValueError("bad zone line: %s" % line)
        name, rtype, rest = f[0].lower().rstrip("."), f[2].upper(), f[3]
        if rtype == "TXT":
            rdata = txt_rdata(parse_strings(rest))
        elif rtype == "A":
            rdata = socket.inet_aton(rest.strip())
        else:
            raise ValueError("type not served: %s" % rtype)
        zone.setdefault(name, {}).setdefault(TYPES[rtype], []).append(rdata)
    return zone


def read_question(data):
    """(id, flags, qname, qtype, end of question, payload) or None"""
    if len(data) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    if flags & 0x8000 or qd != 1:
        return None
    pos = 12
    labels = []
    while True:
        if pos >= len(data):
            return None
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(data):
            return None
        labels.append(data[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    pos += 4
    payload = 512
    # the OPT record, if any, is the first additional record (no answers in a query)
    if ar >= 1 and an == 0 and ns == 0 and pos + 11 <= len(data) and data[pos] == 0:
        otype, osize = struct.unpack("!HH", data[pos + 1:pos + 5])
        if otype == TYPES["OPT"]:
            payload = max(512, osize)
    return qid, flags, ".".join(labels), qtype, pos, payload, ar >= 1


def rr(name_ptr, rtype, ttl, rdata):
    return name_ptr + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def answer(zone, data, ttl, counts):
    q = read_question(data)
    if q is None:
        return None
    qid, qflags, qname, qtype, qend, payload, edns = q
    counts[(qname, qtype)] = counts.get((qname, qtype), 0) + 1
    question = data[12:qend]
    ptr = b"\xc0\x0c"  # the name of the question
    answers = []
    auth = []
    rcode = 0
    records = zone.get(qname)
    if records is None:
        rcode = 3
    else:
        answers = [rr(ptr, qtype, ttl, d) for d in records.get(qtype, [])]
    if not answers:
        soa = (wire_name("ns." + SOA_NAME) + wire_name("hostmaster." + SOA_NAME) +
               struct.pack("!IIIII", 1, 3600, 600, 86400, ttl))
        auth = [rr(wire_name(SOA_NAME), TYPES["SOA"], ttl, soa)]
    opt = [b"\0" + struct.pack("!HHIH", TYPES["OPT"], 1232, 0, 0)] if edns else []
    flags = 0x8000 | 0x0400 | (qflags & 0x0100) | rcode  # QR AA, RD echoed
    head = struct.pack("!HHHHHH", qid, flags, 1, len(answers), len(auth), len(opt))
    wire = head + question + b"".join(answers) + b"".join(auth) + b"".join(opt)
    if len(wire) > payload:
        head = struct.pack("!HHHHHH", qid, flags | 0x0200, 1, 0, 0, len(opt))
        wire = head + question + b"".join(opt)
    return wire


def main():
    if len(sys.argv) < 4:
        print("authdns: usage: authdns.py ZONE PORTS STATS [TTL...]", file=sys.stderr)
        sys.exit(100)
    zone = load_zone(sys.argv[1])
    ttls = [int(t) for t in sys.argv[4:]] or [0, 300]
    counts = {}
    socks = {}
    for ttl in ttls:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks[s] = ttl
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        for s in socks:
            f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, sys.argv[2])

    def dump(signum, frame):
        tmp = sys.argv[3] + ".tmp"
        with open(tmp, "w") as f:
            f.write("total %d\n" % sum(counts.values()))
            for (name, t), n in sorted(counts.items()):
                f.write("%d %s %s\n" % (n, name, TYPE_NAMES.get(t, str(t))))
        os.rename(tmp, sys.argv[3])

    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            try:
                data, peer = s.recvfrom(4096)
            except OSError:
                continue
            wire = answer(zone, data, socks[s], counts)
            if wire is not None:
                s.sendto(wire, peer)


if __name__ == "__main__":
    main()
