#!/usr/bin/env python3
# A queue that qsmtpd cannot write (queue/tmp not writable by qmta-smtpd,
# as after a wrong chmod or on a read-only disk): qsmtpd cannot open a
# queue file, hands the message to the qinject program instead (which
# cannot write either), and the end of the message (DATA's dot, BDAT LAST)
# gets 451; the session goes on (RSET, NOOP, a new transaction), the log
# says why, the qsmtpd process lives on, and once
# the queue is writable again the same session's next message is queued
# and delivered. Root only: as root qsmtpd runs as qmta-smtpd, whom the
# mode of queue/tmp can shut out.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)


def delivered(md, marker):
    for path in maildir_files(md).values():
        with open(path, "rb") as fh:
            if marker.encode() in fh.read():
                return True
    return False


def main():
    port = free_port()
    inst_make("--smtp", "127.0.0.1:%d" % port)
    inst_start()
    bob = QHOME + "/mail/test.example/bob"
    tmpdir = QHOME + "/queue/tmp"
    mode = os.stat(tmpdir).st_mode & 0o7777

    c = Client(port)
    pid = (wait_until(5, lambda: serving_pids(c.s, "qsmtpd")) or [0])[0]
    is_(c.code("EHLO client.example")[:3], "250", "EHLO")
    os.chmod(tmpdir, 0o500)
    try:
        first = [c.code("MAIL FROM:<a@client.example>"), c.code("RCPT TO:<bob@test.example>"),
                 c.code("DATA")[:3]]
        if first[2] == "354":
            c.send(b"Subject: refused\r\n\r\nhi\r\n.\r\n")
            first.append((c.reply() or ["EOF"])[-1][:3])
        is_(first, ["250 2.1.0", "250 2.1.5", "354", "451"],
            "queue not writable: the message gets 451 at its end")
        is_([c.code("RSET"), c.code("NOOP")], ["250 2.0.0", "250 2.0.0"],
            "the session goes on after it")
        bdat = [c.code("MAIL FROM:<a@client.example>"), c.code("RCPT TO:<bob@test.example>")]
        chunk = b"Subject: chunk\r\n\r\nhi\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        bdat.append((c.reply() or ["EOF"])[-1][:3])
        is_(bdat, ["250 2.1.0", "250 2.1.5", "451"],
            "queue not writable: BDAT LAST gets 451")
        ok(pid != 0 and alive(pid), "the same qsmtpd process still serves the client")
    finally:
        os.chmod(tmpdir, mode)
    c.code("RSET")
    again = [c.code("MAIL FROM:<a@client.example>"), c.code("RCPT TO:<bob@test.example>"),
             c.code("DATA")]
    c.send(b"Subject: again\r\nX-Marker: queue-back\r\n\r\nhi\r\n.\r\n")
    again.append((c.reply() or ["EOF"])[-1][:9])
    ok(again[2].startswith("354"), "writable again: DATA gets 354", again)
    is_([again[0], again[1], again[3]], ["250 2.1.0", "250 2.1.5", "250 2.0.0"],
        "and the same session's next message is queued")
    c.code("QUIT")
    c.close()
    ok(wait_until(20, lambda: delivered(bob, "queue-back"), 0.2), "and delivered")
    log = open(QHOME + "/log/smtp/current", errors="replace").read()
    ok("code=451 " in log, "the refusal is logged with its reply")
    ok("ended by signal" not in log, "no qsmtpd died of a signal", log[-2000:])


if os.getuid() != 0:
    print("1..0 # SKIP needs root (qsmtpd as qmta-smtpd, kept out of queue/tmp by its mode)")
    raise SystemExit(0)
run_main(main)
