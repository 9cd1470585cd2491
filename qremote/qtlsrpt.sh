#!/bin/sh
# qtlsrpt: TLS-RPT (RFC 8460) reports of one day's outbound TLS, from the
# counts qremote keeps in DIR/sts/rpt/DAY/DOMAIN (qremote_rpt.c), one
# report per policy domain: DIR/sts/rpt/DAY/DOMAIN.json.gz, mailed to the
# domain's mailto: rua unless -n. See qtlsrpt(8).
#
#   qtlsrpt [-n] [-d YYYY-MM-DD] [DIR]
#
# Exit: 0 done (or nothing to do), 100 usage, 111 a report could not be
# written or sent (the others are still tried).
PROG=qtlsrpt
USAGE="qtlsrpt [-n] [-d YYYY-MM-DD] [DIR]"
usage() { echo "qtlsrpt: usage: $USAGE" >&2; exit 100; }
warn() { echo "$PROG: warning: $*" >&2; }

NOMAIL=
DAY=
while [ $# -gt 0 ]; do
  case $1 in
    -n) NOMAIL=1; shift ;;
    -d) [ $# -ge 2 ] || usage; DAY=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -le 1 ] || usage
DIR=${1:-$QHOME}
[ -n "$DIR" ] || usage
[ -n "$DAY" ] || DAY=$(date -u -d yesterday +%Y-%m-%d) || exit 111
case $DAY in
  [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]) ;;
  *) usage ;;
esac
RPT=$DIR/sts/rpt/$DAY
[ -d "$RPT" ] || exit 0
ME=$(sed -e 's/#.*//' -e 's/[[:blank:]]//g' -e '/^$/d' -e q "$DIR/control/me" 2>/dev/null)
[ -n "$ME" ] || ME=$(hostname -f 2>/dev/null || hostname)

# A JSON string: backslash and double quote escaped (the counts hold host
# names, policy lines and a fixed set of words: no control characters).
js() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

# the policy strings of an MTA-STS policy from qremote's cache (RFC 8460
# 4.4: the lines of the policy), as JSON array elements
sts_strings() {
  [ -f "$DIR/sts/$1" ] || return 0
  sep=
  while read -r k v; do
    case $k in
      mode|max_age|mx) printf '%s%s' "$sep" "$(js "$k: $v")"; sep=", " ;;
    esac
  done <"$DIR/sts/$1"
  printf '%s%s' "$sep" "$(js "version: STSv1")"
}

# report DOMAIN: the JSON of one domain's counts on stdout
report() {
  d=$1
  f=$RPT/$d
  printf '{\n  "organization-name": %s,\n' "$(js "$ME")"
  printf '  "date-range": {"start-datetime": "%sT00:00:00Z", "end-datetime": "%sT23:59:59Z"},\n' \
    "$DAY" "$DAY"
  printf '  "contact-info": %s,\n' "$(js "postmaster@$ME")"
  printf '  "report-id": %s,\n' "$(js "$DAY.$d@$ME")"
  printf '  "policies": ['
  psep=
  for type in tlsa sts; do
    grep -q "^[SF] $type " "$f" || continue
    ok=$(grep -c "^S $type " "$f")
    bad=$(grep -c "^F $type " "$f")
    printf '%s\n    {\n      "policy": {"policy-type": "%s", "policy-domain": %s' "$psep" "$type" "$(js "$d")"
    if [ "$type" = sts ]; then
      printf ', "policy-string": [%s]' "$(sts_strings "$d")"
    fi
    printf ', "mx-host": ['
    hsep=
    for h in $(awk -v t="$type" '($1 == "S" || $1 == "F") && $2 == t { print $NF }' "$f" | sort -u); do
      printf '%s%s' "$hsep" "$(js "$h")"
      hsep=", "
    done
    printf ']},\n'
    printf '      "summary": {"total-successful-session-count": %s, "total-failure-session-count": %s},\n' \
      "$ok" "$bad"
    printf '      "failure-details": ['
    awk -v t="$type" '$1 == "F" && $2 == t { print $3, $4 }' "$f" | sort | uniq -c |
      awk -v q='"' 'BEGIN { sep = "" }
        { printf "%s\n        {\"result-type\": %s%s%s, \"receiving-mx-hostname\": %s%s%s, \"failed-session-count\": %d}",
            sep, q, $2, q, q, $3, q, $1; sep = "," }'
    printf '\n      ]\n    }'
    psep=,
  done
  printf '\n  ]\n}\n'
}

rc=0
for f in "$RPT"/*; do
  [ -f "$f" ] || continue
  d=${f##*/}
  case $d in *.json|*.json.gz|.*) continue ;; esac
  grep -q '^[SF] ' "$f" || continue
  out=$RPT/$d.json
  report "$d" >"$out.tmp" && gzip -n -c "$out.tmp" >"$out.gz.tmp" &&
    mv -f "$out.tmp" "$out" && mv -f "$out.gz.tmp" "$out.gz" ||
    { warn "unable to write $out.gz"; rm -f "$out.tmp" "$out.gz.tmp"; rc=111; continue; }
  [ -z "$NOMAIL" ] || continue
  rua=$(sed -n 's/^R //p' "$f" | tail -n 1)
  to=
  oldifs=$IFS; IFS=,
  for u in $rua; do
    case $u in mailto:*) to=${u#mailto:}; break ;; esac
  done
  IFS=$oldifs
  [ -n "$to" ] || { warn "$d: no mailto: rua, the report stays in $out.gz"; continue; }
  # RFC 8460 5.3: multipart/report; report-type="tlsrpt", the gzip'd JSON
  b="tlsrpt-$DAY-$$"
  id="$DAY.$d@$ME"
  {
    printf 'From: postmaster@%s\nTo: %s\n' "$ME" "$to"
    printf 'Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n' "$d" "$ME" "$id"
    printf 'Date: %s\n' "$(date -R)"
    printf 'TLS-Report-Domain: %s\nTLS-Report-Submitter: %s\n' "$d" "$ME"
    printf 'MIME-Version: 1.0\n'
    printf 'Content-Type: multipart/report; report-type="tlsrpt"; boundary="%s"\n\n' "$b"
    printf -- '--%s\nContent-Type: text/plain\n\n' "$b"
    printf 'The TLS report of %s for %s, from %s.\n\n' "$d" "$DAY" "$ME"
    printf -- '--%s\nContent-Type: application/tlsrpt+gzip\n' "$b"
    printf 'Content-Disposition: attachment; filename="%s!%s!%s.json.gz"\n' "$ME" "$d" "$DAY"
    printf 'Content-Transfer-Encoding: base64\n\n'
    base64 "$out.gz"
    printf -- '\n--%s--\n' "$b"
  } | QHOME=$DIR qinject -f "postmaster@$ME" "$to" ||
    { warn "$d: unable to mail the report to $to"; rc=111; }
done
exit $rc
