#!/usr/bin/env python3
# DMARC (lib/dmarc) against an independent implementation: Debian's
# python3-authheaders (0.15.2 in Debian 12) on a corpus of messages, both
# asking the same fake DNS (tests/fakedns.py on 127.0.0.1; no network).
# For each message authheaders gets the SPF and DKIM verdicts as a previous
# Authentication-Results header (or, for the signed messages, verifies the
# DKIM signature itself with dkimpy), and our driver
# (tests/unit/dmarc_drive.bin) gets the same verdicts; the dmarc= results
# and the policy that applies must be the same.
#
# authheaders finds the organizational domain with the public suffix list
# (python3-publicsuffix2, Debian's list), we with RFC 9989's DNS tree walk:
# the corpus keeps to cases where the two agree (the From domain or its
# registered domain holds the record, no record between the two; an
# identifier's registered domain holds a record when relaxed alignment
# matters). Where they differ by design (tree walk records below the
# registered domain, psd=y) tests/unit/t_dmarc covers our side.
# Two known differences of authheaders 0.15.2, checked as such:
#  - a DNS failure (SERVFAIL) at _dmarc counts there as "no record"
#    (dmarc=none); RFC 9989 makes it temperror, and so do we;
#  - it applies sp= to the domain of the record itself too (RFC 9989: p=),
#    so the corpus gives sp= only to records used for subdomains;
#  - it reads a domain out of an address with the pattern [a-z0-9.]+, which
#    stops at a hyphen: the corpus has no hyphen in its domains.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

try:
    import dnslib  # noqa: F401 (fakedns needs it)
    import dkim
    import dns.resolver
    import authheaders
except ImportError as e:
    # Debian's modules belong to the system's python3, which may not be the
    # first python3 in PATH
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-authheaders, python3-dkim or python3-dnslib missing "
          "(make deps): %s" % e)
    sys.exit(0)
from dnslib import RCODE  # noqa: E402
import fakedns  # noqa: E402

DRIVER = os.path.join(ROOT, "tests/unit/dmarc_drive.bin")
AUTHSERV = "mx.test"
SELECTOR = "s1"

ZONE = {
    # a registered domain with p=reject, its hosts
    "_dmarc.example.com": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@example.com")],
    "example.com": [("A", "192.0.2.1")],
    "mail.example.com": [("A", "192.0.2.2")],
    # a subdomain with a record of its own
    "_dmarc.shop.example.com": [("TXT", "v=DMARC1; p=none")],
    "shop.example.com": [("A", "192.0.2.3")],
    # two DMARC records at a subdomain: the registered domain's is used
    "_dmarc.two.example.com": [("TXT", "v=DMARC1; p=none"), ("TXT", "v=DMARC1; p=quarantine")],
    "two.example.com": [("A", "192.0.2.4")],
    # p=none
    "_dmarc.example.org": [("TXT", "v=DMARC1; p=none")],
    # records for subdomains: sp= and np=
    "_dmarc.example.net": [("TXT", "v=DMARC1; p=reject; sp=quarantine; np=none")],
    "example.net": [("A", "192.0.2.5")],
    "www.example.net": [("A", "192.0.2.6")],
    "mx.example.net": [("MX", (10, "mail.example.com"))],
    # strict alignment
    "_dmarc.strictexample.com": [("TXT", "v=DMARC1; p=quarantine; adkim=s; aspf=s")],
    "www.strictexample.com": [("A", "192.0.2.7")],
    # no record anywhere: noneexample.com
    # two DMARC records at the registered domain: none
    "_dmarc.twoexample.com": [("TXT", "v=DMARC1; p=reject"), ("TXT", "v=DMARC1; p=none")],
    # a DMARC record among other TXT records
    "_dmarc.mixedexample.com": [("TXT", "v=spf1 -all"), ("TXT", "v=DMARC1; p=quarantine"),
                                 ("TXT", "something else")],
    # t=y (testing): the verdict is the same
    "_dmarc.testexample.com": [("TXT", "v=DMARC1; p=reject; t=y")],
    # no p= and no rua=: no DMARC
    "_dmarc.nopexample.com": [("TXT", "v=DMARC1; adkim=s")],
    # psd=n: the organizational domain says so itself
    "_dmarc.psdnexample.com": [("TXT", "v=DMARC1; p=reject; psd=n")],
    # odd spacing and case in the record
    "_dmarc.oddexample.com": [("TXT", "v=DMARC1 ;  P = Quarantine ;ASPF=s;; x-future=1")],
    # the DNS fails (SERVFAIL)
    "_dmarc.failexample.com": [("SERVFAIL",)],
    # another organization with a record, for unaligned identifiers
    "_dmarc.othersender.org": [("TXT", "v=DMARC1; p=none")],
}

# (name, From field, SPF (mailfrom, result) or None, DKIM: (d, result),
#  "sign:DOMAIN", "tamper:DOMAIN" or None, expected (result, policy) or None,
#  known difference: (ours, theirs) or None)
CORPUS = [
    ("aligned SPF, same domain", "a@example.com", ("b@example.com", "pass"), None),
    ("aligned DKIM, same domain", "a@example.com", None, ("example.com", "pass")),
    ("relaxed SPF, subdomain", "a@example.com", ("b@mail.example.com", "pass"), None),
    ("relaxed DKIM, subdomain", "a@example.com", None, ("mail.example.com", "pass")),
    ("unaligned SPF pass", "a@example.com", ("b@othersender.org", "pass"), None),
    ("unaligned DKIM pass", "a@example.com", None, ("othersender.org", "pass")),
    ("aligned SPF fail", "a@example.com", ("b@example.com", "fail"), None),
    ("aligned DKIM fail", "a@example.com", None, ("example.com", "fail")),
    ("aligned SPF softfail, unaligned DKIM pass", "a@example.com",
     ("b@example.com", "softfail"), ("othersender.org", "pass")),
    ("nothing authenticated", "a@example.com", None, None),
    ("upper-case From domain", "A@EXAMPLE.COM", None, ("example.com", "pass")),
    ("display name and comment", '"Jane, Doe" (team) <jane@example.com>', None,
     ("example.com", "pass")),
    ("p=none, aligned", "a@example.org", ("b@example.org", "pass"), None),
    ("p=none, unaligned", "a@example.org", ("b@example.com", "pass"), None),
    ("subdomain: sp=quarantine", "a@www.example.net", None, None),
    ("subdomain: relaxed pass", "a@www.example.net", None, ("example.net", "pass")),
    ("subdomain (MX only): sp=", "a@mx.example.net", ("b@mx.example.net", "fail"), None),
    ("non-existent subdomain: np=none", "a@ghost.example.net", None, None),
    ("non-existent subdomain, relaxed SPF pass", "a@ghost.example.net",
     ("b@example.net", "pass"), None),
    ("subdomain with its own record", "a@shop.example.com", None, None),
    ("subdomain with its own record, parent DKIM", "a@shop.example.com", None,
     ("example.com", "pass")),
    ("two records at a subdomain: the parent's", "a@two.example.com", None, None),
    ("two records at a subdomain, relaxed pass", "a@two.example.com",
     ("b@example.com", "pass"), None),
    ("strict DKIM: subdomain fails", "a@strictexample.com", None,
     ("mail.strictexample.com", "pass")),
    ("strict SPF: subdomain fails", "a@strictexample.com",
     ("b@mail.strictexample.com", "pass"), None),
    ("strict DKIM: same domain", "a@strictexample.com", None, ("strictexample.com", "pass")),
    ("strict, From subdomain, same d=", "a@www.strictexample.com", None,
     ("www.strictexample.com", "pass")),
    ("strict, From subdomain, parent d=", "a@www.strictexample.com", None,
     ("strictexample.com", "pass")),
    ("no record", "a@noneexample.com", ("b@noneexample.com", "pass"), None),
    ("no record, subdomain", "a@www.noneexample.com", None, ("noneexample.com", "pass")),
    ("two records: none", "a@twoexample.com", ("b@twoexample.com", "pass"), None),
    ("record among other TXT, pass", "a@mixedexample.com", None, ("mixedexample.com", "pass")),
    ("record among other TXT, fail", "a@mixedexample.com", None, None),
    ("t=y, fail", "a@testexample.com", None, None),
    ("t=y, pass", "a@testexample.com", ("b@testexample.com", "pass"), None),
    ("no p= and no rua=: none", "a@nopexample.com", None, ("nopexample.com", "pass")),
    ("psd=n, unaligned", "a@psdnexample.com", ("b@othersender.org", "pass"), None),
    ("psd=n, relaxed pass", "a@psdnexample.com", ("b@mail.psdnexample.com", "pass"), None),
    ("odd record syntax, strict SPF fails", "a@oddexample.com",
     ("b@mail.oddexample.com", "pass"), None),
    ("odd record syntax, relaxed DKIM passes", "a@oddexample.com", None,
     ("mail.oddexample.com", "pass")),
    ("signed by the From domain", "a@example.com", None, "sign:example.com"),
    ("signed by a subdomain", "a@example.com", None, "sign:mail.example.com"),
    ("signed by another domain", "a@example.com", None, "sign:othersender.org"),
    ("signed, then the body changed", "a@example.com", None, "tamper:example.com"),
]
# RFC 9989: a DNS failure is temperror; authheaders takes it for no record
KNOWN = [
    ("SERVFAIL at the record", "a@failexample.com", ("b@failexample.com", "pass"), None,
     ("temperror", "none")),
    ("SERVFAIL on the walk", "a@www.failexample.com", None, None, ("temperror", "none")),
]


def lookup(name, qtype, level=0):
    for e in ZONE_DATA.get(name, []):
        if e[0] == "SERVFAIL":
            return RCODE.SERVFAIL, []
    return ORIG_LOOKUP(name, qtype, level)


def make_key():
    key = TMP + "/dkim.key"
    run("openssl", "genrsa", "-out", key, "2048")
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    import base64
    with open(key, "rb") as f:
        return f.read(), base64.b64encode(der).decode("ascii")


def message(n, from_field):
    return ("From: %s\nTo: user@mx.test\nSubject: corpus %d\nDate: Sun, 06 Dec 2026 04:00:00 "
            "+0000\nMessage-ID: <%d@corpus.test>\n\nMessage %d of the DMARC corpus.\n"
            % (from_field, n, n, n)).encode("utf-8")


def theirs(msg, spf, dkimres, verify):
    prev = []
    if spf is not None:
        prev.append("spf=%s smtp.mailfrom=%s" % (spf[1], spf[0]))
    if dkimres is not None:
        prev.append("dkim=%s header.d=%s" % (dkimres[1], dkimres[0]))
    prev_hdr = ("Authentication-Results: %s; %s" % (AUTHSERV, "; ".join(prev))) if prev else None
    hdr = authheaders.authenticate_message(msg, AUTHSERV, prev=prev_hdr, spf=False, dkim=verify,
                                           dmarc=True)
    return hdr


def ours(msg, n, spf, dkims):
    path = "%s/msg%d" % (TMP, n)
    with open(path, "wb") as f:
        f.write(msg)
    args = [DRIVER, "-i", AUTHSERV]
    if spf is not None:
        args += ["-s", "%s:%s" % (spf[0].rpartition("@")[2], spf[1])]
    for d in dkims:
        args += ["-d", "%s:%s" % d]
    args.append(path)
    p = subprocess.run(args, cwd=TMP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        bail("driver: exit %d: %s: %s" % (p.returncode, args, p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8")


def main():
    global ZONE_DATA, ORIG_LOOKUP
    if not os.access(DRIVER, os.X_OK):
        bail("%s missing: run make" % DRIVER)

    keypem, pub = make_key()
    ZONE_DATA = dict(ZONE)
    for d in ("example.com", "mail.example.com", "othersender.org"):
        ZONE_DATA["%s._domainkey.%s" % (SELECTOR, d)] = [
            ("TXT", "v=DKIM1; k=rsa; p=" + pub)]
    ORIG_LOOKUP = fakedns.lookup
    fakedns.lookup = lookup
    fakedns.ZONE["data"] = ZONE_DATA
    port, _servers = fakedns.start_dns()
    os.makedirs(TMP + "/control", exist_ok=True)
    with open(TMP + "/control/resolvers", "w") as f:
        f.write("# the fake DNS of this test\n127.0.0.1:%d\n" % port)
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port
    res.lifetime = 5
    res.cache = None
    dns.resolver.default_resolver = res

    n = 0
    for case in CORPUS + KNOWN:
        name, from_field, spf, dk = case[:4]
        known = case[4] if len(case) > 4 else None
        n += 1
        msg = message(n, from_field)
        verify = False
        if isinstance(dk, str):
            how, _, domain = dk.partition(":")
            sig = dkim.sign(msg, SELECTOR.encode(), domain.encode(), keypem,
                            include_headers=[b"from", b"to", b"subject", b"date"])
            msg = sig + msg
            if how == "tamper":
                msg = msg.replace(b"Message %d" % n, b"Changed %d" % n)
            verify = True
            dk = None
        hdr = theirs(msg, spf, dk, verify)
        m = re.search(r"dmarc=(\w+)", hdr)
        their_result = m.group(1) if m else "?"
        m = re.search(r"policy\.dmarc=(\w+)", hdr)
        their_policy = m.group(1) if m else "-"
        dkims = []
        if verify:
            m = re.search(r"dkim=(\w+)[^;]*header\.d=([\w.-]+)", hdr)
            if not m:
                bail("%s: no dkim= in authheaders' header: %s" % (name, hdr))
            dkims.append((m.group(2), m.group(1)))
            if (how == "sign") != (m.group(1) == "pass"):
                ok(False, "%s: authheaders' DKIM verdict %s" % (name, m.group(1)))
        elif dk is not None:
            dkims.append(dk)
        out = ours(msg, n, spf, dkims)
        first = out.split("\n", 1)[0].split()
        our_result, our_policy = first[0], first[1]
        detail = "ours: %r\ntheirs: %r" % (out, hdr)
        if known is not None:
            ok(our_result == known[0] and their_result == known[1],
               "%s: ours %s, authheaders %s (known difference)" % (name, known[0], known[1]),
               detail)
            continue
        same = our_result == their_result
        if same and our_result in ("pass", "fail"):
            same = our_policy == their_policy
        ok(same, "%s: dmarc=%s policy=%s (authheaders: %s %s)"
           % (name, our_result, our_policy, their_result, their_policy), detail)

    # the header our driver writes for a plain case
    msg = message(999, "Jane <jane@example.com>")
    out = ours(msg, 999, ("b@example.com", "pass"), [("example.com", "pass")])
    is_(out, "pass reject example.com example.com\n"
        "Authentication-Results: mx.test;\n"
        "\tspf=pass smtp.mailfrom=example.com;\n"
        "\tdkim=pass header.d=example.com;\n"
        "\tdmarc=pass (p=reject) header.from=example.com policy.dmarc=reject\n",
        "the driver's Authentication-Results header")
    # two From fields: permerror (authheaders evaluates each instead)
    msg = b"From: a@example.com\nFrom: b@example.org\n\nx\n"
    out = ours(msg, 1000, None, [])
    ok(out.startswith("permerror - - -\n"), "two From fields: permerror", out)
    # the parsed header of ours reads back in authheaders' parser (authres)
    from authres import AuthenticationResultsHeader
    hdr_text = ours(message(1001, "a@www.example.net"), 1001, None,
                    [("example.net", "pass")]).split("\n", 1)[1]
    parsed = AuthenticationResultsHeader.parse(hdr_text.replace("\n", "\r\n").rstrip())
    got = sorted((r.method, r.result) for r in parsed.results)
    is_(got, [("dkim", "pass"), ("dmarc", "pass")], "our header parses with authres")


run_main(main)
