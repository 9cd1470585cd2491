#!/usr/bin/env python3
# qmtasts: an MTA-STS policy fetched over HTTPS from a small python3 server
# of our own on 127.0.0.1 (qmtasts -a), its certificate made by a test CA
# (qmtasts -C): a valid policy in its normal form, chunked or not; a
# certificate for another name, a redirect, another media type, a 404, a
# body over 64 KiB and a silent server all fail the fetch (111); a policy
# that is fetched but invalid is 100 (RFC 8461 3.3: no policy).
import os
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

TIMEOUT = 20
tmp = TMP
GOOD = b"version: STSv1\r\nmode: enforce\r\nmx: mx1.test.example\r\nmx: *.backup.test.example\r\nmax_age: 86400\r\n"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=TIMEOUT)


def make_ca():
    ca, cakey = os.path.join(tmp, "ca.pem"), os.path.join(tmp, "ca.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cakey, "-out", ca,
            "-days", "2", "-subj", "/CN=Test CA")
    return ca, cakey


def make_leaf(ca, cakey, name):
    key, csr, cert = (os.path.join(tmp, name + ext) for ext in (".key", ".csr", ".pem"))
    ext = os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % name)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", ext)
    return cert, key


class Server(threading.Thread):
    """answers one HTTPS request with raw bytes (None: never answers)"""

    def __init__(self, cert, key, answer):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.answer = answer
        self.request = b""
        self.sni = None
        self.ctx.sni_callback = lambda s, name, c: setattr(self, "sni", name)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.lsock.settimeout(TIMEOUT)
        self.port = self.lsock.getsockname()[1]
        self.done = threading.Event()
        self.start()

    def run(self):
        try:
            conn, _ = self.lsock.accept()
        except OSError:
            return
        conn.settimeout(TIMEOUT)
        try:
            s = self.ctx.wrap_socket(conn, server_side=True)
            while b"\r\n\r\n" not in self.request:
                d = s.recv(4096)
                if not d:
                    break
                self.request += d
            if self.answer is None:
                self.done.wait(TIMEOUT)
            else:
                s.sendall(self.answer)
            s.close()
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
            self.lsock.close()


def response(body, ctype=b"text/plain", status=b"200 OK", chunked=False, extra=b""):
    head = b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype + b"\r\n" + extra
    if chunked:
        out = b""
        for k in range(0, len(body), 7):
            part = body[k:k + 7]
            out += b"%x\r\n" % len(part) + part + b"\r\n"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + out + b"0\r\n\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def fetch(srv, ca, domain="test.example", timeout=None):
    args = ["qmtasts", "-C", ca, "-a", "127.0.0.1:%d" % srv.port]
    if timeout:
        args += ["-t", str(timeout)]
    r = subprocess.run(args + [domain], capture_output=True, text=True, timeout=TIMEOUT + 10)
    srv.done.set()
    srv.join(TIMEOUT)
    return r


def main():
    ca, cakey = make_ca()
    cert, key = make_leaf(ca, cakey, "mta-sts.test.example")
    other, okey = make_leaf(ca, cakey, "mta-sts.other.example")

    srv = Server(cert, key, response(GOOD))
    r = fetch(srv, ca)
    is_(r.returncode, 0, "a valid policy: exit 0")
    is_(r.stdout, "mode enforce\nmax_age 86400\nmx mx1.test.example\nmx *.backup.test.example\n",
        "the policy in normal form")
    ok(srv.request.startswith(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n") and
       b"\r\nHost: mta-sts.test.example\r\n" in srv.request, "GET the well-known path, Host header")
    is_(srv.sni, "mta-sts.test.example", "SNI is mta-sts.DOMAIN")

    srv = Server(cert, key, response(GOOD, chunked=True, ctype=b"text/plain; charset=utf-8"))
    r = fetch(srv, ca)
    ok(r.returncode == 0 and r.stdout.startswith("mode enforce\n"),
       "chunked, with a charset: the same policy", r.stderr)

    srv = Server(other, okey, response(GOOD))
    r = fetch(srv, ca)
    ok(r.returncode == 111 and "not valid" in r.stderr, "a certificate for another name: 111",
       r.stderr)

    srv = Server(cert, key, response(b"", status=b"301 Moved",
                                     extra=b"Location: https://elsewhere.example/\r\n"))
    r = fetch(srv, ca)
    ok(r.returncode == 111 and "HTTP status 301" in r.stderr, "a redirect is not followed: 111",
       r.stderr)

    srv = Server(cert, key, response(b"not found", status=b"404 Not Found"))
    ok(fetch(srv, ca).returncode == 111, "404: 111")

    srv = Server(cert, key, response(GOOD, ctype=b"text/html"))
    r = fetch(srv, ca)
    ok(r.returncode == 111 and "text/plain" in r.stderr, "text/html: 111", r.stderr)

    srv = Server(cert, key, response(GOOD + b"x: " + b"y" * 70000 + b"\r\n"))
    ok(fetch(srv, ca).returncode == 111, "a body over 64 KiB: 111")

    srv = Server(cert, key, response(b"version: STSv1\r\nmode: enforce\r\nmax_age: 1\r\n"))
    r = fetch(srv, ca)
    ok(r.returncode == 100 and "invalid policy: no mx pattern" in r.stderr,
       "enforce without mx: invalid, 100", r.stderr)

    srv = Server(cert, key, response(GOOD.replace(b"STSv1", b"STSv9")))
    is_(fetch(srv, ca).returncode, 100, "another version: 100")

    srv = Server(cert, key, None)
    r = fetch(srv, ca, timeout=2)
    ok(r.returncode == 111 and "timed out" in r.stderr, "a silent server: timed out, 111", r.stderr)

    for args, name in ((["-a", "127.0.0.1:1"], "no domain"),
                       (["-a", "nonsense", "test.example"], "a bad -a"),
                       (["bad/domain"], "a bad domain"), (["-x", "d"], "an unknown option")):
        r = subprocess.run(["qmtasts"] + args, capture_output=True, text=True, timeout=TIMEOUT)
        ok(r.returncode == 100 and "usage: qmtasts" in r.stderr, "usage: " + name, r.stderr)


run_main(main)
