#!/bin/sh
# qsmtpd under load and at its limits, over IPv6 ([::1]): 50 concurrent
# sessions all delivered; the Received: address literal and the log for an
# IPv6 client; the idle timeout (421 4.4.2); SIGTERM (421 4.3.2); resident
# memory of a session after a 1 MB message (under 2 MiB; not checked in a
# sanitizer build, whose runtime alone is bigger).
. "$(dirname "$0")/lib.sh"
plan 10

# py SCRIPT: python3 with PORT and QHOME; check(cond, name, detail) -> TAP.
py() {
  PORT=$PORT python3 -c "
import os, socket, sys, smtplib, threading, signal, time
PORT = int(os.environ['PORT'])
QHOME = os.environ['QHOME']
def check(cond, name, detail=''):
    print('R|%d|%s|%s' % (1 if cond else 0, name, str(detail).replace(chr(10), ' / ')))
    sys.stdout.flush()
$1
" 2>&1 | while IFS='|' read -r tag res name detail; do
    if [ "$tag" != R ]; then diag "$tag${res:+|$res}${name:+|$name}"; continue; fi
    if [ "$res" = 1 ]; then pass "$name"; else fail "$name"; diag "$detail"; fi
  done
}
renumber() {
  awk -v n="$T_NUM" '/^(not )?ok [0-9]+ - /{ sub(/ok [0-9]+ - /, "ok " ++n " - ") } { print }'
}
run() {
  py "$1" >"$T_TMP/py.out"
  renumber <"$T_TMP/py.out"
  T_NUM=$((T_NUM + $(grep -c '^ok \|^not ok ' "$T_TMP/py.out")))
  T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_TMP/py.out")))
  return 0
}

PORT=$(python3 -c 'import socket
s=socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])')
inst_setup --smtp "[::1]:$PORT"
echo 'bob@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" >/dev/null || bail "qnewmaps failed"
inst_start
BOB="$QHOME/mail/test.example/bob"

# 1. 50 concurrent sessions, each holding its connection until all are open
run '
N = 50
results = [None] * N
barrier = threading.Barrier(N, timeout=60)
def one(i):
    try:
        s = smtplib.SMTP("::1", PORT, timeout=60)
        s.ehlo("client%d.example" % i)
        barrier.wait()
        msg = ("X-Test: load %d\r\nSubject: load\r\n\r\n" % i) + ("line %d\r\n" % i) * 100
        s.sendmail("alice@else.example", ["bob@test.example"], msg)
        s.quit()
        results[i] = "ok"
    except Exception as e:
        results[i] = repr(e)
threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join(120)
bad = [r for r in results if r != "ok"]
check(not bad, "50 concurrent sessions: every message accepted", bad[:3])
'
ok "all 50 delivered" wait_for 90 has_mail "$BOB" 50
f=$(grep -l '^X-Test: load 7$' "$BOB"/new/* 2>/dev/null | head -1)
ok "Received: carries the IPv6 address literal" \
  grep -q '^Received: from client7.example (\[IPv6:::1\])$' "$f"
ok "IPv6 client in the log" wait_for 10 grep -q 'qsmtpd: accept ip=::1 helo=client7.example ' \
  "$QHOME/log/smtp/current"

# 2. timeout, SIGTERM and memory
echo 3 >"$QHOME/control/timeoutsmtpd"
if grep -q __asan_init "$T_ROOT/qsmtpd/qsmtpd" 2>/dev/null; then SAN=1; else SAN=0; fi
SAN=$SAN run '
def session():
    s = socket.create_connection(("::1", PORT), timeout=30)
    f = s.makefile("rb")
    f.readline()
    return s, f
def reply(f):
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line.decode("latin-1").strip()
s, f = session()
s.sendall(b"EHLO client.example\r\n")
reply(f)
r = reply(f)
check(r.startswith("421 4.4.2 "), "idle client: 421 4.4.2 after timeoutsmtpd", r)

def ours():
    """The qsmtpd processes of this instance serving a client: cwd is QHOME,
    fd 0 a socket (a waiting pool process has /dev/null there)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if open("/proc/%s/comm" % p).read().strip() == "qsmtpd" and \
               os.readlink("/proc/%s/cwd" % p) == QHOME and \
               os.readlink("/proc/%s/fd/0" % p).startswith("socket:"):
                pids.append(int(p))
        except OSError:
            pass
    return pids
s, f = session()
s.sendall(b"EHLO client.example\r\nMAIL FROM:<a@else.example>\r\n"
          b"RCPT TO:<bob@test.example>\r\nDATA\r\n")
for i in range(4): reply(f)
big = b"X-Test: big\r\n\r\n" + b"0123456789" * 100 + b"\r\n"
for i in range(1000):
    s.sendall(big[15:] if i else big)
s.sendall(b".\r\nNOOP\r\n")
r1 = reply(f)
reply(f)
pids = ours()
check(r1.startswith("250 2.0.0") and len(pids) == 1, "a 1 MB message in the session", (r1, pids))
rss = 0
if pids:
    for line in open("/proc/%d/status" % pids[0]):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
if os.environ.get("SAN") == "1":
    check(True, "resident memory not checked under sanitizers (%d kB)" % rss)
else:
    check(0 < rss < 2048, "resident memory of the session under 2 MiB (%d kB)" % rss, rss)
if pids:
    os.kill(pids[0], signal.SIGTERM)
r = reply(f)
check(r.startswith("421 4.3.2 "), "SIGTERM: 421 4.3.2", r)
check(f.readline() == b"", "then the connection is closed")
'
LOG="$QHOME/log/smtp/current"
ok "session ends logged" wait_for 10 \
  sh -c "grep -q 'end=timeout' '$LOG' && grep -q 'end=shutdown' '$LOG'"
