#!/usr/bin/env python3
# 35-qtlsd: the TLS service run directly on a socket in a temp dir, with a
# throwaway self-signed certificate. This script is the session program
# (lib/tlsd.h: the request with the client's socket attached) and, on the
# other end of a socket pair or a TCP connection, the TLS client (python
# ssl, openssl s_client). Implicit TLS ("I"): TLS 1.3 and 1.2 work, the
# server's cipher order wins, TLS 1.1, 1.0, non-AEAD suites and
# renegotiation are refused; 2 MiB each way pass unchanged, with
# half-close either way; the Y line and the log line name the protocol
# and cipher, the log line counts the bytes and names an IPv6 client as it
# is; a client that resets once it has the last reply ends its session
# normally, without an error in the log. Bad requests get no TLS and
# leave the service working; -t bounds handshakes and requests; -n
# refuses beyond the limit; a missing or broken certificate or key gets
# "N reason", and good files are taken without a restart (on change and
# on SIGHUP). As root: -u and -g set the socket's owner and mode, the
# service and its sessions run as -u, a key only -u can read is loaded.
# The memory of a session; SIGTERM ends the service, not its sessions;
# usage errors. The STARTTLS flow ("P") is in 37-qtlsd-starttls.t.
# Loopback only; every wait is bounded; only processes started here are
# stopped.
import grp
import os
import pwd
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlsdtest import (QTLSD, TIMEOUT, TMP, Qtlsd, client_ctx, finish, has_asan,  # noqa: E402
                      make_cert, note, ok, proc_ids, readline, recv_all, request,
                      rss_pss_kib, safe_pump, skip, tls_connect, wait_until)

warnings.simplefilter('ignore', DeprecationWarning)

MIB2 = 2 << 20
TAIL = b'tail after the half-close\n'
Y13 = re.compile(r'Y TLSv1\.3 (TLS_[A-Z0-9_]+)\n$')
Y12 = re.compile(r'Y TLSv1\.2 (ECDHE-RSA-(?:AES128-GCM-SHA256|AES256-GCM-SHA384|'
                 r'CHACHA20-POLY1305))\n$')
LOG_LINE = re.compile(r'qtlsd: (loaded \S+ and \S+|'
                      r'\S+ TLSv1\.[23] [A-Za-z0-9_-]+ in=\d+ out=\d+( error: .+)?|'
                      r'\S+ handshake failed: .+|'
                      r'\S+ unable to start TLS: .+|'
                      r'warning: (bad request|protocol error) from a session program|'
                      r'warning: unable to load .+)$')


def implicit(d, ctx, ip='127.0.0.9'):
    """an "I" request for one end of a socket pair, a TLS client on the
    other: (TLS socket or None, handshake error, answer line, connection)"""
    ours, theirs = socket.socketpair()
    conn = d.request('I', theirs.fileno(), ip)
    theirs.close()
    tls, err = tls_connect(ctx, ours)
    return tls, err, readline(conn), conn


def tcp_pair(lsock, args):
    """an openssl s_client connected to lsock, and our end of its connection"""
    p = subprocess.Popen(['openssl', 's_client', '-connect', '127.0.0.1:%d' %
                          lsock.getsockname()[1]] + args, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    conn, _ = lsock.accept()
    return p, conn


def read_until(f, text):
    """what f (a pipe) gives until text has come, or end of file, or TIMEOUT"""
    got = b''
    deadline = time.time() + TIMEOUT
    while text not in got and time.time() < deadline:
        if select.select([f], [], [], 0.2)[0]:
            chunk = os.read(f.fileno(), 65536)
            if not chunk:
                break
            got += chunk
    return got


def session_line(d, after, ip='127.0.0.9'):
    return d.wait_log(r'^qtlsd: %s TLSv' % re.escape(ip), after)


def test_usage():
    sock = os.path.join(TMP, 'usage.sock')
    for args, name in (([], 'no socket'), ([sock, sock], 'two sockets'),
                       (['-t', 'x', sock], 'a timeout not a number'),
                       (['-t', '0', sock], 'a zero timeout'), (['-n', '0', sock], 'a zero -n'),
                       (['-d', '2', sock], 'a readiness fd below 3'),
                       (['-q', sock], 'an unknown option'),
                       (['/' + 'x' * 120], 'a socket path too long')):
        r = subprocess.run([QTLSD] + args, capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        lines = r.stderr.splitlines()
        ok(r.returncode == 100 and len(lines) == 1 and lines[0].startswith('qtlsd: fatal: ')
           and r.stdout == '' and not os.path.exists(sock),
           'usage error, %s: exit 100, one line' % name, r.returncode, r.stderr)
    r = subprocess.run([QTLSD, '-u', 'no-such-user-qmta', sock], capture_output=True, text=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    ok(r.returncode == 111 and len(r.stderr.splitlines()) == 1 and
       r.stderr.startswith('qtlsd: fatal: unable to find user no-such-user-qmta: ')
       and not os.path.exists(sock),
       'an unknown user: exit 111, one line, no socket', r.returncode, r.stderr)


def test_implicit(d, cert, lsock):
    ctx = client_ctx(cert)
    mark = len(d.lines())
    tls, err, line, conn = implicit(d, ctx)
    m = Y13.match(line)
    ok(tls is not None and tls.version() == 'TLSv1.3',
       'TLS 1.3: the client verifies the certificate and the name', err)
    ok(m is not None and tls is not None and m.group(1) == tls.cipher()[0],
       'the Y line names TLSv1.3 and the cipher the client got', line)
    up, down = os.urandom(MIB2), os.urandom(MIB2)
    got_plain, got_tls = safe_pump(tls, conn, up, down, 'tls', TAIL)
    ok(got_plain == up, '2 MiB from the TLS client reach the session unchanged', len(got_plain))
    ok(got_tls == down + TAIL, '2 MiB from the session reach the TLS client unchanged, and '
       'after the client closed its side the session still sends', len(got_tls))
    line = session_line(d, mark)
    ok(re.match(r'qtlsd: 127\.0\.0\.9 TLSv1\.3 %s in=%d out=%d$' %
                (m.group(1) if m else 'x', MIB2, MIB2 + len(TAIL)), line),
       'one log line: client, protocol, cipher, bytes each way', line)
    tls.close()
    conn.close()

    # TLS 1.2, the session closing first, an IPv6 client in the log
    mark = len(d.lines())
    tls, err, line, conn = implicit(d, client_ctx(cert, ssl.TLSVersion.TLSv1_2), '2001:db8::7')
    m = Y12.match(line)
    ok(tls is not None and tls.version() == 'TLSv1.2' and m is not None
       and m.group(1) == tls.cipher()[0], 'TLS 1.2 with an ECDHE AEAD suite', line, err)
    got_plain, got_tls = safe_pump(tls, conn, up, down, 'plain', TAIL)
    ok(got_plain == up + TAIL and got_tls == down,
       'TLS 1.2: 2 MiB each way; after the session closed its side the client still sends',
       len(got_plain), len(got_tls))
    line = session_line(d, mark, '2001:db8::7')
    ok(re.match(r'qtlsd: 2001:db8::7 TLSv1\.2 %s in=%d out=%d$' %
                (m.group(1) if m else 'x', MIB2 + len(TAIL), MIB2), line),
       'the log line names an IPv6 client as it is', line)
    tls.close()
    conn.close()

    # the server's order wins; non-AEAD and non-ECDHE suites are refused
    tls, err, line, conn = implicit(d, client_ctx(cert, ssl.TLSVersion.TLSv1_2,
                                                  'ECDHE-RSA-AES256-GCM-SHA384:'
                                                  'ECDHE-RSA-AES128-GCM-SHA256'))
    ok(line == 'Y TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256\n', "the server's cipher order wins", line)
    if tls is not None:
        tls.close()
    conn.close()
    mark = len(d.lines())
    tls, err, line, conn = implicit(d, client_ctx(cert, ssl.TLSVersion.TLSv1_2,
                                                  'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:'
                                                  'AES128-GCM-SHA256:AES256-SHA256'))
    ok(tls is None and line.startswith('N handshake failed: ') and line.endswith('\n'),
       'TLS 1.2 without ECDHE and AEAD: refused, N handshake failed', line, err)
    logged = d.wait_log(r'^qtlsd: 127\.0\.0\.9 handshake failed: ', mark)
    ok(logged != '', 'the refused handshake is logged', logged)
    conn.close()

    # TLS 1.1 and 1.0 (the client lowers its own security level to try)
    for flag in ('-tls1_1', '-tls1'):
        p, sock = tcp_pair(lsock, [flag, '-cipher', 'DEFAULT@SECLEVEL=0', '-quiet'])
        conn = d.request('I', sock.fileno())
        sock.close()
        line = readline(conn)
        out = p.communicate(b'hello\n', timeout=TIMEOUT)[0].decode('latin-1')
        ok(line == 'N handshake failed: unsupported protocol\n' and p.returncode != 0,
           'refused: %s (N handshake failed: unsupported protocol)' % flag, line, out)
        conn.close()

    # client-initiated renegotiation is refused: s_client's "R", each step
    # after the previous one arrived
    mark = len(d.lines())
    p, sock = tcp_pair(lsock, ['-tls1_2'])
    conn = d.request('I', sock.fileno())
    sock.close()
    first = readline(conn)
    got = ''
    out = b''
    try:
        p.stdin.write(b'one\n')
        p.stdin.flush()
        got = readline(conn)
        conn.sendall(b'echo:one\n')
        out = read_until(p.stdout, b'echo:one\n')
        p.stdin.write(b'R\n')
        p.stdin.flush()
        out += read_until(p.stdout, b'RENEGOTIATING')
        p.stdin.write(b'two\n')
    except BrokenPipeError:
        pass
    rest = recv_all(conn)
    out = (out + p.communicate(timeout=TIMEOUT)[0]).decode('latin-1')
    line = session_line(d, mark)
    ok(first.startswith('Y TLSv1.2 ') and got == 'one\n' and 'echo:one' in out
       and 'RENEGOTIATING' in out and rest == b'' and ' in=4 out=9 error: ' in line,
       'TLS 1.2 renegotiation is refused; nothing after it reaches the session',
       first, got, rest, line, out[-600:])
    conn.close()

    # a client that closes once it has the last reply, our close_notify
    # unread (smtplib after 221): a reset, yet a normal end of the session
    mark = len(d.lines())
    client = socket.create_connection(lsock.getsockname(), timeout=TIMEOUT)
    sock, _ = lsock.accept()
    conn = d.request('I', sock.fileno())
    sock.close()
    tls, err = tls_connect(ctx, client)
    first = readline(conn)
    tls.sendall(b'QUIT\r\n')
    got = readline(conn)
    conn.sendall(b'221 bye\r\n')
    conn.close()
    bye = readline(tls)
    time.sleep(0.2)  # our close_notify arrives, and stays unread
    tls.close()
    line = session_line(d, mark)
    ok(first.startswith('Y ') and got == 'QUIT\r\n' and bye == '221 bye\r\n' and
       re.match(r'qtlsd: 127\.0\.0\.9 TLSv1\.3 \S+ in=6 out=9$', line),
       'a client that resets after the last reply: logged as a normal end, no error', line)

    # a plaintext client; a silent one (-t 3)
    mark = len(d.lines())
    ours, theirs = socket.socketpair()
    conn = d.request('I', theirs.fileno())
    theirs.close()
    ours.sendall(b'EHLO plain.example\r\n')
    line = readline(conn)
    ours.settimeout(TIMEOUT)
    got = recv_all(ours)
    ok(line.startswith('N handshake failed: ') and b'\r\n' not in got,
       'a plaintext client: N handshake failed, nothing relayed', line, got)
    ours.close()
    conn.close()
    ours, theirs = socket.socketpair()
    t0 = time.time()
    conn = d.request('I', theirs.fileno())
    theirs.close()
    line = readline(conn)
    spent = time.time() - t0
    ok(line == 'N handshake failed: timed out\n' and 2.5 < spent < TIMEOUT,
       'a silent client: the handshake ends after -t seconds', line, spent)
    ours.close()
    conn.close()
    logged = d.wait_log(r'^qtlsd: 127\.0\.0\.9 handshake failed: timed out$', mark)
    ok(logged != '', 'the timed-out handshake is logged', d.text())


def test_bad_requests(d, cert):
    """requests that get no TLS, all at once: each closes without an answer
    and the client's socket gets nothing"""
    mark = len(d.lines())
    cases = []

    def add(name, raw, kind, wait=False, then=None):
        ours, theirs = socket.socketpair()
        if kind == 'socket':
            fd = theirs.fileno()
        elif kind == 'pipe':
            pr, pw = os.pipe()
            fd = pr
        elif kind == 'file':
            fd = os.open(cert, os.O_RDONLY)
        else:
            fd = None
        conn = request(d.sock, None, fd, raw=raw)
        if kind == 'pipe':
            os.close(pr)
            os.close(pw)
        elif kind == 'file':
            os.close(fd)
        theirs.close()
        first = b''
        if then is not None:
            first = readline(conn).encode()
            conn.sendall(then)
        cases.append((name, conn, ours, wait, time.time(), first))

    add('no descriptor attached', b'I 127.0.0.9\n', None)
    add('a pipe attached', b'I 127.0.0.9\n', 'pipe')
    add('a file attached', b'I 127.0.0.9\n', 'file')
    add('garbage', b'HELLO there\n', 'socket')
    add('an unknown kind', b'X 127.0.0.9\n', 'socket')
    add('no blank after the kind', b'I127.0.0.9\n', 'socket')
    add('bytes after the line', b'I 127.0.0.9\nmore', 'socket')
    add('an over-long line', b'I ' + b'1' * 200 + b'\n', 'socket')
    add('silence', b'', None, wait=True)
    add('a line without its end, then silence', b'I 127.0.0', 'socket', wait=True)
    expect_warnings = len(cases)
    add('"P", then no "S" until -t', b'P 127.0.0.9\n', 'socket', wait=True)
    add('"P", then a byte other than "S"', b'P 127.0.0.9\n', 'socket', then=b'X')
    for name, conn, ours, wait, t0, first in cases:
        answer = first + recv_all(conn)
        spent = time.time() - t0
        ours.settimeout(TIMEOUT)
        got = recv_all(ours)
        want = b'R\n' if name.startswith('"P"') else b''
        ok(answer == want and got == b'' and (not wait or 2.5 < spent < TIMEOUT),
           'bad request, %s: %s, the client gets no TLS' %
           (name, 'R and then nothing' if want else 'closed without an answer'),
           answer, got, spent)
        conn.close()
        ours.close()
    wait_until(lambda: len([line for line in d.lines()[mark:] if 'warning:' in line])
               >= expect_warnings + 1)
    warned = d.lines()[mark:]
    ok(len([line for line in warned if line == 'qtlsd: warning: bad request from a session '
            'program']) == expect_warnings and
       len([line for line in warned if line == 'qtlsd: warning: protocol error from a session '
            'program']) == 1 and len(warned) == expect_warnings + 1,
       'each bad request is logged once as a warning, "P" given up silently', '\n'.join(warned))
    tls, err, line, conn = implicit(d, client_ctx(cert))
    ok(d.proc.poll() is None and tls is not None and line.startswith('Y TLSv1.3 '),
       'the service still works after the bad requests', line, err)
    if tls is not None:
        tls.close()
    conn.close()


def test_busy(cert, key):
    d = Qtlsd('busy', ['-n', '2', '-t', '3', '-c', cert, '-k', key]).start()
    ctx = client_ctx(cert)
    held = [implicit(d, ctx) for _ in range(2)]
    ours, theirs = socket.socketpair()
    conn = d.request('I', theirs.fileno())
    theirs.close()
    line = readline(conn)
    ours.settimeout(2)
    got = recv_all(ours)
    ok(all(h[2].startswith('Y ') for h in held) and line == 'N busy: too many TLS sessions\n'
       and got == b'', '-n 2: a third session at once gets N busy and no TLS', line, got)
    conn.close()
    ours.close()
    tls, _, _, plain = held.pop()
    tls.close()
    plain.close()

    def try_one():
        tls, err, line, conn = implicit(d, ctx)
        if tls is not None:
            tls.close()
        conn.close()
        try_one.line = line
        return line.startswith('Y ')
    ok(wait_until(try_one), 'once a session ended, a new one is served',
       getattr(try_one, 'line', ''))
    for tls, _, _, plain in held:
        tls.close()
        plain.close()
    ok(d.stop() == 0, 'SIGTERM: exit 0')


def put(src, dst, mode=0o644):
    """src's bytes to dst, as a new file renamed over it"""
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst + '.tmp', 'wb') as f:
        f.write(data)
    os.chmod(dst + '.tmp', mode)
    os.rename(dst + '.tmp', dst)


def put_text(text, dst):
    with open(dst + '.tmp', 'w') as f:
        f.write(text)
    os.rename(dst + '.tmp', dst)


def test_files(cert, key, cert2, key2):
    """a missing or broken certificate or key: N with the reason; recovery"""
    tls_dir = os.path.join(TMP, 'tls')
    os.mkdir(tls_dir)
    c_file = os.path.join(tls_dir, 'cert.pem')
    k_file = os.path.join(tls_dir, 'key.pem')
    d = Qtlsd('files', ['-t', '3', '-c', c_file, '-k', k_file]).start()
    ctx = client_ctx(cert)

    def starttls_answer():
        """a "P" request: its answer; the client's socket checked unused"""
        ours, theirs = socket.socketpair()
        conn = d.request('P', theirs.fileno())
        line = readline(conn)
        if line == 'R\n':
            conn.sendall(b'S')
            tls, err = tls_connect(ctx, ours)
            yline = readline(conn)
            if tls is not None:
                tls.close()
            conn.close()
            return 'R+' + yline
        # as qsmtpd would: 454 and plaintext on the client's socket
        theirs.sendall(b'454 4.7.0 TLS not available\r\n')
        theirs.close()
        ours.settimeout(TIMEOUT)
        plain = readline(ours)
        conn.close()
        ours.close()
        return line if plain == '454 4.7.0 TLS not available\r\n' else 'socket used: %r' % plain

    line = starttls_answer()
    ok(line == 'N unable to read %s: No such file or directory\n' % c_file,
       'no certificate: the service starts, "P" gets N with the reason, the client\'s socket '
       'stays plaintext', line)
    tls, err, line, conn = implicit(d, ctx)
    ok(tls is None and line == 'N unable to read %s: No such file or directory\n' % c_file,
       'no certificate: "I" gets N', line)
    conn.close()
    logged = d.wait_log(r'^qtlsd: 127\.0\.0\.9 unable to start TLS: unable to read ')
    ok(logged != '', 'the refusal is logged', logged)

    put(cert, c_file)
    line = starttls_answer()
    ok(line == 'N unable to read %s: No such file or directory\n' % k_file,
       'no key: N with the reason', line)
    put(key, k_file, 0o600)
    mark = len(d.lines())
    line = starttls_answer()
    ok(line.startswith('R+Y TLSv1.3 ') and
       d.lines()[mark:mark + 1] == ['qtlsd: loaded %s and %s' % (c_file, k_file)],
       'good files put in place: loaded before the next session, which works', line, d.text())

    put_text('-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n', c_file)
    line = starttls_answer()
    ok(line.startswith('N unable to load certificate %s: ' % c_file),
       'a broken certificate: N unable to load certificate', line)
    put(cert, c_file)
    put(key2, k_file, 0o600)
    line = starttls_answer()
    ok(line.startswith('N unable to load key %s: ' % k_file),
       'the key of another certificate: N unable to load key', line)
    with open(key) as f:
        text = f.read()
    put_text(text[:len(text) // 2], k_file)
    line = starttls_answer()
    ok(line.startswith('N unable to load key %s: ' % k_file),
       'a truncated key: N unable to load key', line)

    # SIGHUP: loaded at once, before any session
    put(key, k_file, 0o600)
    mark = len(d.lines())
    d.proc.send_signal(signal.SIGHUP)
    logged = d.wait_log(r'^qtlsd: loaded ', mark)
    line = starttls_answer()
    loads = [x for x in d.lines()[mark:] if ' loaded ' in x]
    ok(logged == 'qtlsd: loaded %s and %s' % (c_file, k_file) and line.startswith('R+Y ')
       and loads == [logged],
       'SIGHUP loads the files at once; the next session works without loading again',
       logged, line, d.text())
    mark = len(d.lines())
    put(cert2, c_file)
    d.proc.send_signal(signal.SIGHUP)
    logged = d.wait_log(r'^qtlsd: warning: ', mark)
    ok(logged.startswith('qtlsd: warning: unable to load key %s: ' % k_file),
       'SIGHUP with files that do not match: the reason is logged at once', logged)
    put(key2, k_file, 0o600)
    ctx = client_ctx(cert2)
    line = starttls_answer()
    ok(line.startswith('R+Y '), 'a new certificate and key: the next session uses them', line)
    d.stop()


def test_accounts(cert, key):
    """-u nobody -g GROUP as root"""
    if os.geteuid() != 0:
        for name in ('socket mode 0660, owner and group', 'the service runs as -u',
                     'a key -u cannot read', 'the key made readable', 'sessions run as -u'):
            skip(name, 'not root')
        return
    nobody = pwd.getpwnam('nobody')
    group = grp.getgrgid(nobody.pw_gid).gr_name
    key400 = os.path.join(TMP, 'key400.pem')
    shutil.copy(key, key400)
    os.chmod(key400, 0o400)
    d = Qtlsd('accounts', ['-u', 'nobody', '-g', group, '-t', '3', '-c', cert, '-k',
                           key400]).start()
    st = os.stat(d.sock)
    ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
       and st.st_uid == nobody.pw_uid and st.st_gid == nobody.pw_gid,
       '-u nobody -g %s: the socket is mode 0660, owner nobody, group %s' % (group, group),
       oct(st.st_mode), st.st_uid, st.st_gid)
    uids, gids = proc_ids(d.pid)
    ok(uids == (nobody.pw_uid,) * 3 and gids == (nobody.pw_gid,) * 3,
       'the service runs as nobody (real, effective and saved ids)', uids, gids)
    ctx = client_ctx(cert)
    tls, err, line, conn = implicit(d, ctx)
    ok(tls is None and line.startswith('N unable to load key %s: ' % key400)
       and 'Permission denied' in line,
       "a key only root can read: N (it is read after root's privileges are gone)", line)
    conn.close()
    os.chown(key400, nobody.pw_uid, nobody.pw_gid)
    tls, err, line, conn = implicit(d, ctx)
    kids = d.children()
    ids = proc_ids(kids[0]) if len(kids) == 1 else None
    ok(tls is not None and line.startswith('Y TLSv1.3 '),
       'the key made readable by nobody alone (chown, mode 0400) is noticed and loads', line, err)
    ok(ids == ((nobody.pw_uid,) * 3, (nobody.pw_gid,) * 3), 'the TLS session runs as nobody',
       kids, ids)
    if tls is not None:
        tls.close()
    conn.close()
    d.stop()


def test_memory(d, cert):
    tls, err, line, conn = implicit(d, client_ctx(cert))
    safe_pump(tls, conn, os.urandom(65536), os.urandom(65536), None)
    kids = d.children()
    if len(kids) == 1:
        rss, pss = rss_pss_kib(kids[0])
        prss, ppss = rss_pss_kib(d.pid)
        note('a TLS session (TLS 1.3, after 64 KiB each way): Rss %d KiB, Pss %d KiB; '
             'the service itself: Rss %d KiB, Pss %d KiB' % (rss, pss, prss, ppss))
    else:
        rss = pss = -1
    if has_asan(QTLSD):
        skip('a session under 6 MiB (Pss)', 'built with ASan')
    else:
        ok(0 < pss <= 6 * 1024, 'a TLS session holds at most 6 MiB (Pss)', kids, rss, pss)
    if tls is not None:
        tls.close()
    conn.close()


def test_term(d, cert):
    """SIGTERM: the service exits, a running session goes on to its end"""
    mark = len(d.lines())
    tls, err, line, conn = implicit(d, client_ctx(cert))
    kids = d.children()
    rc = d.stop()
    try:
        request(d.sock, 'I', None)
        refused = False
    except OSError:
        refused = True
    ok(rc == 0 and refused, 'SIGTERM: the service exits 0 and takes no more requests', rc)
    up, down = os.urandom(100000), os.urandom(100000)
    alive = len(kids) == 1 and os.path.exists('/proc/%d' % kids[0])
    got_plain, got_tls = safe_pump(tls, conn, up, down, 'tls', TAIL)
    line = d.wait_log(r' in=100000 out=%d$' % (100000 + len(TAIL)), mark)
    ok(alive and got_plain == up and got_tls == down + TAIL and
       re.match(r'qtlsd: 127\.0\.0\.9 TLSv1\.3 \S+ in=100000 out=%d$' % (100000 + len(TAIL)),
                line), 'the session in progress goes on to its end and is logged', kids,
       len(got_plain), len(got_tls), line)
    conn.close()


def main():
    print('1..65')
    test_usage()
    cert, key = make_cert('a')
    cert2, key2 = make_cert('b', 'other.test.example')
    d = Qtlsd('main', ['-t', '3', '-c', cert, '-k', key]).start()
    st = os.stat(d.sock)
    ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
       and st.st_uid == os.geteuid() and d.lines() == ['qtlsd: loaded %s and %s' % (cert, key)],
       'ready (-d): the socket is mode 0600 without -g; the files are loaded and logged',
       oct(st.st_mode), d.text())
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(8)
    lsock.settimeout(TIMEOUT)
    test_implicit(d, cert, lsock)
    lsock.close()
    test_bad_requests(d, cert)
    test_memory(d, cert)
    test_term(d, cert)
    bad = [line for line in d.lines() if not LOG_LINE.match(line)]
    ok(bad == [] and len(d.lines()) > 20, 'every log line is one well-formed line', '\n'.join(bad))
    test_busy(cert, key)
    test_files(cert, key, cert2, key2)
    test_accounts(cert, key)


try:
    main()
finally:
    code = finish()
sys.exit(code)
