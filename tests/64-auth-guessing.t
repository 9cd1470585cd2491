#!/usr/bin/env python3
# Password guessing over real SMTP AUTH (and one POP3 login) against a
# qsetup instance: qauth counts failures per client address and per user
# name; a good login between guesses does not give the address its
# delay back; failures for one user from several addresses add up; after
# control/authlockip failures an address is refused (454 4.7.0, POP3
# [SYS/TEMP]) even with the right password until control/authlocktime
# has passed; control/authlockuser does the same for a user name; every
# failure and lockout is one log line a fail2ban filter can match.
# AUTH without TLS comes from loopback addresses with control/authplaintext
# (127.0.0.x are distinct client addresses to qauth); one check goes
# through STARTTLS.
import base64
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403 (the shared harness)

LOCKTIME = 3  # control/authlocktime, s


def plain(user, pw):
    return "AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


def auth(port, src, user, pw, tls=False):
    """one AUTH PLAIN on a new connection from src: (reply code, seconds the answer took)"""
    c = Client(port, src=src, timeout=30)
    c.cmd("EHLO client.example")
    if tls:
        c.starttls()
        c.cmd("EHLO client.example")
    start = time.monotonic()
    code = c.code(plain(user, pw))
    took = time.monotonic() - start
    c.cmd("QUIT")
    c.close()
    return code, took


def pop_pass(port, src, user, pw):
    """USER and PASS over plaintext POP3 from src: the answer to PASS"""
    c = Client(port, src=src, timeout=30)
    c.cmd("USER " + user)
    r = c.cmd("PASS " + pw)
    c.close()
    return r[0] if r else ""


def log_text():
    out = ""
    for name in ("smtp", "pop3"):
        try:
            with open(QHOME + "/log/%s/current" % name, encoding="latin-1") as f:
                out += f.read()
        except OSError:
            pass
    return out


def log_has(text):
    return wait_until(5, lambda: text in log_text(), 0.1)


def main():
    port = free_port()
    pop = free_port()
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % port,
            "--pop3", "127.0.0.1:%d" % pop)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode(errors="replace"))
        bail("qsetup failed")
    for user, pw in (("alice@test.example", b"alice pw\n"), ("bob@test.example", b"bob pw\n"),
                     ("carol@test.example", b"carol pw\n"), ("dan@test.example", b"dan pw\n")):
        if run("qpasswd", QHOME, user, stdin=pw).returncode != 0:
            bail("qpasswd failed")
    ctl_write("authplaintext", 1)
    ctl_write("authdelay", 50)
    ctl_write("authdelaymax", 400)
    ctl_write("authlockip", 6)
    ctl_write("authlocktime", LOCKTIME)
    inst_start()

    # 1. one address guesses at several users and logs in to its own
    #    account between the guesses: its count (and delay) goes on
    src = "127.0.0.2"
    codes = [auth(port, src, u + "@test.example", "guess")[0] for u in ("carol", "dave", "erin")]
    is_(codes, ["535 5.7.8"] * 3, "three guesses: 535 5.7.8 each")
    is_(auth(port, src, "bob@test.example", "bob pw")[0], "235 2.7.0",
        "a good login to an own account in between")
    code, took = auth(port, src, "frank@test.example", "guess")
    ok(code == "535 5.7.8" and took >= 0.35,
       "the next guess, at a user never tried, still waits the 4th delay (400 ms)", took)
    ok(log_has("qauth: login failed for frank@test.example from 127.0.0.2: unknown user "
               "(4 failures from 127.0.0.2, 1 for frank@test.example, delay 400 ms)"),
       "logged: the address counts 4 failures, the good login did not reset it")

    # 2. one user from several addresses: counted for the user
    for i, src in enumerate(("127.0.0.3", "127.0.0.4", "127.0.0.5")):
        code, took = auth(port, src, "alice@test.example", "wrong %d" % i)
    ok(code == "535 5.7.8" and took >= 0.15,
       "the 3rd failure for alice, from a fresh address, waits the 3rd delay (200 ms)", took)
    ok(log_has("qauth: login failed for alice@test.example from 127.0.0.5: bad password "
               "(1 failures from 127.0.0.5, 3 for alice@test.example, delay 200 ms)"),
       "logged: 1 failure from that address, 3 for alice")
    is_(auth(port, "127.0.0.5", "alice@test.example", "alice pw")[0], "235 2.7.0",
        "alice's own good login")
    auth(port, "127.0.0.3", "alice@test.example", "wrong again")
    ok(log_has("(2 failures from 127.0.0.3, 1 for alice@test.example, delay 100 ms)"),
       "her good login forgot her count, not that of the address")

    # 3. lockout of an address: the 6th failure locks it out
    src = "127.0.0.6"
    for i in range(6):
        code, took = auth(port, src, "bob@test.example", "guess %d" % i)
    is_(code, "535 5.7.8", "6 wrong passwords for bob from one address: 535 each")
    locked_at = time.monotonic()
    ok(log_has("qauth: locked out 127.0.0.6 until "), "logged: the address is locked out")
    ok(re.search(r"(?m)qauth: locked out 127\.0\.0\.6 until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
                 r"after 6 failures$", log_text()), "the lockout line names its end")
    is_(auth(port, src, "bob@test.example", "bob pw")[0], "454 4.7.0",
        "locked out: even the right password gets 454 4.7.0")
    ok(log_has("qauth: login refused for bob@test.example from 127.0.0.6: 127.0.0.6 locked out "
               "until "), "logged: the refusal")
    is_(auth(port, src, "bob@test.example", "bob pw", tls=True)[0], "454 4.7.0",
        "the same under STARTTLS")
    c = Client(port, src=src, timeout=60)
    c.cmd("EHLO client.example")
    codes = [c.code(plain("bob@test.example", "bob pw")) for i in range(5)]
    c.close()
    is_(codes, ["454 4.7.0"] * 4 + ["421 4.7.0"],
        "locked out, trying on in one session: the fifth AUTH ends it with 421")
    ok(pop_pass(pop, src, "bob@test.example", "bob pw").startswith("-ERR [SYS/TEMP] "),
       "POP3 from the locked-out address: -ERR [SYS/TEMP]")
    is_(auth(port, "127.0.0.7", "bob@test.example", "bob pw")[0], "235 2.7.0",
        "another address logs in as bob meanwhile")
    time.sleep(max(0, LOCKTIME + 0.5 - (time.monotonic() - locked_at)))
    is_(auth(port, src, "bob@test.example", "bob pw")[0], "235 2.7.0",
        "after authlocktime the right password works again")
    is_(auth(port, src, "bob@test.example", "guess again")[0], "535 5.7.8",
        "one more wrong guess from that address ...")
    is_(auth(port, src, "bob@test.example", "bob pw")[0], "454 4.7.0",
        "... locks it out again at once (its count had not lapsed)")

    # 4. authlockuser: a user name locked out whatever the address
    ctl_write("authlockuser", 3)
    for src in ("127.0.0.8", "127.0.0.9", "127.0.0.10"):
        auth(port, src, "dan@test.example", "nope")
    user_locked_at = time.monotonic()
    ok(log_has("qauth: locked out user dan@test.example until "),
       "logged: the user name is locked out")
    is_(auth(port, "127.0.0.11", "dan@test.example", "dan pw")[0], "454 4.7.0",
        "authlockuser 3: dan's right password from yet another address gets 454 4.7.0")
    is_(auth(port, "127.0.0.11", "bob@test.example", "bob pw")[0], "235 2.7.0",
        "bob logs in from that address meanwhile")
    ok(log_has("qauth: login refused for dan@test.example from 127.0.0.11: user locked out "
               "until "), "logged: the refusal names the user")
    time.sleep(max(0, LOCKTIME + 0.5 - (time.monotonic() - user_locked_at)))
    is_(auth(port, "127.0.0.11", "dan@test.example", "dan pw")[0], "235 2.7.0",
        "after authlocktime dan logs in")

    # 5. the fail2ban filter of qauth(8) finds every failing address
    failregex = re.compile(r"qauth: login (?:failed|refused) for \S+ from (\S+):\s")
    hosts = set(m.group(1) for m in failregex.finditer(log_text()))
    is_(sorted(hosts), ["127.0.0.%d" % i for i in (10, 11, 2, 3, 4, 5, 6, 8, 9)],
        "the qauth(8) failregex matches the failing addresses, and only those")
    qauth_lines = "".join(l for l in log_text().splitlines() if "qauth:" in l)
    ok(" pw" not in qauth_lines and "guess" not in qauth_lines and "nope" not in qauth_lines,
       "no password in qauth's log lines")


run_main(main)
