#!/usr/bin/env python3
# SPF in qsmtpd at MAIL FROM, over SMTP, with a fake DNS on 127.0.0.1
# (tests/fakedns.py; control/resolvers points qsmtpd at it):
#  - SPF on (the default), record only: a pass, a fail, the null path (HELO
#    identity) each get a Received-SPF: field above Received:, nothing refused;
#  - control/spfreject: fail refused with 550 5.7.23 and the domain's
#    explanation, temperror deferred with 451 4.7.24, pass accepted;
#  - with control/nospf: no field.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

try:
    import dnslib  # noqa: F401
except ImportError:
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dnslib missing (make deps)")
    sys.exit(0)
from fakedns import ZONE, load_zone, start_dns  # noqa: E402

ZONEDATA = {
    "good.example": [{"TXT": "v=spf1 ip4:127.0.0.0/8 -all"}],
    "bad.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all exp=why.bad.example"}],
    "why.bad.example": [{"TXT": "%{i} may not send for %{d}"}],
    "slow.example": ["TIMEOUT"],
    "helo.example": [{"TXT": "v=spf1 a -all"}, {"A": "127.0.0.1"}],
}


def session(port, helo, sender):
    c = Client(port)
    c.cmd("EHLO " + helo)
    code = c.code("MAIL FROM:<%s>" % sender)
    if not code.startswith("250"):
        c.close()
        return code, c
    c.code("RCPT TO:<bob@test.example>")
    c.code("DATA")
    c.send(b"Subject: spf\r\n\r\nhello\r\n.\r\n")
    code = c.reply()
    c.cmd("QUIT")
    c.close()
    return code[-1][:3] if code else "EOF", c


def newest_header(md):
    files = list(wait_until(10, lambda: maildir_files(md)).values())
    if not files:
        return ""
    latest = max(files, key=os.path.getmtime)
    with open(latest, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    for old in files:
        os.unlink(old)
    head = data.split("\n\n", 1)[0].split("\n")
    # the Received-SPF: line, which must stand right above qsmtpd's Received:
    for i, line in enumerate(head):
        if line.startswith("Received-SPF:"):
            above = i + 1 < len(head) and head[i + 1].startswith("Received: from ")
            return line + ("\n" if above else " (not above Received: from)")
    return "\n".join(head)


def main():
    dnsport, servers = start_dns()
    ZONE["data"] = load_zone(ZONEDATA)
    port = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port)
    if r.returncode != 0:
        bail("qsetup failed: %s" % r.stdout)
    with open(QHOME + "/control/users", "a") as f:
        f.write("bob@test.example:!\n")
    ctl_write("resolvers", "127.0.0.1:%d" % dnsport)
    ctl_write("nospf", "")
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    inst_start()
    md = QHOME + "/mail/test.example/bob"
    try:
        session(port, "client.example", "a@good.example")
        h = newest_header(md)
        ok("Received-SPF" not in h, "with control/nospf: no Received-SPF", h)

        os.unlink(QHOME + "/control/nospf")
        session(port, "client.example", "a@good.example")
        h = newest_header(md)
        ok(h.startswith("Received-SPF: pass (test.example) client-ip=127.0.0.1; "
                        'envelope-from="a@good.example"; helo="client.example"; '
                        "receiver=test.example; identity=mailfrom\n"),
           "pass recorded right above Received:", h)
        code, _ = session(port, "client.example", "a@bad.example")
        h = newest_header(md)
        ok(code == "250" and h.startswith("Received-SPF: fail "), "record only: fail accepted", h)
        session(port, "helo.example", "")
        h = newest_header(md)
        ok(h.startswith("Received-SPF: pass ") and h.endswith("identity=helo\n"),
           "null path: the HELO identity", h)

        ctl_write("spfreject", "")
        c = Client(port)
        c.cmd("EHLO client.example")
        c.send(b"MAIL FROM:<a@bad.example>\r\n")
        rep = c.reply()[-1]
        is_(rep, "550 5.7.23 SPF fail: 127.0.0.1 may not send for bad.example",
            "spfreject: fail refused with the explanation")
        c.send(b"MAIL FROM:<a@slow.example>\r\n")
        rep = c.reply()[-1]
        ok(rep.startswith("451 4.7.24 "), "spfreject: temperror deferred", rep)
        is_(c.code("MAIL FROM:<a@good.example>"), "250 2.1.0", "spfreject: pass accepted")
        c.cmd("QUIT")
        c.close()
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


run_main(main)
