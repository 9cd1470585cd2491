#!/bin/sh
# qconf: the settings that differ from their defaults, every default
# (-d), and check's findings. The defaults must agree everywhere: a fresh
# instance shows nothing but me (qsetup writes the defaults of
# lib/ctldef.h), its run scripts use them, the README's table says them,
# and qconf check finds nothing on a fresh instance (the owners it expects
# are those qsetup gives).
. "$(dirname "$0")/lib.sh"

plan 27

C=$QHOME/control
SMTP=$(free_port)
inst_setup --smtp 127.0.0.1:$SMTP

is "$(qconf "$QHOME")" "me = test.example" "a fresh instance differs from the defaults in nothing"
out=$(qconf check "$QHOME" 2>&1); rc=$?
is "$rc:$out" "0:" "qconf check: a fresh instance is sound"
is "$(QHOME=$QHOME qconf)" "me = test.example" "the instance from QHOME"

# every default: qconf -d against the run scripts and the README
qconf -d >"$T_TMP/defaults" 2>&1
ok "qconf -d lists the settings" grep -qx 'databytes = 10485760' "$T_TMP/defaults"
ok "a flag defaults to no, a map to no entries" \
  sh -c "grep -qx 'barelf = no' '$T_TMP/defaults' && grep -qx 'aliases = (no entries)' '$T_TMP/defaults'"
is "$(qconf -d "$QHOME" | sed -n 's/^helohost = //p')" test.example "helohost defaults to me"
bad=$(sed -n 's/.*ctl \([a-z]*\) \([0-9]*\).*/\1 = \2/p' "$QHOME/service/smtp/run" | sort -u |
  while read -r line; do grep -qxF "$line" "$T_TMP/defaults" || echo "$line"; done)
is "$bad" "" "the run scripts' defaults are qconf -d's"
# README: | `control/a`, `b` | meaning | 1, 2 |: each number against qconf -d
bad=$(grep '^| `control/' "$T_ROOT/README.md" | awk -F'|' '{
    n = split($2, names, ",")
    m = split($4, vals, ",")
    if (n != m) next
    for (i = 1; i <= n; i++) {
      name = names[i]; gsub(/[` ]|control\//, "", name)
      v = vals[i]; gsub(/ /, "", v)
      if (v ~ /^[0-9]+$/) print name " = " v
    }
  }' | while read -r line; do grep -qxF "$line" "$T_TMP/defaults" || echo "$line"; done)
is "$bad" "" "the README's defaults are qconf -d's"
n=$(grep '^| `control/' "$T_ROOT/README.md" | grep -c '[0-9] |$')
ok "the README's table has numbers to compare ($n rows)" [ "$n" -ge 10 ]

# what differs is shown, as the programs read it
cp -p "$C/locals" "$T_TMP/locals.orig"
echo '0052428800  # 50 MB' >"$C/databytes"
touch "$C/barelf"
printf '# mine\ntest.example\n\n  Example.NET \n' >"$C/locals"
printf 'info: bob@test.example\nlist: a@x.test,\n  b@x.test\n' >>"$C/aliases"
qconf "$QHOME" >"$T_TMP/show"
ok "a number" grep -qx 'databytes = 52428800' "$T_TMP/show"
ok "a flag" grep -qx 'barelf = yes' "$T_TMP/show"
ok "a list" grep -qx 'locals = test.example example.net' "$T_TMP/show"
ok "a map: keys besides qsetup's" grep -qx 'aliases = 2 entries besides qsetup.s' "$T_TMP/show"
ok "a setting at its default is not shown" sh -c "! grep -q '^rcpthosts\|^maxrcpt' '$T_TMP/show'"
echo 20 >"$C/concurrencyremote"; echo 20 >"$C/concurrencydomain"
ok "concurrencydomain follows concurrencyremote" sh -c "! qconf '$QHOME' | grep -q concurrencydomain"
rm -f "$C/concurrencydomain"

# check: one line per finding
finding() { qconf check "$QHOME" >"$T_TMP/check" 2>&1; echo "$?:$(grep -c . "$T_TMP/check")"; }
# a local domain not in rcpthosts is no finding: qsmtpd takes mail for
# the local domains whatever rcpthosts says
is "$(finding)" "100:1" "check: changed aliases not compiled"
ok "... the map" grep -q '^qconf: error: control/aliases: changed after control/aliases.cdb was made: run qnewmaps' "$T_TMP/check"
ok "qnewmaps compiles the changed aliases" sh -c "qnewmaps '$QHOME' >/dev/null"
is "$(finding)" "0:0" "qnewmaps: sound again"

echo mail >"$C/me"
is "$(finding)" "100:2" "an unqualified me (and the certificate not made for it)"
ok "... says so" grep -q '^qconf: error: control/me: mail is not a fully qualified domain name' "$T_TMP/check"
echo test.example >"$C/me"

echo 'x' >"$C/databyte"
echo 'ten' >"$C/maxrcpt"
chmod o+w "$C/access"
chmod o+r "$QHOME/tls/key.pem"
is "$(finding)" "100:4" "a misspelt file, a bad number, a world-writable map, a readable key"
ok "... one line each" sh -c "grep -q '^qconf: warning: control/databyte: not a setting' '$T_TMP/check' &&
  grep -q '^qconf: error: control/maxrcpt: \"ten\" is not a number' '$T_TMP/check' &&
  grep -q '^qconf: error: control/access: world-writable' '$T_TMP/check' &&
  grep -q '^qconf: error: tls/key.pem: readable by every user' '$T_TMP/check'"
rm -f "$C/databyte" "$C/maxrcpt"
chmod o-w "$C/access"
chmod o-r "$QHOME/tls/key.pem"
if [ "$(id -u)" = 0 ]; then
  chown nobody "$C/rcpthosts" "$QHOME/queue/bad"
  qconf check "$QHOME" >"$T_TMP/check" 2>&1
  ok "owners other than qsetup's" sh -c "grep -q '^qconf: error: control/rcpthosts: owned by nobody, not root' '$T_TMP/check' &&
    grep -q '^qconf: error: queue/bad: owned by nobody:qmta-send, qsetup makes it qmta-send:qmta-send' '$T_TMP/check'"
  chown root "$C/rcpthosts"
  chown qmta-send "$QHOME/queue/bad"
else
  pass "# SKIP owners: not root"
fi

# certificates: one expiring in 10 days, one expired in 2020
mkdir "$T_TMP/ca" && (cd "$T_TMP/ca" && touch index.txt && echo 01 >serial &&
  printf '[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=./index.txt\nnew_certs_dir=.\nserial=./serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' >conf &&
  openssl req -new -newkey rsa:2048 -nodes -subj /CN=test.example -keyout key.pem -out csr.pem &&
  openssl ca -batch -config conf -selfsign -keyfile key.pem -in csr.pem -out old.pem \
    -startdate 20200101000000Z -enddate 20200201000000Z &&
  openssl x509 -req -in csr.pem -signkey key.pem -days 10 -out soon.pem) >/dev/null 2>&1
cp "$T_TMP/ca/soon.pem" "$QHOME/tls/cert.pem"
is "$(finding)" "100:1" "a certificate that expires within 30 days"
cp "$T_TMP/ca/old.pem" "$QHOME/tls/cert.pem"
finding >/dev/null
ok "an expired certificate" grep -q '^qconf: error: tls/cert.pem: expired on Feb  1 00:00:00 2020 GMT' "$T_TMP/check"

out=$(qconf -x 2>&1); rc=$?
is "$rc:$out" "100:qconf: usage: qconf [-d] [DIR] | qconf check [DIR]" "misuse: usage, 100"
