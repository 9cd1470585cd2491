#!/usr/bin/env python3
# 37-qtls-starttls: qtls-server without -i (the STARTTLS control protocol of
# qtls-server.8), with a small fake line protocol program of our own that
# reads with a buffer the way qsmtpd does. Checks: commands before STARTTLS
# run in plaintext; a command pipelined after STARTTLS in the same packet is
# never executed (CVE-2011-0411), while a program that keeps its buffer does
# execute it (so the check can fail); plaintext sent between the 220 and the
# handshake breaks the handshake; N answers, timeouts, protocol errors and
# exit statuses. The two stages: a plaintext session is the small front
# alone (qtls-server-tls never started, little memory), STARTTLS turns the
# same process into qtls-server-tls, which refuses arguments not from the
# front, and without qtls-server-tls on PATH STARTTLS gets N and the
# plaintext session before it was served. Bounded waits; only processes
# started here are stopped.
import os
import re
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


# The fake protocol program. Commands are CRLF lines read through a 4 KiB
# buffer; every executed command is logged. "--no-discard" keeps the buffer
# across STARTTLS: the classic injection bug, used as a control.
FAKE = r'''
import os, sys
log = open(sys.argv[1], 'a')
discard = '--no-discard' not in sys.argv
ctl = int(os.environ['QTLS_CTL'])
data = int(os.environ['QTLS_DATA'])
log.write('env ctl=%s data=%s proto=%s inherit=%d\n' % (
    os.environ['QTLS_CTL'], os.environ['QTLS_DATA'], os.environ.get('QTLS_PROTO', '-'),
    os.get_inheritable(ctl) and os.get_inheritable(data)))
log.flush()
os.set_inheritable(ctl, False)
os.set_inheritable(data, False)

def out(s):
    os.write(1, s.encode())

buf = b''
tls = False
out('220 fake ready\r\n')
while True:
    while b'\r\n' not in buf:
        chunk = os.read(0, 4096)
        if not chunk:
            log.write('eof\n')
            sys.exit(0)
        buf += chunk
    line, buf = buf.split(b'\r\n', 1)
    cmd = line.decode('latin-1')
    if cmd == 'STARTTLS' and not tls:
        out('220 go ahead\r\n')
        if discard:
            buf = b''
        os.write(ctl, b'S')
        ans = b''
        while not ans.endswith(b'\n'):
            c = os.read(ctl, 256)
            if not c:
                break
            ans += c
        log.write('ctl %r\n' % ans.decode('latin-1'))
        log.flush()
        if not ans.startswith(b'Y '):
            sys.exit(0)
        os.dup2(data, 0)
        os.dup2(data, 1)
        os.close(data)
        os.close(ctl)
        tls = True
        out('220 tls %s\r\n' % ans.decode().strip())
        continue
    if cmd == 'QUIT':
        out('221 bye\r\n')
        sys.exit(0)
    if cmd.startswith('EXIT '):
        sys.exit(int(cmd[5:]))
    if cmd.startswith('CTL '):
        os.write(ctl, cmd[4:].encode())
        continue
    log.write('exec %s tls=%d\n' % (cmd, tls))
    log.flush()
    out('250 ok %s\r\n' % cmd)
'''


def make_cert():
    cert = os.path.join(tmp, 'cert.pem')
    key = os.path.join(tmp, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=mx.test.example',
                    '-addext', 'subjectAltName=DNS:mx.test.example'],
                   check=True, capture_output=True, timeout=TIMEOUT)
    return cert, key


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_tcpserver(args, log):
    port = free_port()
    errf = open(log, 'w')
    p = subprocess.Popen(['tcpserver', '-vRHl0', '127.0.0.1', str(port), SERVER] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    started.append(p)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        with open(log) as f:
            if 'status: 0/' in f.read():
                return port
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit('Bail out! tcpserver did not start')


def direct(args, env=None):
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


def readline(s):
    """one CRLF line, byte by byte, so nothing after it is consumed"""
    line = b''
    while not line.endswith(b'\r\n'):
        c = s.recv(1)
        if not c:
            break
        line += c
    return line.decode('latin-1')


def recv_all(sock):
    data = b''
    while True:
        try:
            chunk = sock.recv(65536)
        except (ssl.SSLError, ConnectionError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def read_file(fn):
    try:
        with open(fn) as f:
            return f.read()
    except FileNotFoundError:
        return ''


def wait_file(fn, text):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if text in read_file(fn):
            return True
        time.sleep(0.05)
    return False


def proc_name(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return ''


def proc_tree(pid):
    """pid and every descendant, as (pid, name) pairs"""
    children = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(')') + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    tree = []
    todo = [pid]
    while todo:
        p = todo.pop()
        tree.append((p, proc_name(p)))
        todo.extend(children.get(p, []))
    return tree


def vm_rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        m = re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M)
    return int(m.group(1)) if m else -1


def maps_shared_objects(pid):
    """True if the process has any shared library mapped (a dynamic program)"""
    with open('/proc/%d/maps' % pid) as f:
        return re.search(r'\.so(\.[0-9.]+)?$', f.read(), re.M) is not None


def main():
    print('1..42')
    cert, key = make_cert()
    fake = os.path.join(tmp, 'fake.py')
    with open(fake, 'w') as f:
        f.write(FAKE)
    py = sys.executable
    ctx = ssl.create_default_context(cafile=cert)

    # over TCP: STARTTLS with a command pipelined in the same packet
    log = os.path.join(tmp, 'fake.log')
    tlog = os.path.join(tmp, 'tcpserver.log')
    port = start_tcpserver(['-c', cert, '-k', key, py, fake, log], tlog)
    with socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT) as raw:
        greeting = readline(raw)
        raw.sendall(b'NOOP\r\n')
        plain_reply = readline(raw)
        raw.sendall(b'STARTTLS\r\nINJECTED\r\n')
        go = readline(raw)
        with ctx.wrap_socket(raw, server_hostname='mx.test.example') as s:
            hello = readline(s)
            s.sendall(b'AFTER\r\n')
            first = readline(s)
            s.sendall(b'QUIT\r\n')
            bye = readline(s)
            rest = recv_all(s)
    ok(greeting == '220 fake ready\r\n' and plain_reply == '250 ok NOOP\r\n',
       'plaintext commands work before STARTTLS', greeting, plain_reply)
    ok(go == '220 go ahead\r\n', 'the program answers STARTTLS in plaintext', go)
    m = re.match(r'220 tls Y (TLSv1\.3) (TLS_[A-Z0-9_]+)\r\n$', hello)
    ok(m is not None, 'the program gets "Y proto cipher" on ctl', hello)
    ok(first == '250 ok AFTER\r\n', 'the first reply under TLS answers the first TLS command',
       first)
    ok(bye == '221 bye\r\n' and rest == b'', 'QUIT ends the session cleanly', bye, rest)
    wait_file(log, 'exec AFTER')
    text = read_file(log)
    ok('exec NOOP tls=0' in text and 'exec AFTER tls=1' in text, 'the program logged both', text)
    ok('INJECTED' not in text, 'the command pipelined after STARTTLS was never executed', text)
    ok('env ctl=6 data=7 proto=- inherit=1' in text,
       'QTLS_CTL=6 and QTLS_DATA=7, inheritable, no QTLS_PROTO', text)
    line = ''
    if wait_file(tlog, 'qtls-server: 127.0.0.1 TLSv1.3'):
        line = [l for l in read_file(tlog).splitlines() if l.startswith('qtls-server:')][0]
    ok(re.match(r'qtls-server: 127\.0\.0\.1 TLSv1\.3 TLS_\S+ in=13 out=\d+$', line) is not None,
       'one log line for the TLS session', read_file(tlog))

    # the control: a program that keeps its buffer does run the injected command
    log2 = os.path.join(tmp, 'fake2.log')
    port2 = start_tcpserver(['-c', cert, '-k', key, py, fake, log2, '--no-discard'], tlog + '2')
    with socket.create_connection(('127.0.0.1', port2), timeout=TIMEOUT) as raw:
        readline(raw)
        raw.sendall(b'STARTTLS\r\nINJECTED\r\n')
        readline(raw)
        with ctx.wrap_socket(raw, server_hostname='mx.test.example') as s:
            readline(s)
            first = readline(s)
            s.sendall(b'QUIT\r\n')
            recv_all(s)
    wait_file(log2, 'exec INJECTED')
    ok('exec INJECTED tls=1' in read_file(log2) and first == '250 ok INJECTED\r\n',
       'control: the injection is seen when the program keeps its buffer', read_file(log2),
       first)

    # run directly, for exit statuses
    def session(args, env=None, tag='d'):
        flog = os.path.join(tmp, tag + '.log')
        p, ours, errname = direct(args + [py, fake, flog], env)
        return p, ours, errname, flog

    # plaintext sent after the 220 but before the handshake breaks the handshake
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='evil')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    go = readline(ours)
    ours.sendall(b'EVIL\r\n')
    try:
        with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
            s.sendall(b'AFTER\r\n')
            got = recv_all(s)
        shook = True
    except (ssl.SSLError, ConnectionError, socket.timeout):
        shook = False
    rc = p.wait(TIMEOUT)
    text = read_file(flog)
    ok(go == '220 go ahead\r\n' and not shook,
       'plaintext before the ClientHello breaks the handshake', go, shook)
    ok(rc == 111 and "ctl 'N handshake failed: " in text and 'EVIL' not in text
       and 'AFTER' not in text,
       'the program gets N and exits; the wrapper exits 111; EVIL never runs', rc, text)
    ok(re.search(r'^qtls-server: 127\.0\.0\.9 handshake failed: ', read_file(errname), re.M),
       'the failed handshake is logged', read_file(errname))

    # a client that goes silent after STARTTLS: -t bounds the handshake
    p, ours, errname, flog = session(['-t', '1', '-c', cert, '-k', key], tag='silent')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    rc = p.wait(TIMEOUT)
    ours.close()
    ok(rc == 111 and "ctl 'N handshake failed: timed out\\n'" in read_file(flog),
       'handshake timeout: N handshake failed: timed out', rc, read_file(flog))

    # the program ends without asking: the wrapper exits with its status
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='exit')
    readline(ours)
    ours.sendall(b'EXIT 7\r\n')
    rc = p.wait(TIMEOUT)
    ours.close()
    ok(rc == 7, "no STARTTLS: the wrapper exits with the program's status", rc)
    ok(read_file(errname) == '', 'a session without TLS logs nothing', read_file(errname))

    # a byte other than S on ctl is a protocol error
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='proto')
    readline(ours)
    ours.sendall(b'CTL X\r\nQUIT\r\n')
    rc = p.wait(TIMEOUT)
    ours.close()
    ok(rc == 111 and 'protocol error on control descriptor' in read_file(errname),
       'an unknown control byte: protocol error, exit 111', rc, read_file(errname))

    # the program's exit status after a TLS session
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='exit2')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        readline(s)
        s.sendall(b'EXIT 9\r\n')
        got = recv_all(s)
    rc = p.wait(TIMEOUT)
    ok(rc == 9 and got == b'', "after TLS the wrapper exits with the program's status", rc, got)

    # the client closes under TLS: the program reads end of file
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='eof')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        readline(s)
        s.sendall(b'ONE\r\n')
        readline(s)
        s.unwrap()
    rc = p.wait(TIMEOUT)
    ok(rc == 0 and read_file(flog).endswith('exec ONE tls=1\neof\n'),
       "the client's close_notify reaches the program as end of file", rc, read_file(flog))

    # an unusable certificate: plaintext service goes on, STARTTLS gets N
    p, ours, errname, flog = session(['-c', os.path.join(tmp, 'none.pem'), '-k', key],
                                     tag='nocert')
    greeting = readline(ours)
    ours.sendall(b'NOOP\r\n')
    reply = readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    go = readline(ours)
    rc = p.wait(TIMEOUT)
    got = recv_all(ours)
    ours.close()
    text = read_file(flog)
    ok(greeting.startswith('220 ') and reply == '250 ok NOOP\r\n',
       'without a usable certificate plaintext still works', greeting, reply)
    ok(go == '220 go ahead\r\n' and "ctl 'N unable to read " in text and rc == 111,
       'and STARTTLS gets N with the reason', go, text, rc)
    ok('handshake failed: unable to read' in read_file(errname), 'the bad certificate is logged',
       read_file(errname))

    # the environment: QTLS_PROTO from outside is removed, QHOME gives the cert
    qhome = os.path.join(tmp, 'inst')
    os.makedirs(os.path.join(qhome, 'tls'))
    shutil.copy(cert, os.path.join(qhome, 'tls', 'cert.pem'))
    shutil.copy(key, os.path.join(qhome, 'tls', 'key.pem'))
    p, ours, errname, flog = session([], env={'QHOME': qhome, 'QTLS_PROTO': 'forged'},
                                     tag='qhome')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        hello = readline(s)
        s.sendall(b'QUIT\r\n')
        recv_all(s)
    rc = p.wait(TIMEOUT)
    text = read_file(flog)
    ok(rc == 0 and hello.startswith('220 tls Y TLSv1.3 '), 'certificate from $QHOME/tls', rc,
       hello)
    ok('proto=- ' in text, 'an inherited QTLS_PROTO is removed', text)

    # TLS 1.2 through STARTTLS, and the -U account
    ctx12 = ssl.create_default_context(cafile=cert)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='tls12')
    readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    with ctx12.wrap_socket(ours, server_hostname='mx.test.example') as s:
        hello = readline(s)
        s.sendall(b'QUIT\r\n')
        recv_all(s)
    rc = p.wait(TIMEOUT)
    ok(rc == 0 and re.match(r'220 tls Y TLSv1\.2 ECDHE-RSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|'
                            r'CHACHA20-POLY1305)\r\n$', hello),
       'TLS 1.2 with an ECDHE AEAD suite through STARTTLS', rc, hello)

    # the two stages: an idle plaintext session is the front alone
    p, ours, errname, flog = session(['-c', cert, '-k', key], tag='front')
    greeting = readline(ours)
    ours.sendall(b'NOOP\r\n')
    readline(ours)
    tree = proc_tree(p.pid)
    ok(greeting.startswith('220 ') and proc_name(p.pid) == 'qtls-server'
       and all(name != 'qtls-server-tls' for _, name in tree),
       'a plaintext session never starts qtls-server-tls', tree)
    rss = vm_rss_kib(p.pid)
    if maps_shared_objects(p.pid):
        ok(True, '# skip: the front is a dynamic program (no musl): RSS %d KiB' % rss)
    else:
        ok(0 < rss < 1024, 'the front of a plaintext session holds under 1 MiB (VmRSS)', rss)
    print('# front VmRSS during a plaintext session: %d KiB' % rss)
    # STARTTLS: the same process becomes the TLS stage
    ours.sendall(b'STARTTLS\r\n')
    readline(ours)
    with ctx.wrap_socket(ours, server_hostname='mx.test.example') as s:
        hello = readline(s)
        name = proc_name(p.pid)
        s.sendall(b'QUIT\r\n')
        recv_all(s)
    rc = p.wait(TIMEOUT)
    ok(rc == 0 and hello.startswith('220 tls Y ') and name == 'qtls-server-tls',
       'after STARTTLS the session runs as qtls-server-tls', rc, hello, name)

    # qtls-server-tls takes its arguments from qtls-server only
    stage = shutil.which('qtls-server-tls')
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    fa, fc = str(a.fileno()), str(c.fileno())
    for args, name in (([], 'no arguments'),
                       (['starttls'], 'too few arguments'),
                       (['tls', fa, fc, '1', '60', cert, key], 'an unknown mode'),
                       (['starttls', fa, fa, '1', '60', cert, key], 'the same descriptor twice'),
                       (['starttls', '1', fc, '1', '60', cert, key], 'a standard descriptor'),
                       (['starttls', '900', fc, '1', '60', cert, key], 'a descriptor not open'),
                       (['starttls', fa, '+' + fc, '1', '60', cert, key], 'a signed number'),
                       (['implicit', fa, fc, '1', '60', cert, key], 'a socket for the pipe'),
                       (['starttls', fa, fc, '1', 'x', cert, key], 'a bad timeout'),
                       (['starttls', fa, fc, '1', '60', cert, key], 'a pid not its child'),
                       (['starttls', fa, fc, '1', '60', cert, key, 'x'], 'too many arguments')):
        r = subprocess.run([stage] + args, capture_output=True, text=True, timeout=TIMEOUT,
                           pass_fds=(a.fileno(), c.fileno()))
        lines = r.stderr.splitlines()
        ok(r.returncode == 100 and len(lines) == 1 and lines[0].startswith('qtls-server-tls: ')
           and r.stdout == '', 'qtls-server-tls refuses %s: exit 100, one line' % name,
           r.returncode, r.stderr)
    for sock in (a, b, c, d):
        sock.close()

    # qtls-server-tls not on PATH: plaintext goes on, STARTTLS gets N
    nopath = os.path.join(tmp, 'empty-bin')
    os.makedirs(nopath)
    p, ours, errname, flog = session(['-c', cert, '-k', key], env={'PATH': nopath},
                                     tag='nostage')
    greeting = readline(ours)
    ours.sendall(b'NOOP\r\n')
    reply = readline(ours)
    ours.sendall(b'STARTTLS\r\n')
    go = readline(ours)
    rc = p.wait(TIMEOUT)
    ours.close()
    text = read_file(flog)
    err = read_file(errname)
    ok(greeting.startswith('220 ') and reply == '250 ok NOOP\r\n' and go == '220 go ahead\r\n',
       'without qtls-server-tls plaintext still works', greeting, reply, go)
    ok(rc == 111 and "ctl 'N unable to start TLS: qtls-server-tls: No such file or directory\\n'"
       in text, 'and STARTTLS gets N unable to start TLS; the wrapper exits 111', rc, text)
    ok(err == 'qtls-server: 127.0.0.9 unable to start TLS: qtls-server-tls: '
       'No such file or directory\n', 'the failed start is logged in one line', err)


try:
    main()
finally:
    cleanup()
sys.exit(1 if failed else 0)
