#!/usr/bin/env python3
# 37-qtlsd-starttls: the STARTTLS flow of qtlsd (lib/tlsd.h: "P", "R",
# "S", then "Y" or "N"), with this script as a small line-protocol session
# program that reads its client through a buffer the way qsmtpd does, and
# python ssl as the client over TCP or a socket pair. Checks: plaintext
# before STARTTLS is the session program's; qtlsd answers R before the
# session says 220, touches nothing before "S", and after Y the first
# plaintext the session reads is the client's first command under TLS;
# CVE-2011-0411 at the service level: plaintext the client sends between
# the 220 and its ClientHello (still in the socket at "S") breaks the
# handshake: N, and none of it reaches the session program; TLS 1.2 and
# 1.3; data each way with half-close; close_notify reaches the session
# as end of file and the session's close reaches the client as a
# close_notify; a silent client after "S" (-t); a session program that
# gives up after R keeps its plaintext client; the log line of a STARTTLS
# session. qsmtpd's own side (a command pipelined after STARTTLS is never
# executed) is in 33-tls-auth.t, qpop3d's in 39-qtlsd-instance.t.
# Loopback only; every wait is bounded; only processes started here are
# stopped.
import os
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlsdtest import (HOST, TIMEOUT, Qtlsd, client_ctx, finish, make_cert, ok,  # noqa: E402
                      readline, recv_all, safe_pump, tls_connect)

CRLF = b'\r\n'


class Session:
    """the session program's side of one client connection: commands are
    CRLF lines read through a 4 KiB buffer, as qsmtpd reads them"""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.buf = b''
        self.conn = None

    def command(self):
        while CRLF not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(CRLF, 1)
        return line.decode('latin-1')

    def say(self, text):
        self.sock.sendall(text.encode() + CRLF)

    def ask(self, d, ip):
        """the "P" request for our client's socket: qtlsd's answer"""
        self.conn = d.request('P', self.sock.fileno(), ip)
        return readline(self.conn)

    def go(self):
        """220, the buffer thrown away (CVE-2011-0411), "S"; qtlsd does the
        handshake with the client"""
        self.say('220 2.0.0 go ahead')
        self.buf = b''
        self.conn.sendall(b'S')

    def result(self):
        """qtlsd's answer to "S"; from then on the session reads and writes
        its connection to qtlsd only"""
        answer = readline(self.conn)
        self.sock.close()
        self.sock = self.conn
        return answer


def tcp_pair(lsock):
    client = socket.create_connection(lsock.getsockname(), timeout=TIMEOUT)
    server, _ = lsock.accept()
    return client, server


def client_line(s):
    return readline(s, CRLF)


def main():
    print('1..23')
    cert, key = make_cert('a')
    d = Qtlsd('st', ['-t', '3', '-c', cert, '-k', key]).start()
    ctx = client_ctx(cert)
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(8)
    lsock.settimeout(TIMEOUT)

    # over TCP: plaintext, then STARTTLS with a command pipelined behind it
    mark = len(d.lines())
    raw, server = tcp_pair(lsock)
    sess = Session(server)
    sess.say('220 fake ready')
    greeting = client_line(raw)
    raw.sendall(b'NOOP\r\n')
    cmd = sess.command()
    sess.say('250 ok ' + cmd)
    plain_reply = client_line(raw)
    raw.sendall(b'STARTTLS\r\nINJECTED\r\n')
    cmd = sess.command()
    while b'INJECTED\r\n' not in sess.buf:  # both in the session's buffer, as in the attack
        sess.buf += sess.sock.recv(4096)
    answer = sess.ask(d, '127.0.0.1')
    raw.setblocking(False)
    try:
        early = raw.recv(100)
    except BlockingIOError:
        early = b''
    raw.setblocking(True)
    raw.settimeout(TIMEOUT)
    ok(greeting == '220 fake ready\r\n' and plain_reply == '250 ok NOOP\r\n' and cmd == 'STARTTLS',
       'plaintext before STARTTLS is the session program\'s', greeting, plain_reply, cmd)
    ok(answer == 'R\n' and early == b'', '"P": R, and the client has heard nothing yet', answer,
       early)
    sess.go()
    go = client_line(raw)
    tls, err = tls_connect(ctx, raw)
    yline = sess.result()
    ok(go == '220 2.0.0 go ahead\r\n' and tls is not None,
       'after the 220 the client\'s handshake works', go, err)
    m = re.match(r'Y TLSv1\.3 (TLS_[A-Z0-9_]+)\n$', yline)
    ok(m is not None and tls is not None and m.group(1) == tls.cipher()[0],
       '"S": Y with the protocol and the cipher the client got', yline)
    tls.sendall(b'AFTER\r\n')
    first = sess.command()
    sess.say('250 ok ' + str(first))
    reply = client_line(tls)
    ok(first == 'AFTER' and reply == '250 ok AFTER\r\n',
       'the first plaintext under TLS is the client\'s first TLS command, not the pipelined one',
       first, reply)
    tls.sendall(b'QUIT\r\n')
    cmd = sess.command()
    sess.say('221 bye')
    sess.sock.close()
    bye = client_line(tls)
    rest = recv_all(tls)
    ok(cmd == 'QUIT' and bye == '221 bye\r\n' and rest == b'',
       'the session program\'s close reaches the client as the end of TLS', cmd, bye, rest)
    tls.close()
    line = d.wait_log(r'^qtlsd: 127\.0\.0\.1 ', mark)
    ok(re.match(r'qtlsd: 127\.0\.0\.1 TLSv1\.3 %s in=13 out=23$' % (m.group(1) if m else 'x'),
                line), 'one log line: client, protocol, cipher, bytes each way', line)

    # CVE-2011-0411 at the service level: plaintext between the 220 and the
    # ClientHello, both in the socket when the session says "S"
    mark = len(d.lines())
    raw, server = tcp_pair(lsock)
    sess = Session(server)
    raw.sendall(b'STARTTLS\r\n')
    cmd = sess.command()
    answer = sess.ask(d, '127.0.0.1')
    sess.say('220 2.0.0 go ahead')
    sess.buf = b''
    go = client_line(raw)
    raw.sendall(b'EVIL\r\n')
    tls = ctx.wrap_socket(raw, server_hostname=HOST, do_handshake_on_connect=False)
    tls.setblocking(False)
    try:
        tls.do_handshake()  # the ClientHello goes out; the answer cannot be there yet
    except ssl.SSLWantReadError:
        pass
    time.sleep(0.2)  # let the ClientHello reach the socket's buffer
    sess.conn.sendall(b'S')
    nline = readline(sess.conn)
    after = recv_all(sess.conn)
    sess.sock.close()
    tls.setblocking(True)
    tls.settimeout(TIMEOUT)
    try:
        tls.do_handshake()
        shook = True
    except (OSError, ssl.SSLError):
        shook = False
    ok(cmd == 'STARTTLS' and answer == 'R\n' and go == '220 2.0.0 go ahead\r\n',
       'STARTTLS, R, 220', cmd, answer, go)
    ok(nline.startswith('N handshake failed: ') and not shook,
       'plaintext before the ClientHello breaks the handshake: N, no TLS', nline, shook)
    ok(after == b'', 'none of that plaintext reaches the session program', after)
    line = d.wait_log(r'^qtlsd: 127\.0\.0\.1 handshake failed: ', mark)
    ok(line != '', 'the failed handshake is logged', d.text())
    tls.close()

    # TLS 1.2, and data each way with half-close, over a socket pair
    for maxver, first_close, proto in ((ssl.TLSVersion.TLSv1_2, 'tls', 'TLSv1.2'),
                                       (None, 'plain', 'TLSv1.3')):
        mark = len(d.lines())
        ours, theirs = socket.socketpair()
        sess = Session(theirs)
        ours.sendall(b'STARTTLS\r\n')
        sess.command()
        answer = sess.ask(d, '127.0.0.7')
        sess.go()
        client_line(ours)
        tls, err = tls_connect(client_ctx(cert, maxver), ours)
        yline = sess.result()
        ok(yline.startswith('Y %s ' % proto) and tls is not None and tls.version() == proto,
           '%s through STARTTLS' % proto, yline, err)
        up, down = os.urandom(300000), os.urandom(300000)
        got_plain, got_tls = safe_pump(tls, sess.conn, up, down, first_close, b'tail\n')
        if first_close == 'tls':
            want = (up, down + b'tail\n')
            name = 'the client\'s close_notify reaches the session program as end of file; ' \
                   'the session still sends'
        else:
            want = (up + b'tail\n', down)
            name = 'the session program\'s half-close reaches the client as close_notify; ' \
                   'the client still sends'
        ok((got_plain, got_tls) == want, '300 KB each way; ' + name, len(got_plain),
           len(got_tls))
        line = d.wait_log(r'^qtlsd: 127\.0\.0\.7 ', mark)
        ok(re.match(r'qtlsd: 127\.0\.0\.7 %s \S+ in=%d out=%d$' %
                    (re.escape(proto), len(want[0]), len(want[1])), line),
           'the log line counts every byte', line)
        tls.close()
        sess.conn.close()

    # a client silent after the 220: -t bounds the handshake
    ours, theirs = socket.socketpair()
    sess = Session(theirs)
    answer = sess.ask(d, '127.0.0.1')
    t0 = time.time()
    sess.go()
    yline = sess.result()
    spent = time.time() - t0
    ok(answer == 'R\n' and yline == 'N handshake failed: timed out\n' and 2.5 < spent < TIMEOUT,
       'a silent client after "S": N handshake failed: timed out after -t seconds', yline, spent)
    sess.conn.close()
    ours.close()

    # the session program gives up after R: its client stays plaintext
    ours, theirs = socket.socketpair()
    sess = Session(theirs)
    answer = sess.ask(d, '127.0.0.1')
    sess.conn.close()
    time.sleep(0.2)
    sess.say('454 4.7.0 TLS not available due to temporary reason')
    ours.settimeout(TIMEOUT)
    got = client_line(ours)
    ours.sendall(b'NOOP\r\n')
    cmd = sess.command()
    ok(answer == 'R\n' and got == '454 4.7.0 TLS not available due to temporary reason\r\n'
       and cmd == 'NOOP', 'a session program that gives up after R goes on in plaintext',
       answer, got, cmd)
    sess.sock.close()
    ours.close()

    # a client gone after the 220
    ours, theirs = socket.socketpair()
    sess = Session(theirs)
    answer = sess.ask(d, '127.0.0.1')
    sess.go()
    ours.close()
    yline = sess.result()
    ok(answer == 'R\n' and yline.startswith('N handshake failed: '),
       'a client gone after the 220: N handshake failed', yline)
    sess.conn.close()

    # the service is still there, and every line it logged is well formed
    ours, theirs = socket.socketpair()
    sess = Session(theirs)
    answer = sess.ask(d, '127.0.0.1')
    sess.go()
    client_line(ours)
    tls, err = tls_connect(ctx, ours)
    yline = sess.result()
    ok(d.proc.poll() is None and answer == 'R\n' and yline.startswith('Y ') and tls is not None,
       'the service still works', answer, yline, err)
    if tls is not None:
        tls.close()
    sess.conn.close()
    ok(d.stop() == 0, 'SIGTERM: exit 0')
    bad = [line for line in d.lines()
           if not re.match(r'qtlsd: (loaded \S+ and \S+|\S+ TLSv1\.[23] \S+ in=\d+ out=\d+|'
                           r'\S+ handshake failed: .+)$', line)]
    ok(bad == [], 'every log line is one well-formed line', '\n'.join(bad))
    lsock.close()


try:
    main()
finally:
    code = finish()
sys.exit(code)
