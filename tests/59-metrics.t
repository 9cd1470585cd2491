#!/usr/bin/env python3
# qmetrics: an instance made with qsetup --metrics gets mail (delivered,
# deferred to a refused port, bounced) and a failed AUTH; then the
# textfile (qmetrics -t) parses as Prometheus' text format 0.0.4 and its
# counts are what was sent; the counters do not go down across a rotation
# of the logs (s6-svc -a on a log service) and count no line twice; the
# service answers GET /metrics with the same figures, bad requests with
# 400/404/405, and stays up; the listeners' connections are seen; the
# Grafana dashboard asks only for metrics that exist; qstats --html is
# well-formed HTML with the chart of traffic by hour.
import base64
import glob
import html.parser
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmtatest import *  # noqa: E402,F401,F403

SMTP = free_port()
SUB = free_port()
MET = free_port()
REFUSED = free_port()  # nobody listens there: remote deliveries are deferred
LATENCY = "qmta_delivery_latency_seconds"


# ---- a small parser of the text format --------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse(text):
    """(types, samples, errors): samples {(name, ((label, value), ...)): float}
    in file order; errors lists every breach of the format found."""
    types = {}
    samples = {}
    errors = []
    order = []
    if not text.endswith("\n"):
        errors.append("no newline at the end")
    for line in text.split("\n"):
        if line == "":
            continue
        if line.startswith("# HELP "):
            if len(line.split(" ", 3)) < 4:
                errors.append("HELP without text: " + line)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary",
                                                   "untyped"):
                errors.append("bad TYPE line: " + line)
            elif parts[2] in types:
                errors.append("second TYPE for " + parts[2])
            else:
                types[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            errors.append("not a sample: " + line)
            continue
        name, labeltext, value = m.group(1), m.group(2) or "", m.group(3)
        labels = []
        pos = 0
        while pos < len(labeltext):
            lm = LABEL.match(labeltext, pos)
            if lm is None:
                errors.append("bad labels: " + line)
                break
            labels.append((lm.group(1), lm.group(2)))
            pos = lm.end()
        try:
            v = float(value)
        except ValueError:
            errors.append("bad value: " + line)
            continue
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            errors.append("sample without a TYPE before it: " + line)
        elif types[family] == "counter" and not name.endswith("_total"):
            errors.append("counter not ending in _total: " + line)
        key = (name, tuple(sorted(labels)))
        if key in samples:
            errors.append("sample twice: " + line)
        samples[key] = v
        order.append(key)
    # histograms: buckets cumulative, in order of le, the last +Inf = _count
    for family, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for name, labels in order:
            if name != family + "_bucket":
                continue
            rest = tuple(l for l in labels if l[0] != "le")
            le = [l[1] for l in labels if l[0] == "le"]
            if len(le) != 1:
                errors.append("bucket without le: %s %s" % (name, labels))
                continue
            series.setdefault(rest, []).append((le[0], samples[(name, labels)]))
        for rest, buckets in series.items():
            les = [float(b[0]) for b in buckets]
            counts = [b[1] for b in buckets]
            if les != sorted(les) or len(set(les)) != len(les):
                errors.append("%s %s: le not ascending" % (family, rest))
            if counts != sorted(counts):
                errors.append("%s %s: buckets not cumulative" % (family, rest))
            if buckets[-1][0] != "+Inf":
                errors.append("%s %s: last bucket is not +Inf" % (family, rest))
            if samples.get((family + "_count", rest)) != counts[-1]:
                errors.append("%s %s: +Inf bucket is not _count" % (family, rest))
            if (family + "_sum", rest) not in samples:
                errors.append("%s %s: no _sum" % (family, rest))
    return types, samples, errors


def get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def counters(types, samples):
    """the counter and histogram samples but the lines read (which grow)"""
    return {k: v for k, v in samples.items()
            if (k[0].endswith("_total") or k[0].startswith(LATENCY))
            and k[0] != "qmta_metrics_log_lines_total"}


# ---- helpers -----------------------------------------------------------------

def textfile():
    out = TMP + "/tf/qmta.prom"
    os.makedirs(TMP + "/tf", exist_ok=True)
    r = run("qmetrics", "-t", out, QHOME)
    if r.returncode != 0:
        return None, r.stdout.decode("latin-1")
    with open(out) as f:
        return f.read(), r.stdout.decode("latin-1")


def http(raw, timeout=20):
    """the answer to raw bytes sent to the metrics service: (status, headers, body)"""
    s = socket.create_connection(("127.0.0.1", MET), timeout=timeout)
    try:
        s.sendall(raw)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError as e:
        return None, str(e), ""
    finally:
        s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d\d\d) ", lines[0] if lines else "")
    return (int(m.group(1)) if m else None), lines[1:], body.decode("utf-8", "replace")


def scrape():
    status, headers, body = http(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return status, headers, body


def log(name):
    try:
        with open("%s/log/%s/current" % (QHOME, name), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def all_logs(name):
    text = ""
    for fn in sorted(glob.glob("%s/log/%s/@*.s" % (QHOME, name))) + \
            ["%s/log/%s/current" % (QHOME, name)]:
        try:
            with open(fn, errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return text


def smtp_send(port, rcpt, subject):
    c = Client(port)
    c.cmd("EHLO client.example")
    codes = [c.code("MAIL FROM:<sender@else.example>"), c.code("RCPT TO:<%s>" % rcpt)]
    c.code("DATA")
    codes.append(c.code("Subject: %s\r\n\r\nhello\r\n." % subject))
    c.cmd("QUIT")
    c.close()
    return codes


def inject(sender, rcpt):
    return run("qinject", "-f", sender, rcpt, stdin=b"Subject: injected\n\nhello\n").returncode


def qsend_count(word):
    return len(re.findall(r"qsend: delivery \S+ \S+ \S+ %s: " % word, all_logs("qsend")))


class Strict(html.parser.HTMLParser):
    """html.parser with the nesting checked: every end tag closes the
    innermost open element (void elements and <x/> excepted)"""
    VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
        else:
            self.stack.pop()

    def check(self, text):
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append("left open: %s" % self.stack)
        return self.errors


# ---- the test ----------------------------------------------------------------

def main():
    r = run("qsetup", QHOME, "--me", "test.example", "--smtp", "127.0.0.1:%d" % SMTP,
            "--submission", "127.0.0.1:%d" % SUB, "--metrics", "127.0.0.1:%d" % MET)
    if r.returncode != 0:
        bail("qsetup failed: " + r.stdout.decode("latin-1"))
    with open(QHOME + "/service/metrics/run") as f:
        runfile = f.read()
    ok("-l 127.0.0.1:%d" % MET in runfile and "qmetrics -d 3 -s " in runfile,
       "qsetup --metrics: a metrics service on the loopback address given", runfile)
    r = run("qsetup", TMP + "/other", "--me", "test.example", "--metrics", "127.0.0.1:80")
    ok(r.returncode == 100, "qsetup --metrics refuses a port below 1024", r.stdout)
    r = subprocess.run(["qpasswd", QHOME, "alice@test.example"], input=b"secret\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        bail("qpasswd failed")
    ctl_write("smtproutes", "remote.example:127.0.0.1:%d" % REFUSED)
    inst_start()

    # 1. the traffic: two messages by SMTP delivered here, one to a refused
    # port (deferred), one to nobody (bounced; its bounce delivered to
    # alice), a STARTTLS and a failed AUTH on submission
    for i in range(2):
        codes = smtp_send(SMTP, "postmaster@test.example", "local %d" % i)
        ok(codes == ["250 2.1.0", "250 2.1.5", "250 2.0.0"], "SMTP message %d accepted" % i, codes)
    ok(inject("alice@test.example", "bob@remote.example") == 0, "qinject: one for remote.example")
    ok(inject("alice@test.example", "nosuchuser59@test.example") == 0, "qinject: one for nobody")
    c = Client(SUB)
    c.cmd("EHLO client.example")
    c.starttls()
    c.cmd("EHLO client.example")
    r = c.code("AUTH PLAIN " + base64.b64encode(b"\0alice@test.example\0wrong").decode())
    ok(r == "535 5.7.8", "submission: a failed AUTH", r)
    c.cmd("QUIT")
    c.close()
    ok(wait_until(60, lambda: qsend_count("ok") >= 3 and qsend_count("failed") >= 1 and
                  qsend_count("deferred") >= 1 and log("submission").count("qsmtpd: session") >= 1
                  and log("smtp").count("qsmtpd: session") >= 2, 0.1),
       "qsend delivered 3 (one a bounce), bounced 1, deferred 1", all_logs("qsend"))

    # 2. the textfile
    text, err = textfile()
    ok(text is not None, "qmetrics -t writes the file", err)
    text = text or ""
    types, tf1, errors = parse(text)
    ok(not errors, "the textfile is Prometheus text format 0.0.4 (TYPE before samples, "
       "_total, cumulative buckets ending in +Inf = _count)", "\n".join(errors))
    ok(not os.path.exists(TMP + "/tf/qmta.prom.tmp") and os.path.exists(TMP + "/tf/qmta.prom.state"),
       "written through a temp file renamed; the state beside it")
    want = [
        (("qmta_messages_received_total", {"listener": "smtp"}), 2),
        (("qmta_smtp_sessions_total", {"listener": "smtp"}), 2),
        (("qmta_messages_queued_total", {"sender": "other"}), 4),
        (("qmta_messages_queued_total", {"sender": "null"}), 1),
        (("qmta_deliveries_total", {"listener": "smtp", "class": "local", "result": "delivered"}), 2),
        (("qmta_deliveries_total", {"listener": "none", "class": "local", "result": "delivered"}), 1),
        (("qmta_deliveries_total", {"listener": "none", "class": "local", "result": "bounced"}), 1),
        (("qmta_deliveries_total", {"listener": "none", "class": "remote", "result": "deferred"}), 1),
        (("qmta_auth_total", {"listener": "submission", "result": "bad"}), 1),
        (("qmta_tls_total", {"listener": "submission", "mode": "starttls", "result": "ok"}), 1),
        ((LATENCY + "_count", {"class": "local"}), 3),
        ((LATENCY + "_bucket", {"class": "local", "le": "+Inf"}), 3),
        (("qmta_queue_up", {}), 1),
        (("qmta_queue_size", {"state": "deferred"}), 1),
        (("qmta_queue_size", {"state": "pending"}), 0),
        (("qmta_queue_messages", {}), 1),
    ]
    got = [(k, get(tf1, k[0], **k[1])) for k, _ in want]
    ok(got == [(k, float(v)) for k, v in want], "the counts are what was sent",
       "\n".join("%s %s: got %s, want %s" % (k[0], k[1], g, v)
                 for (k, v), (_, g) in zip(want, got) if g != v))
    ok(get(tf1, LATENCY + "_sum", **{"class": "local"}) is not None and
       0 < get(tf1, LATENCY + "_sum", **{"class": "local"}) < 600,
       "the latency sum is some seconds", get(tf1, LATENCY + "_sum", **{"class": "local"}))
    text2, _ = textfile()
    _, tf1b, _ = parse(text2 or "")
    ok(counters(types, tf1b) == counters(types, tf1), "a second pass counts nothing twice")

    # 3. the HTTP service: the same figures
    status, headers, body = scrape()
    ok(status == 200 and "Content-Type: text/plain; version=0.0.4; charset=utf-8" in headers,
       "GET /metrics: 200, text/plain; version=0.0.4", (status, headers))
    htypes, h1, errors = parse(body)
    ok(not errors and htypes == types, "GET /metrics: the same format and families",
       "\n".join(errors))
    ok(counters(htypes, h1) == counters(types, tf1), "GET /metrics: the same counts as the file",
       set(counters(htypes, h1).items()) ^ set(counters(types, tf1).items()))
    # the service runs qstat every -i seconds (30), not for each request
    ok(wait_until(45, lambda: get(parse(scrape()[2])[1], "qmta_queue_size",
                                  state="deferred") == 1.0, 0.5),
       "GET /metrics: the queue through bin/qstat, as the metrics account")

    if os.geteuid() == 0:
        import pwd
        with open("/proc/%d/status" % svc_pid("metrics")) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        want_uid = str(pwd.getpwnam("qmta-metrics").pw_uid)
        ok(uids == [want_uid] * 4, "the service runs as qmta-metrics, not root", uids)

    # 4. the listeners' connections
    clients = [Client(SMTP), Client(SMTP)]

    def conns():
        _, _, b = scrape()
        return get(parse(b)[1], "qmta_listener_connections", listener="smtp")
    ok(wait_until(20, lambda: conns() == 2.0, 0.1), "two connections held: smtp shows 2", conns())
    for c in clients:
        c.cmd("QUIT")
        c.close()
    ok(wait_until(20, lambda: conns() == 0.0, 0.1), "closed: smtp shows 0", conns())
    ok(get(h1, "qmta_listener_connections_max", listener="smtp") == 400.0,
       "the listener's limit (concurrencyincoming)")

    # 5. rotation: counters never go down, no line counted twice
    _, _, body = scrape()
    h_before = counters(htypes, parse(body)[1])
    old = set(glob.glob(QHOME + "/log/qsend/@*.s"))
    subprocess.run(["s6-svc", "-a", QHOME + "/service/qsend/log"])
    ok(wait_until(20, lambda: set(glob.glob(QHOME + "/log/qsend/@*.s")) - old, 0.1),
       "s6-svc -a: qsend's log rotated")
    codes = smtp_send(SMTP, "postmaster@test.example", "after rotation")
    ok(wait_until(60, lambda: qsend_count("ok") >= 4, 0.1) and codes[-1] == "250 2.0.0",
       "one more message delivered", codes)
    old = set(glob.glob(QHOME + "/log/smtp/@*.s"))
    subprocess.run(["s6-svc", "-a", QHOME + "/service/smtp/log"])
    ok(wait_until(20, lambda: set(glob.glob(QHOME + "/log/smtp/@*.s")) - old, 0.1),
       "s6-svc -a: smtp's log rotated")
    _, _, body = scrape()
    _, h2, errors = parse(body)
    h_after = counters(htypes, h2)
    down = [(k, v, h_after.get(k)) for k, v in h_before.items() if h_after.get(k, -1) < v]
    ok(not down and not errors, "GET /metrics: no counter went down across the rotations", down)
    text, _ = textfile()
    _, tf2, errors = parse(text or "")
    down = [(k, v, tf2.get(k)) for k, v in counters(types, tf1).items() if tf2.get(k, -1) < v]
    ok(not down and not errors, "textfile: no counter went down across the rotations", down)
    for name, s in (("textfile", tf2), ("GET /metrics", h2)):
        got = (get(s, "qmta_messages_received_total", listener="smtp"),
               get(s, "qmta_deliveries_total",
                   **{"listener": "smtp", "class": "local", "result": "delivered"}),
               get(s, LATENCY + "_count", **{"class": "local"}))
        ok(got == (3.0, 3.0, 4.0), "%s after the rotations: 3 received, 3 of them "
           "delivered, 4 latencies (nothing counted twice or lost)" % name, got)

    # 6. bad requests: an answer each, and the service stays up
    pid = svc_pid("metrics")
    for raw, want_status, what in [
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "POST: 405"),
            (b"HEAD /metrics HTTP/1.1\r\n\r\n", 405, "HEAD: 405"),
            (b"GET /secret HTTP/1.1\r\n\r\n", 404, "another target: 404"),
            (b"GET /metricsx HTTP/1.1\r\n\r\n", 404, "a longer target: 404"),
            (b"hello there\r\n\r\n", 400, "garbage: 400"),
            (b"GET /metrics HTTP/9.9\r\n\r\n", 400, "another version: 400"),
            (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 400,
             "a head over 4096 bytes: 400")]:
        status, headers, _ = http(raw)
        ok(status == want_status and "Connection: close" in headers, what, (status, headers))
    s = socket.create_connection(("127.0.0.1", MET))
    s.sendall(b"GET /met")
    s.close()
    status, _, body = scrape()
    ok(status == 200 and svc_pid("metrics") == pid and "qmta_queue_up 1" in body,
       "after them (and a client gone half-way) the same process still answers")

    # 7. the Grafana dashboard
    with open(os.path.join(ROOT, "qmetrics", "grafana-qmta.json")) as f:
        dash = json.load(f)
    exprs = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr":
                    exprs.append(v)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(dash)
    names = set(re.findall(r"\bqmta_[a-z_]+", " ".join(exprs)))
    exposed = set(types)
    for n in list(names):
        for suffix in ("_bucket", "_sum", "_count"):
            if n.endswith(suffix) and types.get(n[:-len(suffix)]) == "histogram":
                names.discard(n)
                names.add(n[:-len(suffix)])
    ok(len(exprs) >= 8 and names and names <= exposed,
       "grafana: every metric queried is exposed", names - exposed)
    tvars = [v.get("type") for v in dash.get("templating", {}).get("list", [])]
    ok("datasource" in tvars and all("${datasource}" in json.dumps(p.get("datasource"))
                                     for p in dash["panels"]),
       "grafana: a data source variable, used by every panel")

    # 8. qstats --html
    r = run("qstats", "--html", QHOME)
    page = r.stdout.decode("utf-8", "replace")
    p = Strict()
    errors = p.check(page)
    ok(r.returncode == 0 and page.startswith("<!DOCTYPE html>") and not errors,
       "qstats --html: well-formed HTML", errors)
    bars = [a for t, a in p.tags if t == "rect" and "data-hour" in a]
    ok(len(bars) == 48 and sorted({int(a["data-hour"]) for a in bars}) == list(range(24)),
       "the chart: two bars for each of 24 hours", len(bars))
    queued = sum(int(m) for m in re.findall(r"<title>\d+:00 queued (\d+)</title>", page))
    delivered = sum(int(m) for m in re.findall(r"<title>\d+:00 delivered (\d+)</title>", page))
    ok(queued == 6 and delivered == 4, "the chart counts 6 queued, 4 delivered",
       (queued, delivered))
    ok(not any(t in ("script", "link", "img", "iframe") for t, _ in p.tags) and
       "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""),
       "self-contained: nothing loaded from elsewhere")
    ok(len([t for t, _ in p.tags if t == "tr"]) == 4, "the table: header, local, esmtp, total")
    ctl_write("me", "<b>x&y</b>.example")
    page = run("qstats", "-H", QHOME).stdout.decode("utf-8", "replace")
    ok("&lt;b&gt;x&amp;y&lt;/b&gt;.example" in page and "<b>" not in page,
       "values are HTML-escaped")


run_main(main)
