#!/usr/bin/env python3
# DKIM, DMARC and Authentication-Results when the listeners hand their
# mail to a QINJECT filter chain (a qmail-queue filter that adds a header
# and runs the instance's setgid qinject): qsmtpd tells the chain
# QMTA_DKIM and QMTA_DKIMREQ, qinject at its end does what qsmtpd does
# when it writes the queue itself (tests/70-dkim-smtp.t), checked with
# dkimpy (python3-dkim) and a fake DNS (tests/fakedns.py):
#  - submission with AUTH: signed (dkimpy verifies), the login's A-R once;
#  - a relay client (RELAY in control/access) on port 25: signed;
#  - port 25, signed by dkimpy: A-R with dkim=pass dmarc=pass, once; a
#    forged A-R with our authserv-id is gone;
#  - control/dmarcreject and a failing p=reject: 550 5.7.1, nothing delivered;
#  - signer down with control/dkim: 451 4.7.0 on submission, nothing queued;
#  - verifier down: accepted without A-R, qinject's warning logged;
#  - qstats counts the verdicts qinject logged.
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

try:
    import dnslib  # noqa: F401
    import dkim
except ImportError:
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dnslib or python3-dkim missing (make deps)")
    sys.exit(0)
from fakedns import ZONE, load_zone, start_dns  # noqa: E402
from dkimtest import dkim_instance, dnsfunc, fetch, fields, header, log, send, svc  # noqa: E402

FILTER = """#!/bin/sh
# a qmail-queue filter: one header field more, then the instance's qinject
# with the envelope on fd 1 as it came
{ printf 'X-Filtered: yes\\n'; exec cat; } | exec "$QHOME/bin/qinject"
"""


def set_qinject(service, prog):
    """QINJECT=prog in the run script of a listener, before its exec line"""
    path = QHOME + "/service/" + service + "/run"
    with open(path) as f:
        text = f.read()
    at = text.index("exec qlisten")
    with open(path, "w") as f:
        f.write(text[:at] + "QINJECT=%s\nexport QINJECT\n" % prog + text[at:])


def queue_empty():
    """no message file in queue/new or queue/mess"""
    for sub in ("new", "mess"):
        for _, _, files in os.walk(QHOME + "/queue/" + sub):
            if files:
                return False
    return True


def main():
    dnsport, servers = start_dns()
    port, sub, ours, theirs, their_key = dkim_instance(dnsport, "Connect:127.0.0.2 RELAY")
    ZONE["data"] = load_zone({
        "s1._domainkey.test.example": [{"TXT": ours}],
        "sel._domainkey.signer.example": [{"TXT": theirs}],
        "_dmarc.signer.example": [{"TXT": "v=DMARC1; p=reject"}],
        "signer.example": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"}],
    })
    filt = TMP + "/filter"
    with open(filt, "w") as f:
        f.write(FILTER)
    os.chmod(filt, 0o755)
    set_qinject("smtp", filt)
    set_qinject("submission", filt)
    inst_start()
    auth = base64.b64encode(b"\0bob@test.example\0bob pw").decode()
    try:
        # 1. submission through the chain: signed, the login's A-R once
        msg = (b"From: Bob <bob@test.example>\nTo: bob@test.example\nSubject: signed\n"
               b"Date: Sun, 06 Dec 2026 04:00:00 +0000\nMessage-ID: <1@test.example>\n\n"
               b"hello, world\n")
        rep = send(sub, "bob@test.example", msg, auth=auth)
        ok(rep.startswith("250 "), "submission accepted", rep)
        data = fetch()
        is_(fields(data, "X-Filtered"), ["yes"], "submission went through the filter")
        sigs = fields(data, "DKIM-Signature")
        ok(len(sigs) == 1 and "d=test.example" in sigs[0] and "s=s1" in sigs[0],
           "one DKIM-Signature, d=test.example s=s1", header(data))
        ok(dkim.verify(wire_form(data), dnsfunc=dnsfunc), "dkimpy verifies our signature",
           header(data))
        ars = fields(data, "Authentication-Results")
        ok(len(ars) == 1 and
           ars[0].replace(" ", "") == "test.example;auth=passsmtp.auth=bob@test.example",
           "one A-R: auth=pass smtp.auth=bob@test.example", ars)

        # 1b. a relay client on port 25 (access RELAY): signed, no A-R
        rep = send(port, "bob@test.example", msg.replace(b"<1@", b"<1b@"), src="127.0.0.2")
        ok(rep.startswith("250 "), "relay client accepted", rep)
        data = fetch()
        ok(len(fields(data, "DKIM-Signature")) == 1 and
           dkim.verify(wire_form(data), dnsfunc=dnsfunc) and
           not fields(data, "Authentication-Results"),
           "relay client: signed, dkimpy verifies, no A-R", header(data))

        # 2. port 25: signed by dkimpy, a forged A-R with our id on top
        inbound = (b"From: Ann <ann@signer.example>\r\nTo: bob@test.example\r\n"
                   b"Subject: from outside\r\nDate: Sun, 06 Dec 2026 04:00:00 +0000\r\n"
                   b"Message-ID: <2@signer.example>\r\n\r\nsigned body\r\n")
        sig = dkim.sign(inbound, b"sel", b"signer.example", their_key,
                        include_headers=[b"from", b"to", b"subject", b"date"])
        forged = b"Authentication-Results: test.example; dkim=pass header.d=bank.example\r\n"
        rep = send(port, "ann@signer.example", forged + sig + inbound)
        ok(rep.startswith("250 "), "signed message accepted on port 25", rep)
        data = fetch()
        is_(fields(data, "X-Filtered"), ["yes"], "port 25 went through the filter")
        ars = fields(data, "Authentication-Results")
        ar = ars[0] if ars else ""
        ok(len(ars) == 1 and ar.startswith("test.example;") and "dkim=pass" in ar and
           "header.d=signer.example" in ar, "one A-R: dkim=pass header.d=signer.example", ars)
        ok("dmarc=pass" in ar and "header.from=signer.example" in ar, "A-R: dmarc=pass", ar)
        ok("spf=fail" in ar, "A-R: spf=fail, qsmtpd's SPF result passed on", ar)
        ok("bank.example" not in header(data), "forged A-R with our authserv-id removed",
           header(data))
        ok(not fields(data, "DKIM-Signature")[1:], "port 25: not signed by us", header(data))
        ok(wait_until(5, lambda: "verified: spf=fail dkim=pass dmarc=pass" in log("smtp")),
           "qinject logged the verdicts")

        # 3. dmarcreject: refused after DATA with 550 5.7.1, nothing delivered
        ctl_write("dmarcreject", "")
        rep = send(port, "ann@signer.example", sig + inbound.replace(b"signed body", b"changed"))
        ok(rep.startswith("550 5.7.1 ") and "DMARC" in rep, "dmarcreject: 550 5.7.1", rep)
        ok(fetch(2) == b"", "dmarcreject: nothing delivered")
        ok(queue_empty(), "dmarcreject: nothing queued")
        os.unlink(QHOME + "/control/dmarcreject")
        # qstats counts qinject's verdicts (one passed, one refused)
        out = run("qstats", QHOME).stdout.decode()
        counts = {}
        for line in out.split("\n"):
            if ": " in line and "=" in line:
                m, words = line.split(": ", 1)
                counts[m] = dict(w.split("=", 1) for w in words.split())
        ok(counts.get("dkim", {}).get("pass") == "1" and counts["dkim"].get("fail") == "1" and
           counts.get("dmarc", {}).get("pass") == "1" and counts["dmarc"].get("fail") == "1",
           "qstats counts the verdicts qinject logged", out)

        # 4. signer down with control/dkim: 451 4.7.0, nothing queued
        svc("dkimsign", "-d", False)
        rep = send(sub, "bob@test.example", msg, auth=auth)
        ok(rep.startswith("451 4.7.0 "), "signer down: 451 4.7.0", rep)
        ok(queue_empty(), "signer down: nothing queued")
        svc("dkimsign", "-u", True)
        ok(fetch(2) == b"", "signer down: nothing delivered")

        # 5. verifier down: accepted without A-R, a warning
        svc("dkimverify", "-d", False)
        rep = send(port, "ann@signer.example", sig + inbound)
        ok(rep.startswith("250 "), "verifier down: accepted", rep)
        data = fetch()
        ok(data != b"" and not fields(data, "Authentication-Results"),
           "verifier down: no A-R", header(data))
        ok("queued without Authentication-Results" in log("smtp"), "verifier down: logged")
        svc("dkimverify", "-u", True)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


run_main(main)
