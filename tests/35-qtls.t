#!/usr/bin/env python3
# 35-qtls: qtls-server -i (implicit TLS, ports 465/995) under tcpserver and
# run directly: TLS 1.2 and 1.3 work, TLS 1.1 and non-AEAD suites are
# refused, the environment reaches the program, data passes unchanged, the
# exit status is the program's, and the two accounts (-u, -U) are used.
# Without qtls-server-tls (the TLS stage) on PATH the program never runs.
# Everything runs on 127.0.0.1 with a throwaway self-signed certificate;
# every wait is bounded; only processes started here are stopped.
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ['PATH'] = os.pathsep.join([os.path.join(ROOT, 'bin'), os.path.join(ROOT, 'qtls'),
                                      os.environ.get('PATH', '')])
SERVER = shutil.which('qtls-server')
TIMEOUT = 20

count = 0
failed = 0


def ok(cond, name, *diag):
    global count, failed
    count += 1
    print('%sok %d - %s' % ('' if cond else 'not ', count, name))
    if not cond:
        failed += 1
        for d in diag:
            for line in str(d).splitlines():
                print('#   ' + line)
    sys.stdout.flush()
    return cond


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_script(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)


tmp = tempfile.mkdtemp(prefix='qmta-test.')
os.chmod(tmp, 0o755)
started = []


def cleanup():
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


def make_cert(name):
    cert = os.path.join(tmp, name + '-cert.pem')
    key = os.path.join(tmp, name + '-key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=mx.test.example',
                    '-addext', 'subjectAltName=DNS:mx.test.example'],
                   check=True, capture_output=True, timeout=TIMEOUT)
    os.chmod(key, 0o644)
    return cert, key


def start_tcpserver(args, log):
    """tcpserver -v prints its status line once it listens: wait for that."""
    port = free_port()
    errf = open(log, 'w')
    p = subprocess.Popen(['tcpserver', '-vRHl0', '127.0.0.1', str(port), SERVER] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    started.append(p)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        with open(log) as f:
            if 'status: 0/' in f.read():
                return port, p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit('Bail out! tcpserver did not start')


def s_client(port, *opts, data=b'hello\n'):
    p = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port, '-quiet']
                       + list(opts), input=data, capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode('latin-1'), p.stderr.decode('latin-1')


def read_log(log, pattern):
    """the log line matching pattern, waiting for it a bounded time"""
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        with open(log) as f:
            for line in f:
                if re.search(pattern, line):
                    return line
        time.sleep(0.05)
    return ''


def client_ctx(cert):
    ctx = ssl.create_default_context(cafile=cert)
    return ctx


def direct(args, env=None):
    """qtls-server run directly, its fd 0/1 one end of a socket pair; returns
    (process, our end, stderr file name)"""
    ours, theirs = socket.socketpair()
    errname = os.path.join(tmp, 'direct-%d.err' % len(started))
    errf = open(errname, 'w')
    e = dict(os.environ)
    e['TCPREMOTEIP'] = '127.0.0.9'
    if env:
        e.update(env)
    p = subprocess.Popen([SERVER] + args, stdin=theirs.fileno(), stdout=theirs.fileno(),
                         stderr=errf, env=e)
    started.append(p)
    theirs.close()
    errf.close()
    ours.settimeout(TIMEOUT)
    return p, ours, errname


def recv_all(sock):
    data = b''
    while True:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    return data


def exchange(s, blob):
    """sends blob and reads as much back, in one thread (an SSL object must
    not be used by two threads at once)"""
    s.setblocking(False)
    sent = 0
    got = bytearray()
    deadline = time.time() + TIMEOUT
    while len(got) < len(blob) and time.time() < deadline:
        progress = False
        if sent < len(blob):
            try:
                sent += s.send(blob[sent:sent + 16384])
                progress = True
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            progress = True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        if not progress:
            select.select([s], [s] if sent < len(blob) else [], [], 0.5)
    s.setblocking(True)
    s.settimeout(TIMEOUT)
    return bytes(got)


def main():
    print('1..32')
    cert, key = make_cert('a')
    log = os.path.join(tmp, 'tcpserver.log')
    prog = os.path.join(tmp, 'greet.sh')
    write_script(prog, '#!/bin/sh\n'
                 'printf "proto=%s cipher=%s ip=%s ctl=%s data=%s uid=%s\\n" "$QTLS_PROTO" '
                 '"$QTLS_CIPHER" "$TCPREMOTEIP" "$QTLS_CTL" "$QTLS_DATA" "$(id -u)"\n'
                 'IFS= read -r line; printf "echo:%s\\n" "$line"\n')
    port, _ = start_tcpserver(['-i', '-c', cert, '-k', key, prog], log)
    twice = os.path.join(tmp, 'twice.sh')
    write_script(twice, '#!/bin/sh\nfor i in 1 2; do IFS= read -r line; echo "echo:$line"; done\n')
    port2r, _ = start_tcpserver(['-i', '-c', cert, '-k', key, twice], log + 'r')

    # TLS 1.3
    rc, out, err = s_client(port, '-tls1_3')
    ok(rc == 0, 'TLS 1.3 session ends cleanly', out, err)
    m = re.search(r'proto=(\S*) cipher=(\S*) ip=(\S*) ctl=(\S*) data=(\S*) uid=', out)
    ok(m is not None and m.group(1) == 'TLSv1.3', 'QTLS_PROTO=TLSv1.3 reaches the program', out)
    ok(m is not None and m.group(2).startswith('TLS_') and m.group(3) == '127.0.0.1',
       'QTLS_CIPHER and TCPREMOTEIP reach the program', out)
    ok(m is not None and m.group(4) == '' and m.group(5) == '', 'no QTLS_CTL/QTLS_DATA with -i',
       out)
    ok('echo:hello' in out, 'the program reads and writes plaintext through TLS', out)
    line = read_log(log, r'qtls-server: 127\.0\.0\.1 TLSv1\.3 ')
    ok(re.search(r'qtls-server: 127\.0\.0\.1 TLSv1\.3 TLS_\S+ in=6 out=\d+$', line) is not None,
       'one log line with client, protocol, cipher and byte counts', line)

    # TLS 1.2: ECDHE and AEAD only
    rc, out, err = s_client(port, '-tls1_2')
    ok(rc == 0 and 'proto=TLSv1.2 cipher=ECDHE-RSA-AES' in out and 'GCM' in out
       and 'echo:hello' in out, 'TLS 1.2 works with an ECDHE AEAD suite', out, err)
    rc, out, err = s_client(port, '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256')
    ok(rc != 0 and 'proto=' not in out, 'TLS 1.2 without ECDHE+AEAD is refused', out, err)
    rc, out, err = s_client(port, '-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384:'
                            'ECDHE-RSA-AES128-GCM-SHA256')
    ok(rc == 0 and 'cipher=ECDHE-RSA-AES128-GCM-SHA256' in out,
       "the server's cipher preference wins", out, err)

    # client-initiated renegotiation is refused (s_client's "R" command, which
    # must arrive alone in one read: each step waits for the previous answer)
    p = subprocess.Popen(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port2r, '-tls1_2'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started.append(p)
    out = ''
    try:
        for line, answer in ((b'one\n', 'echo:one'), (b'R\n', 'RENEGOTIATING'),
                             (b'two\n', None)):
            p.stdin.write(line)
            p.stdin.flush()
            deadline = time.time() + TIMEOUT
            while answer is not None and answer not in out and time.time() < deadline:
                if select.select([p.stdout], [], [], 0.5)[0]:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk.decode('latin-1')
        p.stdin.close()
    except BrokenPipeError:
        pass
    try:
        out += p.communicate(timeout=TIMEOUT)[0].decode('latin-1')
    except ValueError:
        pass
    ok('echo:one' in out and 'RENEGOTIATING' in out and 'echo:two' not in out,
       'TLS 1.2 renegotiation is refused', out)

    # TLS 1.1 and 1.0 refused (the client lowers its own security level to try)
    for flag in ('-tls1_1', '-tls1'):
        rc, out, err = s_client(port, flag, '-cipher', 'DEFAULT@SECLEVEL=0')
        ok(rc != 0 and 'proto=' not in out, 'refused: %s' % flag, out, err)
    line = read_log(log, r'handshake failed: unsupported protocol')
    ok(line != '', 'the refused handshake is logged', line)

    # a plaintext client gets nothing from the program
    with socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT) as s:
        s.sendall(b'EHLO plain.example\r\n')
        got = recv_all(s)
    ok(b'proto=' not in got and b'echo:' not in got, 'a plaintext client never reaches the program',
       got)

    # bulk data through python's ssl, against cat
    port2, _ = start_tcpserver(['-i', '-c', cert, '-k', key, 'cat'], log + '2')
    blob = os.urandom(1 << 20)
    ctx = client_ctx(cert)
    with socket.create_connection(('127.0.0.1', port2), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname='mx.test.example') as s:
            version = s.version()
            got = exchange(s, blob)
    ok(version == 'TLSv1.3', 'python ssl verifies the certificate and gets TLS 1.3', version)
    ok(got == blob, '1 MiB passes through cat unchanged', len(got))

    # run directly: exit status, a failed handshake, the accounts
    exit7 = os.path.join(tmp, 'exit7.sh')
    write_script(exit7, '#!/bin/sh\nIFS= read -r line; echo "got $line"; exit 7\n')
    p, ours, errname = direct(['-i', '-c', cert, '-k', key, exit7])
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        s.sendall(b'x\n')
        got = recv_all(s)
    rc = p.wait(TIMEOUT)
    ok(got == b'got x\n' and rc == 7, "the wrapper exits with the program's status", got, rc)

    marker = os.path.join(tmp, 'ran')
    toucher = os.path.join(tmp, 'touch.sh')
    write_script(toucher, '#!/bin/sh\ntouch %s\necho hi\n' % marker)
    p, ours, errname = direct(['-i', '-c', cert, '-k', key, toucher])
    ours.sendall(b'EHLO plain.example\r\n')
    got = recv_all(ours)
    ours.close()
    rc = p.wait(TIMEOUT)
    with open(errname) as f:
        err = f.read()
    ok(rc == 111 and got[:1] != b'h' and not os.path.exists(marker),
       'a failed handshake: exit 111, the program never runs', rc, got, err)
    ok(re.search(r'^qtls-server: 127\.0\.0\.9 handshake failed: \S', err, re.M) is not None,
       'the failed handshake is logged', err)

    p, ours, errname = direct(['-i', '-t', '1', '-c', cert, '-k', key, toucher])
    t0 = time.time()
    rc = p.wait(TIMEOUT)
    ours.close()
    with open(errname) as f:
        err = f.read()
    ok(rc == 111 and 'handshake failed: timed out' in err and time.time() - t0 < TIMEOUT,
       'a silent client times out (-t)', rc, err)

    # -U: the program runs as that account, with its supplementary groups
    idprog = os.path.join(tmp, 'id.sh')
    write_script(idprog, '#!/bin/sh\necho "uid=$(id -u) gid=$(id -g) groups=$(id -G)"\n')
    want = subprocess.run(['id', '-u', 'nobody'], capture_output=True, text=True).stdout.strip()
    wantg = subprocess.run(['id', '-G', 'nobody'], capture_output=True, text=True).stdout.strip()
    if os.geteuid() == 0:
        p, ours, errname = direct(['-i', '-U', 'nobody', '-c', cert, '-k', key, idprog])
        with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
            got = recv_all(s).decode()
        rc = p.wait(TIMEOUT)
        ok(rc == 0 and ('uid=%s ' % want) in got and got.rstrip().endswith('groups=' + wantg),
           '-U: the program runs as the account, with its groups', got, wantg)

        # -u: the wrapper drops before it reads the key
        key600 = os.path.join(tmp, 'key600.pem')
        shutil.copy(key, key600)
        os.chmod(key600, 0o600)
        p, ours, errname = direct(['-i', '-u', 'nobody', '-c', cert, '-k', key600, toucher])
        rc = p.wait(TIMEOUT)
        ours.close()
        with open(errname) as f:
            err = f.read()
        ok(rc == 111 and 'unable to read ' + key600 + ': Permission denied' in err
           and not os.path.exists(marker), '-u: the key is read after dropping root', rc, err)

        slow = os.path.join(tmp, 'slow.sh')
        write_script(slow, '#!/bin/sh\nIFS= read -r line; echo "$line"\n')
        p, ours, errname = direct(['-i', '-u', 'nobody', '-U', 'root', '-c', cert, '-k', key,
                                   slow])
        with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
            with open('/proc/%d/status' % p.pid) as f:
                status = f.read()
            s.sendall(b'fine\n')
            got = recv_all(s)
        rc = p.wait(TIMEOUT)
        uid = re.search(r'^Uid:\s+(\d+)\s+(\d+)\s+(\d+)', status, re.M)
        ok(uid is not None and uid.groups() == (want, want, want),
           '-u: the wrapper runs as the account during the session', status)
        ok(rc == 0 and got == b'fine\n', '-u: the session works', rc, got)
    else:
        for _ in range(4):
            ok(True, '# skip: not root')

    # usage
    p = subprocess.run([SERVER, '-i'], capture_output=True, text=True, timeout=TIMEOUT)
    ok(p.returncode == 100 and 'usage: qtls-server ' in p.stderr,
       'usage: no program', p.returncode, p.stderr)
    p = subprocess.run([SERVER, '-t', 'x', 'cat'], capture_output=True, text=True,
                       timeout=TIMEOUT)
    ok(p.returncode == 100, 'usage: bad timeout', p.returncode, p.stderr)
    p = subprocess.run([SERVER, '-u', 'no-such-user-qmta', 'cat'], capture_output=True,
                       text=True, timeout=TIMEOUT)
    ok(p.returncode == 111 and 'unable to find user no-such-user-qmta' in p.stderr,
       'unknown user: exit 111', p.returncode, p.stderr)

    # a missing certificate with -i is fatal, and the program never runs
    p, ours, errname = direct(['-i', '-c', os.path.join(tmp, 'none.pem'), '-k', key, toucher])
    rc = p.wait(TIMEOUT)
    ours.close()
    with open(errname) as f:
        err = f.read()
    ok(rc == 111 and 'No such file or directory' in err and not os.path.exists(marker),
       'missing certificate: exit 111, program not run', rc, err)

    # the TLS stage cannot be started: the program never runs
    nopath = os.path.join(tmp, 'empty-bin')
    os.makedirs(nopath)
    p, ours, errname = direct(['-i', '-c', cert, '-k', key, toucher], env={'PATH': nopath})
    rc = p.wait(TIMEOUT)
    got = recv_all(ours)
    ours.close()
    with open(errname) as f:
        err = f.read()
    ok(rc == 111 and got == b'' and not os.path.exists(marker),
       'no qtls-server-tls on PATH: exit 111, program not run', rc, got)
    ok(err == 'qtls-server: 127.0.0.9 unable to start TLS: qtls-server-tls: '
       'No such file or directory\n', 'the failed start is logged in one line', err)

    # QHOME gives the default certificate and key
    qhome = os.path.join(tmp, 'inst')
    os.makedirs(os.path.join(qhome, 'tls'))
    shutil.copy(cert, os.path.join(qhome, 'tls', 'cert.pem'))
    shutil.copy(key, os.path.join(qhome, 'tls', 'key.pem'))
    p, ours, errname = direct(['-i', exit7], env={'QHOME': qhome})
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        s.sendall(b'y\n')
        got = recv_all(s)
    rc = p.wait(TIMEOUT)
    ok(rc == 7 and got == b'got y\n', 'default certificate and key from $QHOME/tls', rc, got)

    # the log of every session above is one line each
    with open(log) as f:
        lines = [l for l in f if l.startswith('qtls-server:')]
    ok(all(re.match(r'qtls-server: 127\.0\.0\.1 (handshake failed: .+|TLSv1\.[23] \S+ in=\d+ '
                    r'out=\d+)$', l.rstrip('\n')) for l in lines) and len(lines) >= 7,
       'every session logged as one well-formed line', ''.join(lines))


try:
    main()
finally:
    cleanup()
sys.exit(1 if failed else 0)
