#!/usr/bin/env python3
"""A recording SMTP server for the remote delivery tests (python3 stdlib only).

  smtpsink.py DIR IP:PORT [IP:PORT ...] [options]

Listens on each address; every finished transaction appends one JSON line to
DIR/log.jsonl (connection number, address it was received on, helo, tls,
auth user, MAIL FROM and its parameters, the accepted recipients with their
parameters) and writes the message (dot-unstuffed, CRLF as received) to
DIR/msg-N.eml. DIR/conn.log gets one line per connection: number, address.
DIR/ready appears once every address listens.

Options:
  --tls CERT,KEY       offer STARTTLS with this certificate
  --auth USER:PASS     offer AUTH PLAIN LOGIN and require it before MAIL
  --no-pipelining --no-8bitmime --no-smtputf8 --no-ehlo --dsn --size N
  --nosave             log the transactions only, not the messages (benchmarks)
  --rules FILE         reread at each connection and each MAIL; lines:
                         greet CODE TEXT     (answer the connection with it)
                         mail CODE TEXT
                         rcpt ADDRESS CODE TEXT   (address as in RCPT, no <>)
                         rcptmax N           (452 after N recipients)
                         data CODE TEXT      (the reply to the final dot)
"""
import base64
import json
import os
import socket
import ssl
import sys
import threading

lock = threading.Lock()
counter = {"conn": 0, "msg": 0}


def load_rules(path):
    rules = {"rcpt": {}}
    if not path or not os.path.exists(path):
        return rules
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if not parts:
                continue
            kind = parts[0]
            rest = parts[1].strip() if len(parts) > 1 else ""
            if kind == "rcpt":
                addr, reply = rest.split(None, 1)
                rules["rcpt"][addr.lower()] = reply
            elif kind == "rcptmax":
                rules["rcptmax"] = int(rest)
            else:
                rules[kind] = rest
    return rules


class Session:
    def __init__(self, sock, local, opts):
        self.sock = sock
        self.local = local
        self.opts = opts
        self.rfile = sock.makefile("rb")
        self.tls = False
        self.auth_user = None
        self.helo = None
        self.rules = load_rules(opts.get("rules"))
        with lock:
            counter["conn"] += 1
            self.conn = counter["conn"]
            with open(os.path.join(opts["dir"], "conn.log"), "a") as f:
                f.write("%d %s\n" % (self.conn, local))
        self.reset()

    def reset(self):
        self.mail = None
        self.mail_params = ""
        self.rcpts = []

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        data = self.rfile.readline(100000)
        if not data:
            return None
        return data.rstrip(b"\r\n").decode("utf-8", "replace")

    def ehlo_lines(self):
        o = self.opts
        lines = ["sink.test hello"]
        if not o.get("no_pipelining"):
            lines.append("PIPELINING")
        if not o.get("no_8bitmime"):
            lines.append("8BITMIME")
        if not o.get("no_smtputf8"):
            lines.append("SMTPUTF8")
        if o.get("dsn"):
            lines.append("DSN")
        if o.get("size") is not None:
            lines.append("SIZE %d" % o["size"])
        if o.get("tls") and not self.tls:
            lines.append("STARTTLS")
        if o.get("auth"):
            lines.append("AUTH PLAIN LOGIN")
        return lines

    def record(self, data):
        with lock:
            counter["msg"] += 1
            n = counter["msg"]
            if not self.opts.get("nosave"):
                with open(os.path.join(self.opts["dir"], "msg-%d.eml" % n), "wb") as f:
                    f.write(data)
            entry = {"n": n, "conn": self.conn, "local": self.local, "helo": self.helo,
                     "tls": self.tls, "auth": self.auth_user, "from": self.mail,
                     "mail_params": self.mail_params,
                     "rcpt": [r[0] for r in self.rcpts],
                     "rcpt_params": [r[1] for r in self.rcpts], "size": len(data)}
            with open(os.path.join(self.opts["dir"], "log.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")

    def starttls(self):
        cert, key = self.opts["tls"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.send("220 2.0.0 go ahead")
        self.rfile.close()
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.rfile = self.sock.makefile("rb")
        self.tls = True
        self.helo = None
        self.auth_user = None
        self.reset()

    def check_auth(self, user, password):
        want = self.opts["auth"]
        return "%s:%s" % (user, password) == want

    def run(self):
        greet = self.rules.get("greet")
        if greet:
            self.send(greet)
            if not greet.startswith("2"):
                self.line()
                return
        else:
            self.send("220 sink.test ESMTP")
        while True:
            cmd = self.line()
            if cmd is None:
                return
            verb = cmd.split(" ", 1)[0].upper()
            arg = cmd[len(verb) + 1:] if len(cmd) > len(verb) else ""
            if verb == "EHLO":
                if self.opts.get("no_ehlo"):
                    self.send("502 5.5.1 no EHLO here")
                    continue
                self.helo = arg
                self.reset()
                lines = self.ehlo_lines()
                for l in lines[:-1]:
                    self.send("250-" + l)
                self.send("250 " + lines[-1])
            elif verb == "HELO":
                self.helo = arg
                self.reset()
                self.send("250 sink.test")
            elif verb == "STARTTLS" and self.opts.get("tls") and not self.tls:
                self.starttls()
            elif verb == "AUTH" and self.opts.get("auth"):
                parts = arg.split()
                mech = parts[0].upper() if parts else ""
                if mech == "PLAIN":
                    blob = parts[1] if len(parts) > 1 else None
                    if blob is None:
                        self.send("334 ")
                        blob = self.line()
                    try:
                        _, user, password = base64.b64decode(blob).decode().split("\0")
                    except Exception:
                        self.send("501 5.5.2 bad")
                        continue
                elif mech == "LOGIN":
                    self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.line() or "").decode()
                    self.send("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.line() or "").decode()
                else:
                    self.send("504 5.5.4 unknown mechanism")
                    continue
                if self.check_auth(user, password):
                    self.auth_user = user
                    self.send("235 2.7.0 ok")
                else:
                    self.send("535 5.7.8 bad credentials")
            elif verb == "MAIL":
                self.rules = load_rules(self.opts.get("rules"))
                if self.opts.get("auth") and not self.auth_user:
                    self.send("530 5.7.0 authentication required")
                    continue
                rule = self.rules.get("mail")
                if rule:
                    self.send(rule)
                    continue
                path, _, params = arg[5:].partition(">")
                self.mail = path.lstrip("<")
                self.mail_params = params.strip()
                self.rcpts = []
                self.send("250 2.1.0 ok")
            elif verb == "RCPT":
                if self.mail is None:
                    self.send("503 5.5.1 MAIL first")
                    continue
                path, _, params = arg[3:].partition(">")
                addr = path.lstrip("<")
                rule = self.rules["rcpt"].get(addr.lower())
                if rule:
                    self.send(rule)
                elif "rcptmax" in self.rules and len(self.rcpts) >= self.rules["rcptmax"]:
                    self.send("452 4.5.3 too many recipients")
                else:
                    self.rcpts.append((addr, params.strip()))
                    self.send("250 2.1.5 ok")
            elif verb == "DATA":
                if not self.rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go on")
                data = bytearray()
                while True:
                    raw = self.rfile.readline(1000000)
                    if not raw:
                        return
                    if raw == b".\r\n":
                        break
                    if raw.startswith(b"."):
                        raw = raw[1:]
                    data += raw
                rule = self.rules.get("data")
                if rule:
                    self.send(rule)
                    if rule.startswith("2"):
                        self.record(bytes(data))
                else:
                    self.record(bytes(data))
                    self.send("250 2.0.0 queued as %d" % counter["msg"])
                self.reset()
            elif verb == "RSET":
                self.reset()
                self.send("250 2.0.0 ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.1 unknown command")


def serve(lsock, local, opts):
    while True:
        conn, _ = lsock.accept()

        def handle(c=conn):
            try:
                Session(c, local, opts).run()
            except (OSError, ssl.SSLError, ValueError):
                pass
            finally:
                try:
                    c.close()
                except OSError:
                    pass
        threading.Thread(target=handle, daemon=True).start()


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print("usage: smtpsink.py DIR IP:PORT... [options]", file=sys.stderr)
        sys.exit(100)
    opts = {"dir": args[0]}
    addrs = []
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--tls":
            opts["tls"] = args[i + 1].split(",")
            i += 1
        elif a == "--auth":
            opts["auth"] = args[i + 1]
            i += 1
        elif a == "--rules":
            opts["rules"] = args[i + 1]
            i += 1
        elif a == "--size":
            opts["size"] = int(args[i + 1])
            i += 1
        elif a.startswith("--"):
            opts[a[2:].replace("-", "_")] = True
        else:
            addrs.append(a)
        i += 1
    os.makedirs(opts["dir"], exist_ok=True)
    threads = []
    for a in addrs:
        host, _, port = a.rpartition(":")
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(128)
        t = threading.Thread(target=serve, args=(s, a, opts), daemon=True)
        t.start()
        threads.append(t)
    open(os.path.join(opts["dir"], "ready"), "w").close()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
