#!/bin/sh
# TLS-RPT (RFC 8460): qtlsrpt turns a day's counts (as qremote writes
# them in sts/rpt/DAY/DOMAIN) into one JSON report per policy domain,
# gzip'd, with the fields of RFC 8460 section 4 and the right counts, and
# mails it to the mailto: rua as multipart/report; report-type="tlsrpt";
# a domain without a mailto: rua keeps its report on disk. qremote's own
# counting is checked by tests 47 and 48.
. "$(dirname "$0")/lib.sh"
plan 12

DAY=2026-01-02
inst_setup
echo 'rpt@test.example:!' >>"$QHOME/control/users"
qnewmaps "$QHOME" || bail "qnewmaps failed"
R=$QHOME/sts/rpt/$DAY
mkdir -p "$R"
cat >"$R/example.net" <<EOF
R mailto:rpt@test.example,https://reports.example.net/tlsrpt
S sts mx1.example.net
S sts mx1.example.net
F sts validation-failure mx2.example.net
S tlsa mx1.example.net
F tlsa starttls-not-supported mx1.example.net
F tlsa starttls-not-supported mx1.example.net
F tlsa validation-failure mx3.example.net
EOF
printf 'id 1\nexpires 9999999999\nmode enforce\nmax_age 86400\nmx mx1.example.net\nmx *.example.net\n' \
  >"$QHOME/sts/example.net"
printf 'R https://reports.example.org/x\nS tlsa mx.example.org\n' >"$R/example.org"

ok "qtlsrpt -n: no error" sh -c "qtlsrpt -n -d $DAY '$QHOME' 2>'$T_TMP/err'"
ok "a gzip'd report per domain" sh -c "test -s '$R/example.net.json.gz' && test -s '$R/example.org.json.gz'"
ok "the gzip'd one is the JSON" sh -c "gzip -dc '$R/example.net.json.gz' | cmp -s - '$R/example.net.json'"

# RFC 8460 4.3, 4.4: the fields, their types and the counts
cat >"$T_TMP/check.py" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
want = sys.argv[2]
def need(cond, what):
    if not cond:
        print("bad: " + what)
        sys.exit(1)
for k in ("organization-name", "date-range", "contact-info", "report-id", "policies"):
    need(k in r, "missing " + k)
need(r["date-range"] == {"start-datetime": "2026-01-02T00:00:00Z", "end-datetime": "2026-01-02T23:59:59Z"}, "date-range")
need(isinstance(r["policies"], list), "policies is a list")
got = {}
for p in r["policies"]:
    pol = p["policy"]
    need(pol["policy-type"] in ("tlsa", "sts", "no-policy-found"), "policy-type")
    need(isinstance(pol.get("mx-host", []), list), "mx-host is a list")
    need(isinstance(pol.get("policy-string", []), list), "policy-string is a list")
    s = p["summary"]
    need(isinstance(s["total-successful-session-count"], int) and
         isinstance(s["total-failure-session-count"], int), "summary counts are integers")
    fd = sorted((f["result-type"], f["receiving-mx-hostname"], f["failed-session-count"])
                for f in p.get("failure-details", []))
    got[pol["policy-type"]] = (pol["policy-domain"], s["total-successful-session-count"],
                               s["total-failure-session-count"], fd, sorted(pol.get("mx-host", [])),
                               sorted(pol.get("policy-string", [])))
print(repr(sorted(got.items())) == want and "ok" or repr(sorted(got.items())))
EOF
W1="[('sts', ('example.net', 2, 1, [('validation-failure', 'mx2.example.net', 1)], ['mx1.example.net', 'mx2.example.net'], ['max_age: 86400', 'mode: enforce', 'mx: *.example.net', 'mx: mx1.example.net', 'version: STSv1'])), ('tlsa', ('example.net', 1, 3, [('starttls-not-supported', 'mx1.example.net', 2), ('validation-failure', 'mx3.example.net', 1)], ['mx1.example.net', 'mx3.example.net'], []))]"
is "$(python3 "$T_TMP/check.py" "$R/example.net.json" "$W1" 2>&1)" ok "example.net: the RFC 8460 fields and counts"
W2="[('tlsa', ('example.org', 1, 0, [], ['mx.example.org'], []))]"
is "$(python3 "$T_TMP/check.py" "$R/example.org.json" "$W2" 2>&1)" ok "example.org: one success, no failures"
ok "organization and contact from control/me" \
  sh -c "grep -q '\"organization-name\": \"test.example\"' '$R/example.net.json' &&
         grep -q '\"contact-info\": \"postmaster@test.example\"' '$R/example.net.json'"

# mailed to the mailto: rua
inst_start
qtlsrpt -d $DAY "$QHOME" 2>"$T_TMP/err2"; rc=$?
is "$rc" 0 "qtlsrpt: mailed"
ok "a domain with an https rua only: kept on disk, said so" grep -q "example.org: no mailto: rua" "$T_TMP/err2"
M=$QHOME/mail/test.example/rpt
ok "the report reached rpt@test.example" wait_for 30 has_mail "$M" 1
F=$(find "$M/new" "$M/cur" -type f | head -n 1)
ok "as multipart/report; report-type=tlsrpt" grep -q 'Content-Type: multipart/report; report-type="tlsrpt"' "$F"
ok "with the TLS-Report headers" sh -c "grep -q '^TLS-Report-Domain: example.net' '$F' &&
  grep -q '^TLS-Report-Submitter: test.example' '$F' && grep -q '^Subject: Report Domain: example.net Submitter: test.example Report-ID: <' '$F'"
cat >"$T_TMP/part.py" <<'EOF'
import email, gzip, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for part in m.walk():
    if part.get_content_type() == "application/tlsrpt+gzip":
        r = json.loads(gzip.decompress(part.get_payload(decode=True)))
        print(r == json.load(open(sys.argv[2])) and "same" or "differs")
        break
else:
    print("no application/tlsrpt+gzip part")
EOF
is "$(python3 "$T_TMP/part.py" "$F" "$R/example.net.json" 2>&1)" same "the attachment is the gzip'd report"
