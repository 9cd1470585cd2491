#!/usr/bin/env python3
# 36-qtls-client: qtls-client as qremote runs it (fd 3 the network socket,
# fd 0 one end of a socket pair), against small python3 ssl servers of our
# own and against qtlsd (an "I" request for the other end of a socket
# pair, lib/tlsd.h): the status line and its format, SNI, -v with
# the system store (a self-signed server fails), with -C and the right or
# a wrong -h, failed and timed-out handshakes, bulk data with half-close.
# Loopback only; every wait is bounded; only our own processes are stopped.
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 and 1.1 are used on purpose

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ['PATH'] = os.pathsep.join([os.path.join(ROOT, 'bin'), os.path.join(ROOT, 'qtls'),
                                      os.environ.get('PATH', '')])
CLIENT = shutil.which('qtls-client')
QTLSD = shutil.which('qtlsd')
TIMEOUT = 20
STATUS_Y = re.compile(r'Y (TLSv1\.[23]) ([A-Za-z0-9._-]{1,64}) '
                      r'(verified|unverified|dane-ee|dane-ta) ([!-~]{1,200})\n$')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import T, TMP, tap_ok as ok  # noqa: E402
os.environ.pop('QHOME', None)  # set by qmtatest; this test sets its own where it needs one


tmp = TMP
started = []
peers = []


def cleanup():
    for peer in peers:
        peer.stop.set()
        peer.lsock.close()
        peer.join(5)
    for p in started:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if os.environ.get('KEEP'):
        print('# kept ' + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def make_cert(name, cn):
    cert = os.path.join(tmp, name + '-cert.pem')
    key = os.path.join(tmp, name + '-key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=' + cn,
                    '-addext', 'subjectAltName=DNS:mx.test.example'],
                   check=True, capture_output=True, timeout=TIMEOUT)
    return cert, key


class Peer(threading.Thread):
    """One connection on 127.0.0.1: 'echo' (TLS, echoes every byte back),
    'garbage' (answers the ClientHello in plaintext), 'silent' (never speaks)."""

    def __init__(self, mode, ctx=None):
        super().__init__(daemon=True)
        self.mode = mode
        self.ctx = ctx
        self.sni = 'none seen'
        self.version = None
        self.error = None
        self.stop = threading.Event()
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.lsock.settimeout(TIMEOUT)
        self.port = self.lsock.getsockname()[1]
        if ctx is not None:
            ctx.sni_callback = self.got_sni
        peers.append(self)
        self.start()

    def got_sni(self, sslobj, name, ctx):
        self.sni = name

    def run(self):
        try:
            conn, _ = self.lsock.accept()
        except OSError:
            return
        conn.settimeout(TIMEOUT)
        try:
            if self.mode == 'garbage':
                conn.recv(4096)
                conn.sendall(b'500 5.5.1 what?\r\n')
            elif self.mode == 'silent':
                self.stop.wait(TIMEOUT)
            else:
                s = self.ctx.wrap_socket(conn, server_side=True)
                self.version = s.version()
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
                conn = s
        except (OSError, ssl.SSLError) as e:
            self.error = e
        finally:
            conn.close()


def server_ctx(cert, key, maxver=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if maxver is not None:
        ctx.maximum_version = maxver
    return ctx


def run_client(port, args):
    """qtls-client with fd 3 connected to port and fd 0 our socket pair;
    returns (process, our end, status line, stderr file)"""
    net = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
    ours, theirs = socket.socketpair()
    errname = os.path.join(tmp, 'client-%d.err' % len(started))
    errf = open(errname, 'w')
    p = subprocess.Popen(['sh', '-c', 'exec "$0" "$@" 3<&0 0<&1 1>/dev/null', CLIENT] + args,
                         stdin=net.fileno(), stdout=theirs.fileno(), stderr=errf)
    started.append(p)
    net.close()
    theirs.close()
    errf.close()
    ours.settimeout(TIMEOUT)
    return p, ours, readline(ours), errname


def readline(s):
    line = b''
    while not line.endswith(b'\n'):
        try:
            c = s.recv(1)
        except (OSError, socket.timeout):
            break
        if not c:
            break
        line += c
    return line.decode('latin-1')


def recv_all(s):
    data = bytearray()
    while True:
        try:
            chunk = s.recv(65536)
        except (OSError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def echo_once(ours, data):
    """sends data, half-closes, reads everything back until end of file"""
    writer = threading.Thread(target=lambda: (ours.sendall(data), ours.shutdown(socket.SHUT_WR)))
    writer.start()
    got = recv_all(ours)
    writer.join(TIMEOUT)
    return got


def start_qtlsd(cert, key):
    """qtlsd on a socket in tmp, ready (-d); (process, socket, log file)"""
    sock = os.path.join(tmp, 'tlsd.sock')
    log = os.path.join(tmp, 'tlsd.log')
    rfd, wfd = os.pipe()
    with open(log, 'w') as errf:
        p = subprocess.Popen([QTLSD, '-d', str(wfd), '-c', cert, '-k', key, sock],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                             pass_fds=(wfd,))
    started.append(p)
    os.close(wfd)
    ready = select.select([rfd], [], [], TIMEOUT)[0]
    line = os.read(rfd, 16) if ready else b''
    os.close(rfd)
    if line != b'\n':
        raise SystemExit('Bail out! qtlsd did not start')
    return p, sock, log


def client_to_qtlsd(sock, ip, args):
    """qtls-client with fd 3 one end of a socket pair, whose other end goes
    to qtlsd with an "I" request; (process, our end of qtls-client's
    socket pair, the session's connection to qtlsd)"""
    a, b = socket.socketpair()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(TIMEOUT)
    conn.connect(sock)
    socket.send_fds(conn, [b'I %s\n' % ip.encode()], [b.fileno()])
    b.close()
    ours, theirs = socket.socketpair()
    with open(os.path.join(tmp, 'c-%s.err' % ip), 'w') as errf:
        p = subprocess.Popen(['sh', '-c', 'exec "$0" "$@" 3<&0 0<&1 1>/dev/null', CLIENT] + args,
                             stdin=a.fileno(), stdout=theirs.fileno(), stderr=errf)
    started.append(p)
    a.close()
    theirs.close()
    ours.settimeout(TIMEOUT)
    return p, ours, conn


def cat(conn):
    """the session's side: echoes everything back, then half-closes"""
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            break
        if not data:
            break
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


def wait_log(log, pattern):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        with open(log) as f:
            for line in f.read().splitlines():
                if re.search(pattern, line):
                    return line
        time.sleep(0.05)
    return ''


def sha256_hex(data):
    import hashlib
    return hashlib.sha256(data).hexdigest()


def der(args, pem):
    """openssl ARGS on the PEM file pem, DER out"""
    return subprocess.run(['openssl'] + args + ['-in', pem, '-outform', 'DER'], check=True,
                          capture_output=True, timeout=TIMEOUT).stdout


def make_ca_chain():
    """a CA and a server certificate it signed for mx.test.example: (chain, key, ca)"""
    ca, cakey = make_cert('ca', 'Test CA')
    key = os.path.join(tmp, 'leaf-key.pem')
    csr = os.path.join(tmp, 'leaf.csr')
    leaf = os.path.join(tmp, 'leaf-cert.pem')
    ext = os.path.join(tmp, 'leaf.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:mx.test.example\n')
    subprocess.run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr,
                    '-subj', '/CN=mx.test.example'], check=True, capture_output=True,
                   timeout=TIMEOUT)
    subprocess.run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca, '-CAkey', cakey,
                    '-CAcreateserial', '-out', leaf, '-days', '2', '-extfile', ext],
                   check=True, capture_output=True, timeout=TIMEOUT)
    chain = os.path.join(tmp, 'chain.pem')
    with open(chain, 'w') as f:
        f.write(open(leaf).read() + open(ca).read())
    return chain, key, ca


def dane_case(cert, key, args, want, name, code=100):
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, args)
    if want.startswith('N'):
        rc = p.wait(TIMEOUT)
        ok(status.startswith(want) and rc == code, name, status, rc)
        return
    m = STATUS_Y.match(status)
    got = echo_once(ours, b'EHLO me.example\r\n') if m else b''
    rc = p.wait(TIMEOUT)
    ok(m is not None and m.group(3) == want and got == b'EHLO me.example\r\n' and rc == 0,
       name, status, rc)


def dane_cases(cert, key):
    """-T: DANE-EE and DANE-TA (RFC 7672), matches and mismatches"""
    spki = sha256_hex(der(['pkey', '-pubin'], pubkey(cert)))
    full = der(['x509'], cert).hex()
    wrong = sha256_hex(b'not this key')
    h = ['-h', 'mx.test.example']
    dane_case(cert, key, h + ['-T', '3 1 1 ' + spki], 'dane-ee', 'DANE-EE SPKI SHA-256 matches')
    dane_case(cert, key, ['-h', 'other.example', '-T', '3 1 1 ' + spki], 'dane-ee',
              'DANE-EE: no name check (RFC 7672 3.1.1)')
    dane_case(cert, key, h + ['-T', '3 0 0 ' + full], 'dane-ee', 'DANE-EE full certificate matches')
    dane_case(cert, key, h + ['-T', '3 1 1 ' + wrong, '-T', '3 1 1 ' + spki], 'dane-ee',
              'one matching record of several is enough')
    dane_case(cert, key, h + ['-T', '3 1 1 ' + wrong], 'N DANE verification failed',
              'DANE-EE mismatch: N, exit 100, no session')
    dane_case(cert, key, h + ['-T', '1 1 1 ' + spki], 'unverified',
              'PKIX-EE only: unusable for SMTP, TLS without authentication (RFC 7672 2.2)')
    dane_case(cert, key, h + ['-T', '3 1 1 zz'], 'N malformed TLSA record',
              'a malformed record: N, exit 111', 111)
    chain, ckey, ca = make_ca_chain()
    ta = sha256_hex(der(['x509'], ca))
    dane_case(chain, ckey, h + ['-T', '2 0 1 ' + ta], 'dane-ta', 'DANE-TA matches, name right')
    dane_case(chain, ckey, ['-h', 'wrong.example', '-T', '2 0 1 ' + ta],
              'N DANE verification failed', 'DANE-TA: a wrong name fails (RFC 7672 3.2)')
    dane_case(chain, ckey, h + ['-T', '2 0 1 ' + wrong], 'N DANE verification failed',
              'DANE-TA mismatch fails')


def pubkey(cert):
    out = os.path.join(tmp, 'pub-%d.pem' % len(started))
    subprocess.run(['openssl', 'x509', '-in', cert, '-noout', '-pubkey', '-out', out], check=True,
                   capture_output=True, timeout=TIMEOUT)
    return out


def main():
    print('1..47')
    cert, key = make_cert('mx', 'mx.test.example')

    # no -v: opportunistic, against a self-signed server
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-h', 'mx.test.example'])
    m = STATUS_Y.match(status)
    ok(m is not None, 'status line: Y proto cipher verified|unverified cn', status)
    ok(m is not None and m.group(1) == 'TLSv1.3' and m.group(2).startswith('TLS_'),
       'TLS 1.3 negotiated', status)
    ok(m is not None and m.group(3) == 'unverified' and m.group(4) == 'mx.test.example',
       'self-signed and no -C: unverified, CN reported', status)
    got = echo_once(ours, b'EHLO me.example\r\n')
    ok(got == b'EHLO me.example\r\n', 'data passes both ways through the relay', got)
    rc = p.wait(TIMEOUT)
    ok(rc == 0, 'exit 0 after a clean session', rc, open(err).read())
    peer.join(TIMEOUT)
    ok(peer.sni == 'mx.test.example', 'SNI is the -h host name', peer.sni)

    # -v with the system store: a self-signed server fails
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-v', '-h', 'mx.test.example'])
    rc = p.wait(TIMEOUT)
    ok(re.match(r'N certificate verification failed: self.signed certificate\n$', status),
       '-v, self-signed: N certificate verification failed', status)
    ok(rc == 100, '-v, self-signed: exit 100', rc)
    ok(recv_all(ours) == b'', 'nothing follows an N line', '')

    # -v -C cert with the right name
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-v', '-C', cert, '-h', 'mx.test.example'])
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(3) == 'verified' and m.group(4) == 'mx.test.example',
       '-v -C cert -h right: verified', status)
    got = echo_once(ours, b'QUIT\r\n')
    rc = p.wait(TIMEOUT)
    ok(got == b'QUIT\r\n' and rc == 0, '-v: the session works and exits 0', got, rc)

    # a final dot on the host name is dropped
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-v', '-C', cert, '-h', 'mx.test.example.'])
    m = STATUS_Y.match(status)
    ours.close()
    rc = p.wait(TIMEOUT)
    peer.join(TIMEOUT)
    ok(m is not None and m.group(3) == 'verified' and peer.sni == 'mx.test.example' and rc == 0,
       '-h with a final dot: SNI and the check without it', status, peer.sni, rc)

    # -v -C cert with a wrong name
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-v', '-C', cert, '-h', 'other.test.example'])
    rc = p.wait(TIMEOUT)
    ok(re.match(r'N certificate verification failed: hostname mismatch\n$', status) and rc == 100,
       '-v -C cert -h wrong: hostname mismatch, exit 100', status, rc)

    # without -v the check is still reported
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-C', cert, '-h', 'mx.test.example'])
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(3) == 'verified', 'no -v, -C cert, right name: verified', status)
    ours.close()
    p.wait(TIMEOUT)
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-C', cert, '-h', 'other.test.example'])
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(3) == 'unverified', 'no -v, wrong name: unverified, not refused',
       status)
    ours.close()
    rc = p.wait(TIMEOUT)
    ok(rc == 0, 'closing our end ends the helper', rc)

    # no -h: no SNI; an IP address: no SNI either (RFC 6066)
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, [])
    ours.close()
    p.wait(TIMEOUT)
    peer.join(TIMEOUT)
    ok(STATUS_Y.match(status) and peer.sni is None, 'no -h: no SNI', status, peer.sni)
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-h', '127.0.0.1'])
    ours.close()
    p.wait(TIMEOUT)
    peer.join(TIMEOUT)
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(3) == 'unverified' and peer.sni is None,
       '-h IP address: no SNI, the address is checked (and fails)', status, peer.sni)

    # TLS 1.2 servers work; TLS 1.1 servers are refused
    peer = Peer('echo', server_ctx(cert, key, ssl.TLSVersion.TLSv1_2))
    p, ours, status, err = run_client(peer.port, ['-h', 'mx.test.example'])
    ours.close()
    p.wait(TIMEOUT)
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(1) == 'TLSv1.2' and m.group(2).startswith('ECDHE-'),
       'a TLS 1.2 server: Y TLSv1.2 with ECDHE', status)
    try:
        ctx11 = server_ctx(cert, key, ssl.TLSVersion.TLSv1_1)
        ctx11.minimum_version = ssl.TLSVersion.TLSv1
        ctx11.set_ciphers('DEFAULT@SECLEVEL=0')
    except (ssl.SSLError, ValueError) as e:
        ctx11 = None
        why = e
    if ctx11 is not None:
        peer = Peer('echo', ctx11)
        p, ours, status, err = run_client(peer.port, ['-h', 'mx.test.example'])
        rc = p.wait(TIMEOUT)
        ok(status.startswith('N handshake failed: ') and rc == 111,
           'a TLS 1.1 server: N handshake failed, exit 111', status, rc)
    else:
        ok(True, '# skip: this python cannot serve TLS 1.1: %s' % why)

    # a server that answers in plaintext, and one that never answers
    peer = Peer('garbage')
    p, ours, status, err = run_client(peer.port, ['-h', 'mx.test.example'])
    rc = p.wait(TIMEOUT)
    ok(re.match(r'N handshake failed: \S.*\n$', status) and rc == 111,
       'a plaintext answer: N handshake failed, exit 111', status, rc)
    peer = Peer('silent')
    t0 = time.time()
    p, ours, status, err = run_client(peer.port, ['-t', '1', '-h', 'mx.test.example'])
    rc = p.wait(TIMEOUT)
    peer.stop.set()
    ok(status == 'N handshake failed: timed out\n' and rc == 111 and time.time() - t0 < TIMEOUT,
       'a silent server: -t bounds the handshake', status, rc)

    # the CN is cleaned into one token
    odd_cert, odd_key = make_cert('odd', 'Odd Name')
    peer = Peer('echo', server_ctx(odd_cert, odd_key))
    p, ours, status, err = run_client(peer.port, ['-C', odd_cert, '-h', 'mx.test.example'])
    ours.close()
    p.wait(TIMEOUT)
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(4) == 'Odd?Name' and m.group(3) == 'verified',
       'a CN with a space is reported as one token; SAN decides the name', status)

    # bulk data with half-close against the python server
    blob = os.urandom(1 << 20)
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-h', 'mx.test.example'])
    got = echo_once(ours, blob)
    rc = p.wait(TIMEOUT)
    ok(got == blob and rc == 0, '1 MiB each way, half-close, exit 0', len(got), rc)

    # against qtlsd, given one end of a socket pair with an "I" request,
    # the session's side echoing like cat: our two programs end to end
    tlsd, tlsd_sock, tlsd_log = start_qtlsd(cert, key)
    blob = os.urandom(2 << 20)
    p, ours, conn = client_to_qtlsd(tlsd_sock, '127.0.0.5',
                                    ['-v', '-C', cert, '-h', 'mx.test.example'])
    status = readline(ours)
    yline = readline(conn)
    echo = threading.Thread(target=cat, args=(conn,))
    echo.start()
    got = echo_once(ours, blob)
    rc = p.wait(TIMEOUT)
    echo.join(TIMEOUT)
    conn.close()
    line = wait_log(tlsd_log, r'^qtlsd: 127\.0\.0\.5 ')
    m = STATUS_Y.match(status)
    ok(m is not None and m.group(3) == 'verified', 'qtls-client -v against qtlsd: verified',
       status)
    ok(got == blob, '2 MiB each way through qtls-client and qtlsd, echoed like cat', len(got))
    ok(rc == 0 and yline.startswith('Y TLSv1.3 ') and ' error' not in line,
       'qtls-client exits 0; qtlsd said Y and its session ended without error', rc, yline,
       line)
    ok(re.match(r'qtlsd: 127\.0\.0\.5 TLSv1\.3 \S+ in=2097152 out=2097152$', line),
       'qtlsd counted every byte', line)

    # qtlsd's side closes first: qremote reads end of file, the helper ends
    p, ours, conn = client_to_qtlsd(tlsd_sock, '127.0.0.6', [])
    status = readline(ours)
    yline = readline(conn)
    conn.sendall(b'221 bye\n')
    conn.close()
    got = recv_all(ours)
    ours.close()
    rc = p.wait(TIMEOUT)
    line = wait_log(tlsd_log, r'^qtlsd: 127\.0\.0\.6 ')
    ok(STATUS_Y.match(status) and yline.startswith('Y ') and got == b'221 bye\n' and rc == 0
       and re.match(r'qtlsd: 127\.0\.0\.6 TLSv1\.3 \S+ in=0 out=8$', line),
       'the server closing first ends the session cleanly on both sides', status, got, rc, line)
    tlsd.terminate()
    tlsd.wait(TIMEOUT)

    dane_cases(cert, key)

    # usage and setup errors
    for args, name in ((['-v'], '-v without -h'), (['-T', '3 1 1 00'], '-T without -h'),
                       (['-h', '127.0.0.1', '-T', '3 1 1 00'], '-T with an address'),
                       (['x'], 'an argument'),
                       (['-t', '0'], 'a zero timeout'), (['-q'], 'an unknown option')):
        r = subprocess.run([CLIENT] + args, capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        ok(r.returncode == 100 and 'usage: qtls-client' in r.stderr, 'usage: ' + name,
           r.returncode, r.stderr)
    peer = Peer('echo', server_ctx(cert, key))
    p, ours, status, err = run_client(peer.port, ['-C', os.path.join(tmp, 'none.pem')])
    rc = p.wait(TIMEOUT)
    ok(status == 'N unable to read CA file: No such file or directory\n' and rc == 111,
       'a missing CA file: N, exit 111', status, rc)
    peer.stop.set()
    ours, theirs = socket.socketpair()
    r = subprocess.run([CLIENT], stdin=theirs.fileno(), capture_output=True, timeout=TIMEOUT,
                       close_fds=True)
    theirs.close()
    ours.settimeout(TIMEOUT)
    ok(r.returncode == 111 and readline(ours) == 'N no network socket on descriptor 3\n',
       'no descriptor 3: N, exit 111', r.returncode)


try:
    main()
finally:
    cleanup()
sys.exit(1 if T["failed"] else 0)
