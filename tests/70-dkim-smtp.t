#!/usr/bin/env python3
# DKIM, DMARC and Authentication-Results in the running system (qdkimd -s
# and -v behind qsmtpd and qinject), with a fake DNS on 127.0.0.1
# (tests/fakedns.py) and dkimpy (Debian's python3-dkim) as the other side:
#  - submission with AUTH: the message arrives with a DKIM-Signature that
#    dkimpy accepts with the key record qdkim-keygen printed, and with
#    "Authentication-Results: test.example; auth=pass smtp.auth=USER";
#  - port 25: a message dkimpy signed gets dkim=pass and dmarc=pass; a
#    tampered one dkim=fail and dmarc=fail, accepted under p=reject with
#    X-DMARC-Quarantine: yes; a forged A-R with our authserv-id is removed,
#    one with another id kept;
#  - control/dmarcreject: the tampered one is refused with 550 5.7.1 and
#    nothing is queued;
#  - signer down: 451 4.7.0 on submission; verifier down: accepted, logged;
#  - sendmail (qinject) mail is signed; qstats counts the verdicts.
import os
import subprocess
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


def main():
    import base64

    dnsport, servers = start_dns()
    port, sub, ours, theirs, their_key = dkim_instance(dnsport)
    ZONE["data"] = load_zone({
        "s1._domainkey.test.example": [{"TXT": ours}],
        "sel._domainkey.signer.example": [{"TXT": theirs}],
        "_dmarc.signer.example": [{"TXT": "v=DMARC1; p=reject"}],
        "signer.example": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"}],
        "_dmarc.rtest.example": [{"TXT": "v=DMARC1; p=reject; t=y"}],
        "rtest.example": [{"A": "192.0.2.2"}],
        "_dmarc.qtest.example": [{"TXT": "v=DMARC1; p=quarantine; t=y"}],
        "qtest.example": [{"A": "192.0.2.3"}],
    })
    inst_start()
    auth = base64.b64encode(b"\0bob@test.example\0bob pw").decode()
    try:
        # 1. submission: signed, and the A-R of the login
        msg = (b"From: Bob <bob@test.example>\nTo: bob@test.example\nSubject: signed\n"
               b"Date: Sun, 06 Dec 2026 04:00:00 +0000\nMessage-ID: <1@test.example>\n\n"
               b"hello, world\n")
        rep = send(sub, "bob@test.example", msg, auth=auth)
        ok(rep.startswith("250 "), "submission accepted", rep)
        data = fetch()
        sigs = fields(data, "DKIM-Signature")
        ok(len(sigs) == 1 and "d=test.example" in sigs[0] and "s=s1" in sigs[0],
           "one DKIM-Signature, d=test.example s=s1", header(data))
        ok(dkim.verify(wire_form(data), dnsfunc=dnsfunc), "dkimpy verifies our signature",
           header(data))
        ars = fields(data, "Authentication-Results")
        ok(ars and ars[0].replace(" ", "") == "test.example;auth=passsmtp.auth=bob@test.example",
           "A-R: auth=pass smtp.auth=bob@test.example", ars)

        # 2. port 25: dkimpy signs for signer.example
        inbound = (b"From: Ann <ann@signer.example>\r\nTo: bob@test.example\r\n"
                   b"Subject: from outside\r\nDate: Sun, 06 Dec 2026 04:00:00 +0000\r\n"
                   b"Message-ID: <2@signer.example>\r\n\r\nsigned body\r\n")
        sig = dkim.sign(inbound, b"sel", b"signer.example", their_key,
                        include_headers=[b"from", b"to", b"subject", b"date"])
        rep = send(port, "ann@signer.example", sig + inbound)
        ok(rep.startswith("250 "), "signed message accepted on port 25", rep)
        data = fetch()
        ars = fields(data, "Authentication-Results")
        ar = ars[0] if ars else ""
        ok(ar.startswith("test.example;") and "dkim=pass" in ar and
           "header.d=signer.example" in ar, "A-R: dkim=pass header.d=signer.example", ars)
        ok("dmarc=pass" in ar and "header.from=signer.example" in ar, "A-R: dmarc=pass", ar)
        ok("spf=fail" in ar, "A-R: spf=fail (the domain allows no host)", ar)
        ok(not fields(data, "X-DMARC-Quarantine"), "no quarantine mark", header(data))

        # 3. tampered: dkim=fail, dmarc=fail, accepted with the mark (no dmarcreject)
        rep = send(port, "ann@signer.example", sig + inbound.replace(b"signed body", b"changed"))
        ok(rep.startswith("250 "), "tampered message accepted without dmarcreject", rep)
        data = fetch()
        ar = (fields(data, "Authentication-Results") or [""])[0]
        ok("dkim=fail" in ar and "dmarc=fail" in ar, "tampered: dkim=fail dmarc=fail", ar)
        is_(fields(data, "X-DMARC-Quarantine"), ["yes"], "tampered: X-DMARC-Quarantine: yes")

        # 4. forged A-R fields: ours removed, another's kept
        forged = (b"Authentication-Results: test.example; dkim=pass header.d=bank.example\r\n"
                  b"Authentication-Results: (c) TEST.EXAMPLE;\r\n spf=pass\r\n"
                  b"Authentication-Results: other.example; dkim=pass header.d=x.example\r\n"
                  b"From: x@nowhere.example\r\nSubject: forged\r\n\r\nbody\r\n")
        rep = send(port, "x@nowhere.example", forged)
        data = fetch()
        ars = fields(data, "Authentication-Results")
        ok(len(ars) == 2 and ars[0].startswith("test.example;") and
           "bank.example" not in header(data) and ars[1].startswith("other.example;"),
           "forged A-R with our authserv-id removed (folded too), another kept", ars)

        # 5. dmarcreject: refused after DATA, nothing queued
        ctl_write("dmarcreject", "")
        rep = send(port, "ann@signer.example", sig + inbound.replace(b"signed body", b"changed"))
        ok(rep.startswith("550 5.7.1 "), "dmarcreject: 550 5.7.1", rep)
        ok(fetch(2) == b"", "dmarcreject: nothing delivered")
        ok(wait_until(5, lambda: "reject " in log("smtp") and "dmarc=fail action=reject"
                      in log("smtp")), "dmarcreject: logged with the verdicts")
        # 5b. t=y (RFC 9989): one level less; reject as quarantine, quarantine as none
        for dom, mark in (("rtest.example", ["yes"]), ("qtest.example", [])):
            m = ("From: x@%s\r\nTo: bob@test.example\r\nSubject: t=y\r\n\r\nbody\r\n" % dom).encode()
            rep = send(port, "x@%s" % dom, m)
            ok(rep.startswith("250 "), "t=y at %s: accepted with dmarcreject on" % dom, rep)
            data = fetch()
            ar = (fields(data, "Authentication-Results") or [""])[0]
            ok("dmarc=fail" in ar, "t=y at %s: dmarc=fail" % dom, ar)
            is_(fields(data, "X-DMARC-Quarantine"), mark, "t=y at %s: quarantine mark %s" % (dom, mark))
        os.unlink(QHOME + "/control/dmarcreject")

        # 6. signer down: submission deferred
        svc("dkimsign", "-d", False)
        rep = send(sub, "bob@test.example", msg, auth=auth)
        ok(rep.startswith("451 4.7.0 "), "signer down: 451 4.7.0", rep)
        svc("dkimsign", "-u", True)
        ok(fetch(2) == b"", "signer down: nothing delivered")

        # 7. verifier down: accepted without A-R, logged
        svc("dkimverify", "-d", False)
        rep = send(port, "ann@signer.example", sig + inbound)
        ok(rep.startswith("250 "), "verifier down: accepted", rep)
        data = fetch()
        ok(data != b"" and not fields(data, "Authentication-Results"),
           "verifier down: no A-R", header(data))
        ok("dkim=unavailable" in log("smtp"), "verifier down: logged")
        svc("dkimverify", "-u", True)

        # 8. sendmail: signed by qinject
        env = dict(os.environ, QHOME=QHOME)
        env.pop("TCPREMOTEIP", None)
        r = subprocess.run(["sendmail", "-f", "bob@test.example", "bob@test.example"],
                           input=msg, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        ok(r.returncode == 0, "sendmail accepted", r.stdout)
        data = fetch()
        ok(len(fields(data, "DKIM-Signature")) == 1 and
           dkim.verify(wire_form(data), dnsfunc=dnsfunc), "sendmail: signed, dkimpy verifies",
           header(data))

        # 8b. a delivery report qsend writes itself: signed too
        r = subprocess.run(["sendmail", "-f", "bob@test.example", "nosuchuser@test.example"],
                           input=msg, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        ok(r.returncode == 0, "sendmail to an unknown user accepted", r.stdout)
        data = fetch(30)
        ok(b"multipart/report" in data and len(fields(data, "DKIM-Signature")) == 1 and
           dkim.verify(wire_form(data), dnsfunc=dnsfunc),
           "the bounce qsend wrote: signed, dkimpy verifies", header(data))

        # 9. qstats counts the verdicts
        r = run("qstats", QHOME)
        out = r.stdout.decode()
        counts = {}
        for line in out.split("\n"):
            if ": " in line and "=" in line:
                m, words = line.split(": ", 1)
                counts[m] = dict(w.split("=", 1) for w in words.split())
        ok(counts.get("spf", {}).get("fail") == "4" and
           counts.get("dkim", {}).get("pass") == "1" and counts["dkim"].get("fail") == "2" and
           counts["dkim"].get("unavailable") == "1" and
           counts.get("dmarc", {}).get("pass") == "1" and counts["dmarc"].get("fail") == "4" and
           counts.get("dkimsign", {}).get("yes") == "1" and
           counts["dkimsign"].get("unavailable") == "1",
           "qstats counts spf, dkim, dmarc, signing", out)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


run_main(main)
