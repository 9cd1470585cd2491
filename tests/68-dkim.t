#!/usr/bin/env python3
# DKIM (dkim/): qdkim and qdkim-keygen against independent implementations,
# offline.
# - The RFC 8463 Appendix A example (Ed25519 and RSA) and the RFC 6376
#   Appendix A example verify with their published key records (-K). The
#   RFC 6376 example as printed does not verify; tests/dkim/rfc6376.msg has
#   the two published errata applied (EID 3192: one space in "game. Are";
#   EID 4926: the b= continuation lines indented like the others).
# - qdkim-keygen writes the keys and prints records that qdkim -K reads;
#   in an instance made by qsetup (not started: nothing here needs its
#   services) its default directory is control/dkim.
# - opendkim-testmsg signs with rsa-sha1 (no option to change it): qdkim
#   gives that signature permerror (RFC 8301).
# - Messages that qdkim signs (RSA, Ed25519, both) verify under dkimpy
#   (Debian's python3-dkim, keys from a dnsfunc) and under
#   opendkim-testmsg (opendkim-tools). opendkim-testmsg has no option for
#   keys and asks the system resolver on port 53, so it runs in a network
#   and mount namespace of its own (unshare -n -m, root only): a fake DNS
#   on that namespace's 127.0.0.1:53 and a resolv.conf bound over
#   /etc/resolv.conf there alone. Without root that part is skipped.
# - Messages that dkimpy signs (RSA, Ed25519; simple and relaxed; with and
#   without l=; through its API and its dkimsign command) verify under
#   qdkim; a tampered header or body fails; the key record and signature
#   rules give their results (revoked key, t=y,
#   t=s, expired x=, i= outside d=, h= without From, rsa-sha1, a 512-bit
#   RSA key, no record, k= not a='s); dkimpy makes those signatures with
#   its own code, so only the rule can fail them.
# - Keys through DNS (lib/dnsq and tests/fakedns.py via control/resolvers):
#   a pass, and a key query never answered is a temperror (exit 111); -K's
#   TEMPFAIL gives the same without waiting.
import base64
import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

try:
    import dkim
    import nacl.signing  # noqa: F401 (dkimpy's Ed25519)
    import dnslib  # noqa: F401 (fakedns needs it)
except ImportError as e:
    # Debian's python3-dkim, -nacl and -dnslib belong to the system's python3
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dkim, python3-nacl or python3-dnslib missing (make deps): %s" % e)
    sys.exit(0)
from cryptography.hazmat.primitives import serialization  # noqa: E402 (dkimpy's dependency)
from fakedns import ZONE, load_zone, start_dns  # noqa: E402

DATA = os.path.join(ROOT, "tests", "dkim")
MSG = (b"From: Joe SixPack <joe@example.com>\n"
       b"To: Suzie Q <suzie@example.net>\n"
       b"Subject: Is   dinner\n\tready?\n"
       b"Date: Fri, 11 Jul 2003 21:00:37 -0700\n"
       b"Message-ID: <20030712040037.46341.5F8J@example.com>\n"
       b"\n"
       b"Hi.\n\nWe lost the game.  Are you hungry yet?  \n\nJoe.\n\n\n")


def in_netns(keysfile, msgfile):
    """Run by unshare in a namespace of its own: the fake DNS on
    127.0.0.1:53, a resolv.conf bound over /etc/resolv.conf (this
    namespace only), then opendkim-testmsg on msgfile; prints its status."""
    import socketserver
    import threading
    from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    conf = os.path.join(os.path.dirname(keysfile), "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    subprocess.run(["mount", "--bind", conf, "/etc/resolv.conf"], check=True)
    keys = {}
    for line in open(keysfile):
        name, rec = line.rstrip("\n").split(" ", 1)
        keys.setdefault(name.lower().rstrip("."), []).append(rec.encode())

    class UDP(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            q = DNSRecord.parse(data)
            name = str(q.q.qname).rstrip(".").lower()
            a = q.reply()
            if name not in keys:
                a.header.rcode = RCODE.NXDOMAIN
            for r in keys.get(name, []):
                a.add_answer(RR(q.q.qname, QTYPE.TXT, ttl=0,
                                rdata=TXT([r[i:i + 255] for i in range(0, len(r), 255)])))
            sock.sendto(a.pack(), self.client_address)

    srv = socketserver.UDPServer(("127.0.0.1", 53), UDP)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open(msgfile, "rb") as f:
        r = subprocess.run(["opendkim-testmsg"], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
    print("status %d %s" % (r.returncode, r.stdout.decode("utf-8", "replace").strip()))
    srv.shutdown()


if len(sys.argv) == 4 and sys.argv[1] == "--in-netns":
    in_netns(sys.argv[2], sys.argv[3])
    sys.exit(0)


def write(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def verify(msg, keys, *opts):
    """qdkim verify -K keys: (exit code, output lines)"""
    r = subprocess.run(["qdkim", "verify", "-K", keys] + list(opts), input=msg,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace").splitlines()


def records(path):
    """a -K file as name -> [record]"""
    out = {}
    for line in open(path):
        m = re.match(r'(\S+?)\.? (?:IN TXT )?(.*)$', line.rstrip("\n"))
        rec = "".join(re.findall(r'"([^"]*)"', m.group(2))) or m.group(2)
        out.setdefault(m.group(1).lower(), []).append(rec)
    return out


def dkimpy_verify(msg, keys):
    """dkimpy's verdict on each signature of msg, keys from records(); of
    two records at one name (RSA and Ed25519), each signature gets the one
    of its algorithm"""
    sigs = [v for n, v in dkim.DKIM(msg).headers if n.lower() == b"dkim-signature"]
    out = []
    for i, sig in enumerate(sigs):
        kind = "k=ed25519" if b"ed25519-sha256" in sig else "k=rsa"

        def dnsfunc(name, timeout=5, kind=kind):
            for rec in keys.get(name.decode().rstrip(".").lower(), []):
                if kind in rec:
                    return rec.encode()
            return None
        try:
            out.append(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc))
        except Exception as e:
            out.append("error: %s" % e)
    return out


def pem_private(path):
    return open(path, "rb").read()


def ed25519_seed_b64(path):
    k = serialization.load_pem_private_key(open(path, "rb").read(), None)
    raw = k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                          serialization.NoEncryption())
    return base64.b64encode(raw)


def dkimpy_sign(msg, selector, key, algo, canon=(b"relaxed", b"relaxed"), length=False,
                identity=None, headers=(b"from", b"to", b"subject", b"date")):
    return dkim.sign(msg, selector, b"example.com", key, identity=identity,
                     canonicalize=canon, signature_algorithm=algo, length=length,
                     include_headers=list(headers)) + msg


def dkimpy_raw(msg, selector, key, algo, fields, headers=(b"from", b"to", b"subject")):
    """a signature with exactly the tags given (dkimpy computes bh= and b=)"""
    d = dkim.DKIM(msg)
    d.signature_algorithm = algo
    d.hasher = dkim.HASH_ALGORITHMS[algo]
    if algo == b"ed25519-sha256":
        pk = nacl.signing.SigningKey(key, encoder=nacl.encoding.Base64Encoder)
    else:
        pk = dkim.parse_pem_private_key(key)
    policy = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    h = d.hasher()
    h.update(policy.canonicalize_body(d.body))
    tags = [(b"v", b"1"), (b"a", algo), (b"c", b"relaxed/relaxed"), (b"d", b"example.com"),
            (b"s", selector)] + fields + [(b"h", b":".join(headers)),
                                          (b"bh", base64.b64encode(h.digest())), (b"b", b"0" * 60)]
    tags = [t for t in tags if t[1] is not None]
    value = d.gen_header(tags, list(headers), policy, b"DKIM-Signature", pk)
    return b"DKIM-Signature: " + value + msg


def main():
    # the RFC examples, keys from -K files
    code, out = verify(open(DATA + "/rfc8463.msg", "rb").read(), DATA + "/rfc8463.keys")
    is_(out, ["dkim=pass header.d=football.example.com header.s=brisbane "
              "header.a=ed25519-sha256 header.b=/gCrinpc",
              "dkim=pass header.d=football.example.com header.s=test "
              "header.a=rsa-sha256 header.b=F45dVWDf"], "RFC 8463 A: Ed25519 and RSA pass")
    is_(code, 0, "RFC 8463 A: exit 0")
    code, out = verify(open(DATA + "/rfc6376.msg", "rb").read(), DATA + "/rfc6376.keys")
    is_(out, ["dkim=pass header.d=example.com header.s=brisbane header.a=rsa-sha256 "
              "header.b=AuUoFEfD"], "RFC 6376 A (errata 3192, 4926): pass")
    code, out = verify(open(DATA + "/rfc8463.msg", "rb").read().replace(b"Joe.", b"Jim."),
                       DATA + "/rfc8463.keys")
    ok(code == 1 and len(out) == 2 and all(x.startswith("dkim=fail") and "body hash" in x
                                           for x in out), "RFC 8463 A, body changed: fail", out)

    # qdkim-keygen
    kdir = os.path.join(TMP, "keys")
    os.makedirs(kdir)
    r = run("qdkim-keygen", "-C", kdir, "Example.COM", "s1")
    lines = r.stdout.decode().splitlines()
    is_(r.returncode, 0, "qdkim-keygen: exit 0")
    ok(len(lines) == 2 and
       lines[0].startswith('s1._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=')
       and lines[1].startswith('s1._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p='),
       "qdkim-keygen: an RSA and an Ed25519 record", lines)
    ok(all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', lines[0])) and
       len(re.findall(r'"([^"]*)"', lines[0])) == 2,
       "the RSA record in strings of 255 bytes at most")
    keysfile = write("keys.txt", r.stdout)
    kd = os.path.join(kdir, "example.com")
    is_(sorted(os.listdir(kd)), ["s1.ed25519", "s1.rsa", "selector"], "the key files and selector")
    is_(open(kd + "/selector").read(), "s1\n", "selector names s1")
    is_(stat.S_IMODE(os.stat(kd + "/s1.rsa").st_mode), 0o640, "key files are 0640")
    # the openssl commands of qdkim-keygen(8), THE RECORDS OF EXISTING KEYS
    for kind, tail in (("rsa", ""), ("ed25519", " | tail -c 32")):
        r = subprocess.run("openssl pkey -in example.com/s1.%s -pubout -outform DER%s | base64 -w0"
                           % (kind, tail), shell=True, cwd=kdir, stdout=subprocess.PIPE,
                           timeout=30)
        want = re.search(r"k=%s; p=(.*)$" % kind, "".join(
            x for x in re.findall(r'"([^"]*)"', "\n".join(l for l in lines if "k=%s;" % kind in l))))
        ok(want is not None and r.stdout.decode().strip() == want.group(1),
           "the page's openssl command prints the %s key's p= again" % kind, r.stdout)
    before = open(kd + "/s1.rsa", "rb").read()
    r = run("qdkim-keygen", "-C", kdir, "-t", "rsa", "example.com", "s1")
    ok(r.returncode == 100 and b"refusing to overwrite" in r.stdout and
       open(kd + "/s1.rsa", "rb").read() == before, "an existing key is never overwritten",
       r.stdout)
    r = run("qdkim-keygen", "-C", kdir, "-t", "ed25519", "example.com", "s2")
    ok(r.returncode == 0 and open(kd + "/selector").read() == "s1\n" and
       not os.path.exists(kd + "/s2.rsa"), "a second selector leaves selector alone", r.stdout)
    r = run("qdkim-keygen", "-C", kdir, "-b", "512", "example.com", "s3")
    is_(r.returncode, 100, "qdkim-keygen -b 512: refused")
    # in an instance: the default directory control/dkim under QHOME
    r = run("qsetup", QHOME)
    is_(r.returncode, 0, "qsetup")
    r = subprocess.run(["qdkim-keygen", "-t", "ed25519", "example.net", "s9"], cwd=QHOME,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    ok(r.returncode == 0 and os.path.isfile(QHOME + "/control/dkim/example.net/s9.ed25519") and
       open(QHOME + "/control/dkim/example.net/selector").read() == "s9\n",
       "qdkim-keygen in QHOME: control/dkim/example.net/", r.stdout)
    # elsewhere, QHOME names the instance
    env = dict(os.environ, QHOME=QHOME)
    r = subprocess.run(["qdkim-keygen", "-t", "ed25519", "example.org", "s8"], cwd="/",
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    ok(r.returncode == 0 and os.path.isfile(QHOME + "/control/dkim/example.org/s8.ed25519"),
       "qdkim-keygen elsewhere with QHOME: QHOME/control/dkim/example.org/", r.stdout)
    r = run("qdkim-keygen", "example.com")
    ok(r.returncode == 100 and r.stdout.decode().startswith("qdkim-keygen: fatal: usage:"),
       "qdkim-keygen: usage, exit 100", r.stdout)

    # qdkim sign: RSA, Ed25519, both; ours, dkimpy and opendkim verify
    keys = records(keysfile)
    msgfile = write("m.txt", MSG)
    r = run("qdkim", "sign", "-d", "example.com", "-s", "s1", "-k", kd + "/s1.rsa", "-m", msgfile)
    is_(r.returncode, 0, "qdkim sign RSA: exit 0")
    rsa_signed = r.stdout
    ok(re.search(rb"h=from:from:to:to:subject:subject:date:date:message-id:message-id:reply-to:cc:",
                 re.sub(rb"\s", b"", rsa_signed)) and b"c=relaxed/relaxed" in rsa_signed and
       b" l=" not in rsa_signed,
       "h= over-signs present and absent names, relaxed/relaxed, no l=", rsa_signed[:400])
    r = run("qdkim", "sign", "-d", "example.com", "-s", "s1", "-k", kd + "/s1.ed25519", "-m",
            write("rsa.txt", rsa_signed))
    both = r.stdout
    ed_signed = subprocess.run(["qdkim", "sign", "-d", "example.com", "-s", "s1", "-k",
                                kd + "/s1.ed25519", "-m", msgfile], stdout=subprocess.PIPE,
                               timeout=60).stdout
    code, out = verify(both, keysfile)
    ok(code == 0 and len(out) == 2 and all(x.startswith("dkim=pass") for x in out) and
       "header.a=ed25519-sha256" in out[0] and "header.a=rsa-sha256" in out[1],
       "dual signature: qdkim verifies both", out)
    is_(dkimpy_verify(rsa_signed, keys), [True], "dkimpy verifies our RSA signature")
    is_(dkimpy_verify(ed_signed, keys), [True], "dkimpy verifies our Ed25519 signature")
    is_(dkimpy_verify(both, keys), [True, True], "dkimpy verifies both of a dual signature")
    crlf = both.replace(b"\n", b"\r\n")
    is_(dkimpy_verify(crlf, keys), [True, True], "the same with CRLF line ends (dkimpy)")
    code, out = verify(crlf, keysfile)
    ok(code == 0 and len(out) == 2 and all(x.startswith("dkim=pass") for x in out),
       "the same with CRLF line ends (qdkim)", out)
    r = run("qdkim", "sign", "-d", "example.com", "-s", "s1", "-k", kd + "/s1.rsa", msgfile)
    ok(r.returncode == 0 and r.stdout.startswith(b"DKIM-Signature: ") and
       r.stdout.endswith(b"\n") and MSG not in r.stdout, "without -m: the header alone")

    if os.geteuid() == 0 and subprocess.run(["sh", "-c", "command -v unshare opendkim-testmsg"],
                                            stdout=subprocess.DEVNULL).returncode == 0:
        flat = write("flat.txt", "".join("%s %s\n" % (n, rec) for n, recs in keys.items()
                                         for rec in recs
                                         if "k=rsa" in rec).encode())
        flat_ed = write("flat-ed.txt", "".join("%s %s\n" % (n, rec) for n, recs in keys.items()
                                               for rec in recs
                                               if "k=ed25519" in rec).encode())
        for label, data, kf, want in (
                ("RSA", rsa_signed, flat, 0),
                ("Ed25519", ed_signed, flat_ed, 0),
                ("RSA, header changed", rsa_signed.replace(b"dinner", b"lunch"), flat, None)):
            r = subprocess.run(["unshare", "-n", "-m", sys.executable, os.path.abspath(sys.argv[0]),
                                "--in-netns", kf, write("od.txt", data)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            got = r.stdout.decode("utf-8", "replace")
            m = re.search(r"status (\d+)", got)
            if want is None:
                ok(m is not None and m.group(1) != "0", "opendkim-testmsg: %s fails" % label, got)
            else:
                ok(m is not None and int(m.group(1)) == want,
                   "opendkim-testmsg verifies our %s signature" % label, got)
    else:
        for label in ("RSA", "Ed25519", "RSA, header changed"):
            ok(True, "opendkim-testmsg %s # SKIP needs root (unshare) and opendkim-tools" % label)
    # opendkim-testmsg signs (the key file as qdkim-keygen wrote it) with
    # rsa-sha1, its fixed default, which qdkim must not accept (RFC 8301)
    r = subprocess.run(["opendkim-testmsg", "-d", "example.com", "-s", "s1", "-k",
                        kd + "/s1.rsa"], input=MSG, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    code, out = verify(r.stdout, keysfile)
    ok(r.returncode == 0 and b"a=rsa-sha1;" in r.stdout,
       "opendkim-testmsg signs with rsa-sha1", (r.stderr, r.stdout[:300]))
    ok(code == 1 and len(out) == 1 and out[0].startswith("dkim=permerror") and "RFC 8301" in out[0],
       "qdkim: the rsa-sha1 signature of opendkim-testmsg is a permerror", out)

    # dkimpy signs, qdkim verifies
    rsa_pem = pem_private(kd + "/s1.rsa")
    ed_seed = ed25519_seed_b64(kd + "/s1.ed25519")
    for algo, key in ((b"rsa-sha256", rsa_pem), (b"ed25519-sha256", ed_seed)):
        for canon in ((b"simple", b"simple"), (b"relaxed", b"relaxed"), (b"relaxed", b"simple"),
                      (b"simple", b"relaxed")):
            for length in (False, True):
                signed = dkimpy_sign(MSG, b"s1", key, algo, canon, length)
                code, out = verify(signed, keysfile)
                name = "dkimpy %s %s%s" % (algo.decode(), b"/".join(canon).decode(),
                                           " l=" if length else "")
                ok(code == 0 and len(out) == 1 and out[0].startswith("dkim=pass") and
                   (("l=" in out[0]) == length), name + ": pass", out)
                if algo == b"rsa-sha256" and canon == (b"simple", b"simple"):
                    code, out = verify(signed.replace(b"Subject: Is", b"Subject: Was"), keysfile)
                    ok(code == 1 and out[0].startswith("dkim=fail") and "signature" in out[0],
                       name + ", header changed: fail", out)
                    code, out = verify(signed.replace(b"hungry", b"thirsty"), keysfile)
                    ok(code == 1 and out[0].startswith("dkim=fail") and "body hash" in out[0],
                       name + ", body changed: fail", out)
                if length and canon == (b"relaxed", b"relaxed"):
                    code, out = verify(signed + b"Added below the signed part.\n", keysfile)
                    ok(code == 0 and out[0].startswith("dkim=pass") and "l=" in out[0],
                       name + ", text added after l=: pass, reported with l=", out)
    # the dkimsign command itself
    seedfile = write("ed.seed", ed_seed + b"\n")
    for alg, keyfile, canon in (("rsa-sha256", kd + "/s1.rsa", "simple"),
                                ("ed25519-sha256", seedfile, "relaxed")):
        r = subprocess.run(["dkimsign", "--signalg", alg, "--hcanon", canon, "--bcanon", canon,
                            "s1", "example.com", keyfile], input=MSG, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        code, out = verify(r.stdout, keysfile)
        ok(r.returncode == 0 and code == 0 and len(out) == 1 and out[0].startswith("dkim=pass"),
           "dkimsign %s %s/%s: pass" % (alg, canon, canon), (r.stdout[:200], out))
    code, out = verify(dkimpy_sign(MSG, b"s1", rsa_pem, b"rsa-sha256").replace(
        b"Subject: Is   dinner\n\tready?", b"Subject: Is dinner ready?"), keysfile)
    ok(code == 0, "relaxed headers: changed folding and spaces still pass", out)

    # signature and key record rules (dkimpy's signatures, cryptographically good)
    now = int(time.time())
    rules_keys = write("rules.txt", b"".join(
        b"%s._domainkey.example.com %s\n" % (sel, rec) for sel, rec in (
            (b"rsa", keys["s1._domainkey.example.com"][0].encode()),
            (b"ed", keys["s1._domainkey.example.com"][1].encode()),
            (b"revoked", b"v=DKIM1; k=rsa; p="),
            (b"testing", keys["s1._domainkey.example.com"][0].encode() + b"; t=y"),
            (b"strict", keys["s1._domainkey.example.com"][0].encode() + b"; t=s"),
            (b"other", keys["s1._domainkey.example.com"][0].encode() + b"; s=tlsrpt"),
            (b"sha1only", keys["s1._domainkey.example.com"][0].encode() + b"; h=sha1"),
            (b"temp", b"TEMPFAIL"))))
    r = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:512"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=60)
    short_pem = r.stdout
    short_pub = serialization.load_pem_private_key(short_pem, None).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(rules_keys, "ab") as f:
        f.write(b"short._domainkey.example.com v=DKIM1; k=rsa; p=%s\n" %
                base64.b64encode(short_pub))
    rsa = b"rsa-sha256"
    cases = [
        ("revoked key (empty p=)", dkimpy_raw(MSG, b"revoked", rsa_pem, rsa, []),
         "permerror", "revoked"),
        ("key record t=y", dkimpy_raw(MSG, b"testing", rsa_pem, rsa, []), "pass", "testing"),
        ("expired x=", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [
            (b"t", b"%d" % (now - 7200)), (b"x", b"%d" % (now - 3600))]), "permerror", "expired"),
        ("x= in the future", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [
            (b"t", b"%d" % now), (b"x", b"%d" % (now + 3600))]), "pass", None),
        ("i= outside d=", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [(b"i", b"@example.org")]),
         "permerror", "i= is not within d="),
        ("i= in a subdomain of d=", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [
            (b"i", b"joe@mail.example.com")]), "pass", None),
        ("i= in a subdomain, key t=s", dkimpy_raw(MSG, b"strict", rsa_pem, rsa, [
            (b"i", b"joe@mail.example.com")]), "permerror", "t=s"),
        ("i= equal to d=, key t=s", dkimpy_raw(MSG, b"strict", rsa_pem, rsa, [
            (b"i", b"joe@example.com")]), "pass", None),
        ("h= without From", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [], headers=(b"to", b"subject")),
         "permerror", "From"),
        ("rsa-sha1", dkimpy_raw(MSG, b"rsa", rsa_pem, b"rsa-sha1", []), "permerror", "RFC 8301"),
        ("RSA key of 512 bits", dkimpy_raw(MSG, b"short", short_pem, rsa, []), "permerror",
         "1024"),
        ("no key record", dkimpy_raw(MSG, b"nokey", rsa_pem, rsa, []), "permerror", "no key"),
        ("Ed25519 signature, RSA key", dkimpy_raw(MSG, b"rsa", ed_seed, b"ed25519-sha256", []),
         "permerror", "does not match"),
        ("Ed25519 signature, Ed25519 key", dkimpy_raw(MSG, b"ed", ed_seed, b"ed25519-sha256", []),
         "pass", None),
        ("key for another service (s=)", dkimpy_raw(MSG, b"other", rsa_pem, rsa, []),
         "permerror", "email"),
        ("key without sha256 (h=)", dkimpy_raw(MSG, b"sha1only", rsa_pem, rsa, []),
         "permerror", "sha256"),
        ("unknown q=", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, [(b"q", b"http/well-known")]),
         "permerror", "q="),
        ("v=2", dkimpy_raw(MSG, b"rsa", rsa_pem, rsa, []).replace(b"v=1;", b"v=2;", 1),
         "permerror", "version"),
        ("key lookup fails for now", dkimpy_raw(MSG, b"temp", rsa_pem, rsa, []), "temperror",
         "lookup"),
    ]
    for name, data, want, reason in cases:
        code, out = verify(data, rules_keys)
        good = len(out) == 1 and out[0].startswith("dkim=%s " % want) and \
            (reason is None or reason in out[0]) and \
            code == {"pass": 0, "temperror": 111}.get(want, 1)
        ok(good, "%s: %s" % (name, want), (code, out))
    code, out = verify(MSG, rules_keys)
    ok(code == 1 and out == ["dkim=none"], "no signature: dkim=none, exit 1", out)
    code, out = verify(dkimpy_raw(dkimpy_raw(MSG, b"temp", rsa_pem, rsa, []), b"rsa", rsa_pem,
                                  rsa, []), rules_keys)
    ok(code == 0 and len(out) == 2 and out[0].startswith("dkim=pass") and
       out[1].startswith("dkim=temperror"), "one pass and one temperror: exit 0", out)
    many = MSG
    for _ in range(12):
        many = dkimpy_raw(many, b"rsa", rsa_pem, rsa, [])
    code, out = verify(many, rules_keys)
    ok(code == 0 and len(out) == 10, "at most 10 signatures are checked", len(out))

    # keys through DNS: lib/dnsq asks the fake DNS named in control/resolvers
    port, servers = start_dns()
    try:
        os.makedirs(QHOME + "/control", exist_ok=True)
        with open(QHOME + "/control/resolvers", "w") as f:
            f.write("# the fake DNS of this test\n127.0.0.1:%d\n" % port)
        ZONE["data"] = load_zone({
            "s1._domainkey.example.com": [{"TXT": keys["s1._domainkey.example.com"][0]}],
            "ed._domainkey.example.com": [{"TXT": keys["s1._domainkey.example.com"][1]}],
            "slow._domainkey.example.com": ["TIMEOUT"]})
        for name, data, want, code_want in (
                ("RSA key from DNS", rsa_signed, "pass", 0),
                ("Ed25519 key from DNS", dkimpy_raw(MSG, b"ed", ed_seed, b"ed25519-sha256", []),
                 "pass", 0),
                ("no such key in DNS", dkimpy_raw(MSG, b"none", rsa_pem, rsa, []), "permerror", 1),
                ("DNS does not answer", dkimpy_raw(MSG, b"slow", rsa_pem, rsa, []), "temperror",
                 111)):
            r = subprocess.run(["qdkim", "verify", "-t", "300"], input=data, cwd=QHOME,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = r.stdout.decode().splitlines()
            ok(r.returncode == code_want and len(out) == 1 and out[0].startswith("dkim=" + want),
               "%s: %s" % (name, want), out)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()

    # usage
    for args in (["qdkim"], ["qdkim", "sign", "-d", "example.com"], ["qdkim", "verify", "-x"]):
        r = run(*args)
        ok(r.returncode == 100 and r.stdout.decode().startswith("qdkim: fatal: usage:"),
           "%s: usage, exit 100" % " ".join(args), r.stdout)
    r = run("qdkim", "sign", "-d", "example.com", "-s", "s1", "-k", msgfile, msgfile)
    ok(r.returncode == 100 and b"unable to load key" in r.stdout, "a key that is no key: exit 100",
       r.stdout)


run_main(main)
