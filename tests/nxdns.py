#!/usr/bin/env python3
# A DNS server that knows no name: every query gets NXDOMAIN. The test
# instances' control/resolvers point at it (tools/runtests.sh starts one for
# the whole run and exports QMTA_TEST_DNS; lib.sh and qmtatest.py write it
# into each instance's control/resolvers unless the test wrote its own), so
# that SPF, DKIM and DMARC lookups and qremote's MX lookups end at once, the
# way a resolver ends them for names that do not exist, and nothing leaves
# the host. UDP on 127.0.0.1 only (an NXDOMAIN answer is never truncated).
# Prints the port on its first line; ends when its stdin closes.
# Python standard library only.
import os
import select
import socket
import sys


def reply(q):
    """the NXDOMAIN answer to query q, or None to stay silent"""
    if len(q) < 12 or q[2] & 0x80 or int.from_bytes(q[4:6], "big") != 1:
        return None
    i = 12
    while i < len(q) and q[i] != 0:
        if q[i] & 0xC0:
            return None
        i += 1 + q[i]
    end = i + 5  # the root label, QTYPE, QCLASS
    if end > len(q):
        return None
    flags = bytes([0x80 | (q[2] & 0x79) | 0x04, 0x80 | 3])  # QR, opcode, AA, RD; RA, NXDOMAIN
    return q[0:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:end]


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        r, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in r and not os.read(sys.stdin.fileno(), 512):
            return
        if s in r:
            q, peer = s.recvfrom(4096)
            a = reply(q)
            if a is not None:
                s.sendto(a, peer)


if __name__ == "__main__":
    main()
