#!/usr/bin/env python3
# Authentication-Results of a live instance against an independent
# implementation: 35 messages through port 25 of a qsetup instance (qsmtpd's
# SPF, qdkimd -v's DKIM and DMARC), and the same messages through Debian's
# python3-authheaders (pyspf, dkimpy and its DMARC code), both asking the
# same fake DNS (tests/fakedns.py on 127.0.0.1, no network). For every
# message the per-method results of our A-R field (spf=, dkim=, dmarc=) must
# equal authheaders'.
# The corpus: seven From domains (DMARC p=reject, quarantine, none, no
# record; SPF pass, fail, softfail, none), each sent five ways: SPF aligned
# and unsigned, a third party's SPF with the From domain's signature,
# aligned SPF with that signature broken, a third party's SPF and
# signature (nothing aligned), relaxed SPF alignment from a subdomain.
# Like tests/69 it keeps to cases where authheaders' public suffix list and
# RFC 9989's tree walk agree (registered domains under .com .org .net).
# One known difference of authheaders 0.15.2, checked as such: a message
# without a DKIM-Signature gets dkim=fail there (check_dkim takes dkimpy's
# False for a failure); RFC 8601 2.7.1 says none, and so do we.
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

try:
    import dnslib  # noqa: F401
    import dkim
    import dns.resolver
    import authheaders
except ImportError as e:
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-authheaders, python3-dkim or python3-dnslib missing "
          "(make deps): %s" % e)
    sys.exit(0)
from fakedns import ZONE, load_zone, start_dns  # noqa: E402

MD = QHOME + "/mail/test.example/bob"
SPF_PASS = "v=spf1 ip4:127.0.0.0/8 -all"
# From domain -> (its SPF record or None, its DMARC record or None)
DOMAINS = {
    "rejpass.com": (SPF_PASS, "v=DMARC1; p=reject"),
    "rejfail.com": ("v=spf1 -all", "v=DMARC1; p=reject"),
    "quarpass.com": (SPF_PASS, "v=DMARC1; p=quarantine"),
    "quarsoft.com": ("v=spf1 ~all", "v=DMARC1; p=quarantine"),
    "nonepass.org": (SPF_PASS, "v=DMARC1; p=none"),
    "nodmarc.net": (SPF_PASS, None),
    "nospf.net": (None, "v=DMARC1; p=reject"),
}
THIRD = "thirdparty.org"


def keygen():
    r = subprocess.run(["qdkim-keygen", "-t", "rsa", "-C", TMP + "/keys", "thirdparty.org", "s1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        bail("qdkim-keygen failed: %s" % r.stdout)
    line = r.stdout.decode().strip().split("\n")[-1]
    with open(TMP + "/keys/thirdparty.org/s1.rsa", "rb") as f:
        return f.read(), "".join(line.split('"')[1::2])


def zone(record):
    z = {THIRD: [{"TXT": SPF_PASS}, {"A": "192.0.2.9"}],
         "_dmarc." + THIRD: [{"TXT": "v=DMARC1; p=none"}],
         "s1._domainkey." + THIRD: [{"TXT": record}]}
    for d, (spf, dmarc) in DOMAINS.items():
        z[d] = [{"A": "192.0.2.1"}] + ([{"TXT": spf}] if spf else [])
        z["bounce." + d] = [{"A": "192.0.2.2"}, {"TXT": SPF_PASS}]
        if dmarc:
            z["_dmarc." + d] = [{"TXT": dmarc}]
        z["s1._domainkey." + d] = [{"TXT": record}]
    return z


def corpus(key):
    """(name, MAIL FROM, message bytes with CRLF)"""
    out = []
    n = 0
    for d in DOMAINS:
        for way in ("aligned SPF, unsigned", "third-party SPF, signed by From",
                    "aligned SPF, signature broken", "third-party SPF and signature",
                    "subdomain SPF, unsigned"):
            n += 1
            msg = ("From: Someone <someone@%s>\r\nTo: bob@test.example\r\nSubject: corpus %d\r\n"
                   "Date: Sun, 06 Dec 2026 04:00:00 +0000\r\nMessage-ID: <%d@corpus.test>\r\n"
                   "\r\nMessage %d of the corpus.\r\n" % (d, n, n, n)).encode()
            mailfrom = "bounce@" + d
            signer = None
            if way.startswith("third-party"):
                mailfrom = "bounce@" + THIRD
            if way.startswith("subdomain"):
                mailfrom = "x@bounce." + d
            if "signed by From" in way or "broken" in way:
                signer = d
            if "and signature" in way:
                signer = THIRD
            if signer is not None:
                msg = dkim.sign(msg, b"s1", signer.encode(), key,
                                include_headers=[b"from", b"to", b"subject", b"date"]) + msg
            if "broken" in way:
                msg = msg.replace(b"Message %d of" % n, b"Message %d in" % n)
            out.append(("%s, %s" % (d, way), mailfrom, msg))
    return out


def send(port, mailfrom, msg):
    c = Client(port)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<%s>" % mailfrom)
    c.cmd("RCPT TO:<bob@test.example>")
    c.cmd("DATA")
    c.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    r = c.reply()
    c.cmd("QUIT")
    c.close()
    return r[-1] if r else "EOF"


def fetch():
    files = wait_until(10, lambda: maildir_files(MD))
    if not files:
        return ""
    path = list(files.values())[0]
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data.decode("utf-8", "replace")


def our_ar(data):
    """our A-R field (the first one), unfolded"""
    lines = data.split("\n\n", 1)[0].split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Authentication-Results:"):
            field = line
            for cont in lines[i + 1:]:
                if cont[:1] not in (" ", "\t"):
                    break
                field += " " + cont.strip()
            return field
    return ""


def results(field):
    """{method: result} of the first result of each method"""
    got = {}
    for m in re.finditer(r"(?:;|^)\s*(spf|dkim|dmarc)=(\w+)", field.split(":", 1)[-1]):
        got.setdefault(m.group(1), m.group(2))
    return got


def main():
    dnsport, servers = start_dns()
    port = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port)
    if r.returncode != 0:
        bail("qsetup failed: %s" % r.stdout)
    with open(QHOME + "/control/users", "a") as f:
        f.write("bob@test.example:!\n")
    if run("qnewmaps", QHOME).returncode != 0:
        bail("qnewmaps failed")
    ctl_write("resolvers", "127.0.0.1:%d" % dnsport)
    key, record = keygen()
    ZONE["data"] = load_zone(zone(record))
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = dnsport
    res.lifetime = 5
    res.cache = None
    dns.resolver.default_resolver = res
    inst_start()
    try:
        for name, mailfrom, msg in corpus(key):
            rep = send(port, mailfrom, msg)
            data = fetch() if rep.startswith("250") else ""
            ours = results(our_ar(data))
            hdr = authheaders.authenticate_message(msg, "test.example", ip="127.0.0.1",
                                                   mail_from=mailfrom, helo="client.example",
                                                   spf=True, dkim=True, dmarc=True)
            theirs = results(hdr)
            known = ""
            if b"DKIM-Signature:" not in msg and ours.get("dkim") == "none" and \
                    theirs.get("dkim") == "fail":
                theirs["dkim"] = "none"
                known = " (authheaders: dkim=fail, known difference)"
            ok(rep.startswith("250") and set(ours) == {"spf", "dkim", "dmarc"} and ours == theirs,
               "%s: spf=%s dkim=%s dmarc=%s%s" % (name, ours.get("spf"), ours.get("dkim"),
                                                  ours.get("dmarc"), known),
               "reply: %s\nours:   %s\ntheirs: %s" % (rep, our_ar(data), hdr))
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


run_main(main)
