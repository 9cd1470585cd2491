#!/usr/bin/env python3
# 39-qtlsd-instance: TLS end to end through a qsetup instance, where qtlsd
# is the tlsd service and qsmtpd and qpop3d hand it their clients: SMTP
# STARTTLS (python smtplib with TLS 1.2, swaks with TLS 1.3), implicit
# TLS on smtps, POP3 STLS and implicit TLS on pop3s, each verified against
# the instance's certificate; the Received: line names exactly the
# protocol and cipher the client negotiated; CVE-2011-0411 against
# qpop3d (a command pipelined after STLS in the same packet is never
# executed; qsmtpd's is in 33-tls-auth.t); one tlsd log line per session;
# the memory of a TLS session of the real service; a new certificate put
# in place of tls/cert.pem and tls/key.pem is served by the next session
# of every listener, without a restart of qtlsd.
# Loopback only; every wait is bounded; only processes started here are
# stopped.
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlsdtest import (QTLSD, TIMEOUT, Instance, children_of, finish, has_asan,  # noqa: E402
                      note, ok, read_file, readline, rss_pss_kib, skip, wait_until)

ME = 'test.example'
PASSWORD = 'bob secret'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ctx_for(cafile, maxver=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if maxver is not None:
        ctx.maximum_version = maxver
    return ctx


def mailbox(inst):
    return os.path.join(inst.home, 'mail', ME, 'bob')


def find_message(inst, tag):
    """the text of bob's message with X-Test: tag, or ''"""
    for sub in ('new', 'cur'):
        d = os.path.join(mailbox(inst), sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            text = read_file(os.path.join(d, name))
            if re.search(r'^X-Test: %s$' % re.escape(tag), text, re.M):
                return text
    return ''


def received_tls(text):
    """(proto, cipher) of the first Received: line (unfolded), or None"""
    head = text.split('\n\n', 1)[0]
    head = re.sub(r'\n[ \t]+', ' ', head)
    m = re.search(r'^Received: .*?with ESMTPSA? \((\S+) (\S+)\)[ ;]', head, re.M)
    return (m.group(1), m.group(2)) if m else None


class SMTPS(smtplib.SMTP_SSL):
    """SMTP_SSL checking the name ME (smtplib would check the address)"""

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=ME)


class POP3S(poplib.POP3_SSL):
    """POP3_SSL checking the name ME"""

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout)
        return self.context.wrap_socket(sock, server_hostname=ME)


def message(tag):
    return ('From: alice@else.example\r\nTo: bob@test.example\r\nSubject: tls\r\n'
            'X-Test: %s\r\n\r\nhello over TLS\r\n' % tag)


def smtp_starttls(port, ctx, tag=None):
    """STARTTLS on port: (the EHLO keywords before, the 220 code, version,
    cipher, the server's certificate in DER)"""
    with smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT) as s:
        s._host = ME  # the name starttls checks
        s.ehlo('client.example')
        before = dict(s.esmtp_features)
        code, _ = s.starttls(context=ctx)
        version, cipher = s.sock.version(), s.sock.cipher()[0]
        der = s.sock.getpeercert(binary_form=True)
        if tag is not None:
            s.sendmail('alice@else.example', ['bob@test.example'], message(tag))
    return before, code, version, cipher, der


def smtps(port, ctx, tag=None, hold=None):
    with SMTPS('127.0.0.1', port, timeout=TIMEOUT, context=ctx) as s:
        s.ehlo('client.example')
        features = dict(s.esmtp_features)
        version, cipher = s.sock.version(), s.sock.cipher()[0]
        der = s.sock.getpeercert(binary_form=True)
        if hold is not None:
            hold()
        if tag is not None:  # a submission port: AUTH first
            s.login('bob@test.example', PASSWORD)
            s.sendmail('bob@test.example', ['bob@test.example'], message(tag))
    return features, version, cipher, der


def pop3s(port, ctx):
    p = POP3S('127.0.0.1', port, timeout=TIMEOUT, context=ctx)
    try:
        der = p.sock.getpeercert(binary_form=True)
        p.user('bob@test.example')
        p.pass_(PASSWORD)
        count = p.stat()[0]
        top = b'\n'.join(p.top(1, 0)[1])
    finally:
        p.quit()
    return der, count, top


def make_new_cert(inst):
    """a second self-signed certificate for ME, put in place of tls/cert.pem
    and tls/key.pem with their owners and modes; its DER"""
    tls = os.path.join(inst.home, 'tls')
    cert, key = os.path.join(tls, 'cert.pem'), os.path.join(tls, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=' + ME, '-addext', 'subjectAltName=DNS:' + ME,
                    '-keyout', key + '.new', '-out', cert + '.new'],
                   check=True, capture_output=True, timeout=TIMEOUT)
    for path, new in ((key, key + '.new'), (cert, cert + '.new')):
        st = os.stat(path)
        os.chown(new, st.st_uid, st.st_gid)
        os.chmod(new, st.st_mode & 0o7777)
    os.rename(key + '.new', key)
    os.rename(cert + '.new', cert)
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def main():
    print('1..21')
    port, sport, pport, psport = free_port(), free_port(), free_port(), free_port()
    inst = Instance()
    inst.setup('--smtp', '127.0.0.1:%d' % port, '--smtps', '127.0.0.1:%d' % sport,
               '--pop3', '127.0.0.1:%d' % pport, '--pop3s', '127.0.0.1:%d' % psport)
    r = subprocess.run(['qpasswd', inst.home, 'bob@test.example'], input=PASSWORD.encode() + b'\n',
                       capture_output=True, timeout=TIMEOUT)
    r2 = subprocess.run(['qnewmaps', inst.home], capture_output=True, timeout=TIMEOUT)
    if r.returncode != 0 or r2.returncode != 0:
        print('Bail out! qpasswd or qnewmaps failed: %r %r' % (r.stdout, r2.stdout))
        return
    inst.start()
    cafile = os.path.join(inst.home, 'tls', 'cert.pem')
    with open(cafile) as f:
        old_der = ssl.PEM_cert_to_DER_cert(f.read())
    tlsd_pid = inst.pid('tlsd')

    # SMTP STARTTLS, TLS 1.2, python's smtplib verifying the certificate
    ctx12 = ctx_for(cafile, ssl.TLSVersion.TLSv1_2)
    before, code, version, cipher, der = smtp_starttls(port, ctx12, 'starttls-12')
    ok('starttls' in before and code == 220 and version == 'TLSv1.2' and der == old_der,
       'smtp: STARTTLS offered, 220, TLS 1.2 with the instance\'s certificate, verified',
       before, code, version)
    ok(wait_until(lambda: find_message(inst, 'starttls-12') != ''),
       'the message sent under STARTTLS is delivered')
    got = received_tls(find_message(inst, 'starttls-12'))
    ok(got == (version, cipher), 'its Received: line names the client\'s protocol and cipher',
       got, (version, cipher))

    # SMTP STARTTLS with swaks (TLS 1.3 by default)
    out = subprocess.run(['swaks', '--server', '127.0.0.1:%d' % port, '--tls',
                          '--from', 'alice@else.example', '--to', 'bob@test.example',
                          '--header', 'X-Test: swaks-starttls'],
                         capture_output=True, text=True, timeout=60).stdout
    m = re.search(r'TLS started with cipher (TLSv1\.[23]):(\S+?):\d+', out)
    ok(m is not None and re.search(r'^<~  250 2\.0\.0 ', out, re.M),
       'swaks --tls: TLS started and the message accepted', out)
    ok(wait_until(lambda: find_message(inst, 'swaks-starttls') != ''),
       'the message sent with swaks is delivered')
    got = received_tls(find_message(inst, 'swaks-starttls'))
    ok(m is not None and got == (m.group(1), m.group(2)),
       'its Received: line names what swaks negotiated', got, m and m.groups())

    # implicit TLS on smtps; the memory of a session of the real service
    sizes = []

    def sample():
        # this session's child: the one left once earlier sessions have ended
        if wait_until(lambda: len(children_of(tlsd_pid)) == 1, 5):
            sizes.append(rss_pss_kib(children_of(tlsd_pid)[0]))
    features, version, cipher, der = smtps(sport, ctx_for(cafile), 'smtps', sample)
    ok(version == 'TLSv1.3' and 'starttls' not in features and der == old_der,
       'smtps: TLS 1.3 before the greeting, verified; STARTTLS not offered', version, features)
    ok(wait_until(lambda: find_message(inst, 'smtps') != '')
       and received_tls(find_message(inst, 'smtps')) == (version, cipher),
       'the smtps message is delivered with the protocol and cipher in Received:',
       received_tls(find_message(inst, 'smtps')))
    if sizes:
        note('a TLS session of the tlsd service (smtps, TLS 1.3): Rss %d KiB, Pss %d KiB'
             % sizes[0])
    if has_asan(QTLSD):
        skip('the smtps session\'s qtlsd child holds at most 6 MiB (Pss)', 'built with ASan')
    else:
        ok(len(sizes) == 1 and 0 < sizes[0][1] <= 6 * 1024,
           'the smtps session\'s qtlsd child holds at most 6 MiB (Pss)', sizes)

    # POP3 STLS with a QUIT pipelined behind it (CVE-2011-0411)
    ctx = ctx_for(cafile)
    raw = socket.create_connection(('127.0.0.1', pport), timeout=TIMEOUT)
    greeting = readline(raw)
    raw.sendall(b'STLS\r\nQUIT\r\n')
    go = readline(raw)
    tls = ctx.wrap_socket(raw, server_hostname=ME)
    tls.sendall(b'CAPA\r\n')
    capa = []
    while True:
        line = readline(tls)
        capa.append(line)
        if line in ('.\r\n', '') or line.startswith('-ERR'):
            break
    ok(greeting.startswith('+OK') and go.startswith('+OK') and tls.version() == 'TLSv1.3',
       'pop3: STLS, +OK, TLS 1.3 verified', greeting, go)
    ok(capa[0].startswith('+OK') and 'USER\r\n' in capa and 'STLS\r\n' not in capa,
       'the QUIT pipelined after STLS was never executed: the first answer under TLS is '
       'CAPA\'s', capa)
    tls.sendall(b'USER bob@test.example\r\nPASS %s\r\n' % PASSWORD.encode())
    user = readline(tls)
    login = readline(tls)
    tls.sendall(b'STAT\r\nQUIT\r\n')
    stat = readline(tls)
    bye = readline(tls)
    tls.close()
    ok(user.startswith('+OK') and login.startswith('+OK') and stat.startswith('+OK 3 ')
       and bye.startswith('+OK'), 'pop3 after STLS: login, three messages, QUIT',
       user, login, stat, bye)

    # pop3s
    der, count, top = pop3s(psport, ctx)
    ok(der == old_der and count == 3 and b'X-Test: ' in top,
       'pop3s: implicit TLS verified, login, three messages', count, top)

    # the tlsd log: one line per TLS session, with the client, protocol, cipher
    def sessions_logged():
        return [x for x in inst.log('tlsd').splitlines()
                if re.search(r'qtlsd: 127\.0\.0\.1 TLSv1\.[23] ', x)]
    wait_until(lambda: len(sessions_logged()) >= 5)
    lines = inst.log('tlsd').splitlines()
    sessions = sessions_logged()
    well = all(re.search(r'qtlsd: (loaded tls/cert\.pem and tls/key\.pem|127\.0\.0\.1 '
                         r'TLSv1\.[23] [A-Za-z0-9_-]+ in=\d+ out=\d+)$', x) for x in lines)
    ok(len(sessions) == 5 and well, 'log/tlsd: one well-formed line for each of the 5 sessions',
       '\n'.join(lines))

    # a new certificate: served by the next session of every listener
    new_der = make_new_cert(inst)
    new_ctx = ctx_for(os.path.join(inst.home, 'tls', 'cert.pem'))
    before, code, version, cipher, der = smtp_starttls(port, new_ctx)
    ok(new_der != old_der and der == new_der and code == 220,
       'a new tls/cert.pem and key.pem: the next STARTTLS session presents the new certificate')
    features, version, cipher, der = smtps(sport, new_ctx)
    ok(der == new_der, 'and the next smtps session')
    der, count, top = pop3s(psport, new_ctx)
    ok(der == new_der and count == 3, 'and the next pop3s session')
    try:
        smtp_starttls(port, ctx)  # ctx trusts the certificate it read at the start
        old_ok = True
    except (ssl.SSLError, OSError):
        old_ok = False
    ok(not old_ok, 'a client that trusts only the old certificate fails to verify now')
    loads = [x for x in inst.log('tlsd').splitlines() if 'qtlsd: loaded ' in x]
    ok(inst.pid('tlsd') == tlsd_pid and tlsd_pid > 0 and len(loads) == 2,
       'qtlsd was not restarted: it loaded the files again itself', tlsd_pid,
       inst.pid('tlsd'), loads)
    qtlsd_user = subprocess.run(['ps', '-o', 'user=', '-p', str(tlsd_pid)], capture_output=True,
                                text=True, timeout=TIMEOUT).stdout.strip()
    if os.geteuid() == 0:
        ok(qtlsd_user == 'qmta-tls', 'the tlsd service runs as qmta-tls', qtlsd_user)
    else:
        skip('the tlsd service runs as qmta-tls', 'not root')
    inst.stop()
    errors = [x for x in inst.log('tlsd').splitlines()
              if 'warning' in x or 'fatal' in x or 'error' in x]
    ok(errors == [], 'no warning or error in log/tlsd', '\n'.join(errors))


try:
    main()
finally:
    code = finish()
sys.exit(code)
