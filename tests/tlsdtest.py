# Shared by the tests of qtlsd (tests/35-qtlsd.t, 37-qtlsd-starttls.t,
# 39-qtlsd-instance.t): TAP output, a temp dir, throwaway self-signed
# certificates, qtlsd started on a Unix socket, a qsetup instance under
# s6-svscan, and the session programs' side of qtlsd's protocol
# (lib/tlsd.h) in python:
#   conn = request(sock, 'I', client.fileno(), '127.0.0.9')  # fd attached
#   readline(conn)                                          # 'Y TLSv1.3 ...'
# Loopback only; every wait is bounded; only processes started here are
# stopped, by their own handles.
#   sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
#   from tlsdtest import Qtlsd, ok, readline, request
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ['PATH'] = os.pathsep.join([os.path.join(ROOT, 'bin'), os.path.join(ROOT, 'qtls'),
                                      os.environ.get('PATH', '')])
QTLSD = shutil.which('qtlsd')
TIMEOUT = 20
HOST = 'mx.test.example'

TAP = {'n': 0, 'failed': 0}
TMP = tempfile.mkdtemp(prefix='qmta-test.')
os.chmod(TMP, 0o755)
STARTED = []
INSTANCES = []


def ok(cond, name, *diag):
    TAP['n'] += 1
    print('%sok %d - %s' % ('' if cond else 'not ', TAP['n'], name))
    if not cond:
        TAP['failed'] += 1
        for d in diag:
            for line in str(d).splitlines():
                print('#   ' + line)
    sys.stdout.flush()
    return cond


def skip(name, why):
    return ok(True, '# skip %s: %s' % (name, why))


def note(text):
    for line in str(text).splitlines():
        print('# ' + line)
    sys.stdout.flush()


def cleanup():
    for inst in INSTANCES:
        inst.stop()
    for p in STARTED:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if os.environ.get('KEEP'):
        print('# kept ' + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


def finish():
    """cleans up; the exit code for sys.exit"""
    cleanup()
    return 1 if TAP['failed'] else 0


def make_cert(name, cn=HOST, where=None):
    """a self-signed RSA certificate and its key (mode 0644) in where"""
    where = where or TMP
    cert = os.path.join(where, name + '-cert.pem')
    key = os.path.join(where, name + '-key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=' + cn,
                    '-addext', 'subjectAltName=DNS:' + HOST],
                   check=True, capture_output=True, timeout=TIMEOUT)
    os.chmod(key, 0o644)
    return cert, key


def cert_der(cert):
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def read_file(fn):
    try:
        with open(fn, errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


def wait_until(cond, limit=TIMEOUT):
    deadline = time.time() + limit
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Qtlsd:
    """qtlsd on sock in TMP, its fd 2 in a log file; start() waits for the
    readiness line of -d."""

    def __init__(self, name, args):
        self.sock = os.path.join(TMP, name + '.sock')
        self.log = os.path.join(TMP, name + '.log')
        self.args = args
        self.proc = None

    def start(self):
        rfd, wfd = os.pipe()
        with open(self.log, 'a') as errf:
            self.proc = subprocess.Popen([QTLSD, '-d', str(wfd)] + self.args + [self.sock],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=errf, pass_fds=(wfd,))
        STARTED.append(self.proc)
        os.close(wfd)
        ready = select.select([rfd], [], [], TIMEOUT)[0]
        line = os.read(rfd, 16) if ready else b''
        os.close(rfd)
        if line != b'\n':
            print('Bail out! qtlsd did not start: ' + read_file(self.log).replace('\n', ' / '))
            sys.stdout.flush()
            raise SystemExit(finish() or 1)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def text(self):
        return read_file(self.log)

    def lines(self):
        return self.text().splitlines()

    def wait_log(self, pattern, after=0):
        """the first log line (from line number after on) matching pattern"""
        found = []

        def look():
            for line in self.lines()[after:]:
                if re.search(pattern, line):
                    found.append(line)
                    return True
            return False
        wait_until(look)
        return found[0] if found else ''

    def request(self, kind, fd, ip='127.0.0.9'):
        return request(self.sock, kind, fd, ip)

    def children(self):
        return children_of(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def request(path, kind, fd, ip='127.0.0.9', raw=None):
    """connects to qtlsd and sends "KIND IP\\n" (or raw bytes) with fd
    attached (None: nothing attached); the connection"""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(TIMEOUT)
    conn.connect(path)
    data = raw if raw is not None else ('%s %s\n' % (kind, ip)).encode()
    try:
        if fd is None:
            conn.sendall(data)
        else:
            socket.send_fds(conn, [data], [fd])
    except BrokenPipeError:
        pass  # refused before it read the request ("N busy"): the answer is waiting
    return conn


def readline(s, end=b'\n'):
    """one line, a byte at a time (nothing after it is consumed); '' on end
    of file, error or timeout"""
    line = b''
    while not line.endswith(end):
        try:
            c = s.recv(1)
        except (OSError, ssl.SSLError):
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
        except (OSError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def client_ctx(cert, maxver=None, ciphers=None):
    ctx = ssl.create_default_context(cafile=cert)
    if maxver is not None:
        ctx.maximum_version = maxver
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def tls_connect(ctx, sock):
    """the handshake of a TLS client on sock; (SSLSocket, None) or (None, error)"""
    sock.settimeout(TIMEOUT)
    try:
        return ctx.wrap_socket(sock, server_hostname=HOST), None
    except (OSError, ssl.SSLError) as e:
        sock.close()
        return None, e


def pump(tls, plain, up, down, first_close='tls', tail=b'tail after the half-close\n'):
    """Moves up (TLS client -> plain side) and down (plain -> TLS client)
    at the same time, in one thread (an SSL object must not be used by two
    at once), then half-closes: first_close 'tls' sends our close_notify
    and waits for end of file on plain, which then sends tail and shuts
    down; 'plain' the other way round; None: no close. Returns (bytes
    read on plain, bytes read by the TLS client), tail included, or
    raises TimeoutError."""
    deadline = time.time() + TIMEOUT * 3
    tls.setblocking(False)
    plain.setblocking(False)
    got_plain = bytearray()
    got_tls = bytearray()
    sent_up = 0
    sent_down = 0

    def tls_recv():
        try:
            chunk = tls.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None
        except ssl.SSLZeroReturnError:
            return b''
        got_tls.extend(chunk)
        return chunk

    def plain_recv():
        try:
            chunk = plain.recv(65536)
        except BlockingIOError:
            return None
        got_plain.extend(chunk)
        return chunk

    def wait(rd, wr):
        if time.time() > deadline:
            raise TimeoutError('pump: %d/%d up, %d/%d down' % (len(got_plain), len(up),
                                                              len(got_tls), len(down)))
        select.select(rd, wr, [], 0.2)

    # both directions at once
    while len(got_plain) < len(up) or len(got_tls) < len(down):
        progress = False
        if sent_up < len(up):
            try:
                sent_up += tls.send(up[sent_up:sent_up + 16384])
                progress = True
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        if sent_down < len(down):
            try:
                sent_down += plain.send(down[sent_down:sent_down + 65536])
                progress = True
            except BlockingIOError:
                pass
        if len(got_tls) < len(down):
            chunk = tls_recv()
            if chunk == b'':
                break
            progress = progress or chunk is not None
        if len(got_plain) < len(up):
            chunk = plain_recv()
            if chunk == b'':
                break
            progress = progress or chunk is not None
        if not progress:
            wait([tls, plain], [tls] if sent_up < len(up) else [])

    if first_close is None:
        return bytes(got_plain), bytes(got_tls)
    if first_close == 'tls':
        # Our close_notify alone: python's unwrap then tries to read the
        # peer's, which is not there yet (and nothing else is in flight).
        try:
            tls.unwrap()
            raise RuntimeError('pump: the peer closed before we did')
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        while plain_recv() != b'':
            wait([plain], [])
        plain.setblocking(True)
        plain.settimeout(TIMEOUT)
        plain.sendall(tail)
        plain.shutdown(socket.SHUT_WR)
        while tls_recv() != b'':
            wait([tls], [])
    else:
        plain.shutdown(socket.SHUT_WR)
        while tls_recv() != b'':
            wait([tls], [])
        tls.setblocking(True)
        tls.settimeout(TIMEOUT)
        tls.sendall(tail)
        tls.unwrap()  # the peer's close_notify is in: ours goes out, done
        while plain_recv() != b'':
            wait([plain], [])
    return bytes(got_plain), bytes(got_tls)


def safe_pump(tls, plain, up, down, first_close='tls', tail=b'tail after the half-close\n'):
    """pump, with any failure as (b'', the error)"""
    try:
        return pump(tls, plain, up, down, first_close, tail)
    except Exception as e:  # a failed test, reported by the caller
        return b'', repr(e).encode()


def children_of(pid):
    """the pids whose parent is pid, zombies left out"""
    kids = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[1]) == pid and fields[0] != 'Z':
            kids.append(int(d))
    return kids


def proc_ids(pid):
    """(real, effective, saved uid), (real, effective, saved gid) of pid"""
    with open('/proc/%d/status' % pid) as f:
        status = f.read()
    u = re.search(r'^Uid:\s+(\d+)\s+(\d+)\s+(\d+)', status, re.M)
    g = re.search(r'^Gid:\s+(\d+)\s+(\d+)\s+(\d+)', status, re.M)
    return tuple(int(x) for x in u.groups()), tuple(int(x) for x in g.groups())


def rss_pss_kib(pid):
    """(Rss, Pss) of pid in KiB, from smaps_rollup"""
    with open('/proc/%d/smaps_rollup' % pid) as f:
        text = f.read()
    rss = re.search(r'^Rss:\s+(\d+) kB', text, re.M)
    pss = re.search(r'^Pss:\s+(\d+) kB', text, re.M)
    return int(rss.group(1)), int(pss.group(1))


def has_asan(path):
    with open(path, 'rb') as f:
        return b'__asan_init' in f.read()


class Instance:
    """a qsetup instance in TMP/inst under s6-svscan (as tests/lib.sh)"""

    def __init__(self):
        self.home = os.path.join(TMP, 'inst')
        self.svscan = None
        INSTANCES.append(self)

    def setup(self, *args):
        r = subprocess.run(['qsetup', self.home, '--me', 'test.example'] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            print('Bail out! qsetup failed: ' + r.stdout.decode(errors='replace')
                  .replace('\n', ' / '))
            sys.stdout.flush()
            raise SystemExit(finish() or 1)

    def start(self):
        """s6-svscan, then a bounded wait for every service with readiness"""
        self.svscan = subprocess.Popen(['s6-svscan', self.home + '/service'],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in sorted(os.listdir(self.home + '/service')):
            svc = os.path.join(self.home, 'service', name)
            if not os.path.exists(svc + '/notification-fd'):
                continue
            wait_until(lambda: os.path.exists(svc + '/supervise/status'))
            r = subprocess.run(['s6-svwait', '-U', '-t', '20000', svc], timeout=30)
            if r.returncode != 0:
                print('Bail out! service %s not ready' % name)
                sys.stdout.flush()
                raise SystemExit(finish() or 1)

    def pid(self, name):
        r = subprocess.run(['s6-svstat', '-p', self.home + '/service/' + name],
                           capture_output=True, text=True, timeout=TIMEOUT)
        return int(r.stdout.strip() or -1)

    def log(self, name):
        return read_file(os.path.join(self.home, 'log', name, 'current'))

    def stop(self):
        if self.svscan is None:
            return
        subprocess.run(['s6-svscanctl', '-t', self.home + '/service'],
                       stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        try:
            self.svscan.wait(15)
        except subprocess.TimeoutExpired:
            self.svscan.kill()
            self.svscan.wait()
        self.svscan = None
