#!/bin/sh
# qconf: the effective configuration of a qmta instance, and a lint of it.
# See qconf(8).
#
#   qconf [DIR]        every setting whose value differs from its default
#   qconf -d [DIR]     every setting with its default
#   qconf check [DIR]  one line per finding; exit 100 if any is an error
#
# The table of settings below is lib/ctldef.h, the file the programs take
# their defaults from: make writes it into this script.
# Exit: 0 done (check: no error found), 100 usage or (check) an error found,
# 111 the instance could not be read.

PROG=qconf
USAGE="usage: qconf [-d] [DIR] | qconf check [DIR]"

usage() { echo "$PROG: $USAGE" >&2; exit 100; }
die() { echo "$PROG: fatal: $*" >&2; exit 111; }

PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
LC_ALL=C
export LC_ALL

# name|kind|default|meaning, one setting a line (from lib/ctldef.h)
table() {
  cat <<'EOF'
@CTLDEF_TABLE@
EOF
}

MODE=show
DIR=
while [ $# -gt 0 ]; do
  case $1 in
    -d) [ "$MODE" = show ] || usage; MODE=defaults ;;
    check) [ "$MODE" = show ] && [ -z "$DIR" ] || usage; MODE=check ;;
    -h|--help|-*) usage ;;
    *) [ -z "$DIR" ] || usage; DIR=$1 ;;
  esac
  shift
done
if [ -z "$DIR" ]; then DIR=${QHOME:-/var/qmta}; fi

C=$DIR/control
if [ "$MODE" != defaults ] || [ -d "$C" ]; then
  [ -d "$C" ] || die "$DIR is not a qmta instance (no control/)"
  [ -r "$C" ] && [ -x "$C" ] || die "unable to read $C: permission denied"
fi

# entries FILE: its entries as the programs read them (lib/ctl.h): '#' to
# the end of the line cut, blanks trimmed, empty lines skipped.
entries() {
  sed -e 's/#.*//' -e 's/^[[:blank:]]*//' -e 's/[[:blank:]]*$//' -e '/^$/d' "$1" 2>/dev/null
}
first() { entries "$1" | sed -n 1p; }
lower() { printf '%s' "$1" | tr 'A-Z' 'a-z'; }

ME=
[ ! -f "$C/me" ] || ME=$(lower "$(first "$C/me")")
ME=${ME%.}

# settings MODE: "name = value" lines. MODE show: the effective value of
# every setting that differs from its default (and me); MODE defaults:
# every default. One awk reads every control file that exists: a number or
# a text is its first entry, a list all its entries, a flag whether the
# file exists, a map the number of its keys besides the ones qsetup writes.
settings() {
  st_mode=$1
  set --
  names=
  if [ "$st_mode" = show ]; then
    for f in "$C"/*; do
      [ -f "$f" ] || continue
      set -- "$@" "$f"
      names="$names ${f##*/}"
    done
  fi
  table | awk -F'|' -v mode="$st_mode" -v me="$ME" -v dir="$C/" -v names="$names" '
    function trim(s) { sub(/#.*/, "", s); gsub(/^[ \t]+|[ \t\r]+$/, "", s); return s }
    function dflt(n) {
      if (n == "me") return "(host name)"
      if (n == "locals" || n == "rcpthosts" || n == "helohost") return me == "" ? "(me)" : me
      if (n == "concurrencydomain") return val("concurrencyremote")
      if (kind[n] == "flag") return "no"
      if (kind[n] == "map") return "(no entries)"
      return def[n]
    }
    function val(n) {
      if (kind[n] == "flag") return (n in present) ? "yes" : "no"
      if (kind[n] == "map") return nkeys[n] > 0 ? nkeys[n] (nkeys[n] == 1 ? " entry" : " entries") " besides qsetup'"'"'s" : "(no entries)"
      if (kind[n] == "list") return (n in present) ? all[n] : dflt(n)
      if (n in firstent) return firstent[n]
      return n == "me" ? "(missing)" : dflt(n)
    }
    function out(n, v) { print (v == "" ? n " =" : n " = " v) }
    BEGIN {
      k = split(names, list, " ")
      for (i = 1; i <= k; i++) present[list[i]] = 1
      seed["users", "postmaster@" me] = 1
      seed["aliases", "mailer-daemon"] = 1
      seed["aliases", "abuse"] = 1
      seed["aliases", "root"] = 1
      seed["aliases", "postmaster"] = 1
    }
    FILENAME == "-" { order[++count] = $1; kind[$1] = $2; def[$1] = $3; next }
    FNR == 1 { name = substr(FILENAME, length(dir) + 1) }
    kind[name] == "map" {
      if (name == "aliases" && $0 ~ /^[ \t]/) next
      e = trim($0)
      if (e == "") next
      key = tolower(e)
      if (name == "users" || name == "aliases") sub(/[ \t]*:.*/, "", key)
      else sub(/[ \t].*/, "", key)
      if (!((name, key) in seed) && !((name, key) in seen)) { seen[name, key] = 1; nkeys[name]++ }
      next
    }
    {
      e = trim($0)
      if (e == "") next
      if (kind[name] == "number" && e ~ /^[0-9]+$/) { sub(/^0+/, "", e); if (e == "") e = "0" }
      if (!(name in firstent)) firstent[name] = e
      if (nent[name]++ > 0) all[name] = all[name] " " tolower(e)
      else all[name] = tolower(e)
    }
    END {
      for (i = 1; i <= count; i++) {
        n = order[i]
        if (mode == "defaults") out(n, dflt(n))
        else if (n == "me" || val(n) != dflt(n)) out(n, val(n))
      }
    }' - "$@"
}

# ---- check -----------------------------------------------------------------

ERRORS=0
error() { echo "$PROG: error: $*"; ERRORS=$((ERRORS + 1)); }
warning() { echo "$PROG: warning: $*"; }

# The owners qsetup gives a root instance (service/qsetup.sh); PATH
# USER:GROUP, "-" for either: what it does not fix.
ROOT_OWNERS="control root:root
tls root:qmta-tls
tls/key.pem qmta-tls:-
mail qmta-vmail:qmta-vmail
auth qmta-smtpd:qmta-smtpd
queue root:qmta-queue
queue/mess root:qmta-send
queue/info root:qmta-send
queue/tmp qmta-send:qmta-send
queue/new qmta-send:qmta-send
queue/pool qmta-send:qmta-send
queue/flush qmta-send:qmta-send
queue/bounce qmta-send:qmta-send
queue/bad qmta-send:qmta-send
queue/trigger qmta-send:qmta-queue
bin root:root
bin/qinject root:qmta-queue
log root:root
service root:root"

check_owners() {
  echo "$ROOT_OWNERS" | while read -r p want; do
    [ -e "$DIR/$p" ] || continue
    got=$(stat -c %U:%G "$DIR/$p") || continue
    case $want in
      *:-) got=${got%%:*}:- ;;
    esac
    [ "$got" = "$want" ] || echo "$p: owned by $got, qsetup makes it $want (rerun qsetup $DIR)"
  done
}

check_perms() {
  if [ "$(stat -c %u "$C")" = 0 ]; then root=1; owner=root; else root=; owner=$(stat -c %U "$DIR"); fi
  for f in "$C" "$C"/* "$DIR/tls"; do
    [ -e "$f" ] || continue
    rel=${f#"$DIR"/}
    [ ! -L "$f" ] || { echo "$rel: a symbolic link (qsetup makes plain files)"; continue; }
    perm=$(stat -c %a "$f")
    case $perm in *[2367]) echo "$rel: world-writable (chmod o-w $f)"; continue ;; esac
    o=$(stat -c %U "$f")
    if [ -n "$root" ]; then
      case $perm in *[2367]?) [ "$(stat -c %g "$f")" = 0 ] ||
        { echo "$rel: writable by group $(stat -c %G "$f") (chmod g-w $f)"; continue; } ;; esac
      case $rel in tls) ;; *) [ "$o" = root ] ||
        { echo "$rel: owned by $o, not root: whoever is $o controls the mail system"; continue; } ;; esac
    elif [ "$o" != "$owner" ]; then
      echo "$rel: owned by $o, not by $owner, who owns the instance"
    fi
  done
  for f in "$C/users" "$C/passwords.cdb"; do
    [ -e "$f" ] || continue
    case $(stat -c %a "$f") in *[4567]) echo "${f#"$DIR"/}: password hashes readable by every user (chmod o-r $f)" ;; esac
    if [ -n "$root" ]; then
      case $(stat -c %a "$f") in *[4567]?)
        case $(stat -c %G "$f") in root|qmta-auth) ;;
          *) echo "${f#"$DIR"/}: password hashes readable by group $(stat -c %G "$f") (chgrp qmta-auth $f)" ;;
        esac ;;
      esac
    fi
  done
  k=$DIR/tls/key.pem
  if [ -e "$k" ]; then
    perm=$(stat -c %a "$k")
    case $perm in
      *[1-7]) echo "tls/key.pem: readable by every user (chmod 400 $k)" ;;
      *)
        if [ -z "$root" ]; then
          case $perm in *[1-7]?) echo "tls/key.pem: readable by group $(stat -c %G "$k") (chmod 400 $k)" ;; esac
        else
          case $perm in *[4567]?)
            case $(stat -c %G "$k") in qmta-tls|root) ;;
              *) echo "tls/key.pem: readable by group $(stat -c %G "$k") (chown qmta-tls:qmta-tls $k; chmod 400 $k)" ;;
            esac ;;
          esac
        fi ;;
    esac
  fi
  [ -z "$root" ] || check_owners
}

check_domains() {
  if [ ! -s "$C/me" ] || [ -z "$ME" ]; then
    echo "control/me: missing or empty: the programs fall back on localhost"
  else
    case $ME in
      *.*) ;;
      *) echo "control/me: $ME is not a fully qualified domain name (write host.example.org): other servers refuse it in EHLO and bounces name it" ;;
    esac
  fi
}

check_values() {
  table | while IFS='|' read -r name kind def meaning; do
    [ "$kind" = number ] && [ -e "$C/$name" ] || continue
    v=$(first "$C/$name")
    case $v in
      '') ;;
      *[!0-9]*) echo "control/$name: \"$v\" is not a number (the programs use the default)" ;;
    esac
  done
}

check_maps() {
  for m in users aliases access generics; do
    [ -e "$C/$m" ] || continue
    set -- "$m.cdb"
    [ "$m" != access ] || set -- "$@" tcp.smtp.cdb
    for cdb in "$@"; do
      if [ ! -e "$C/$cdb" ]; then
        echo "control/$cdb: missing: run qnewmaps $DIR"
      elif [ "$C/$m" -nt "$C/$cdb" ]; then
        echo "control/$m: changed after control/$cdb was made: run qnewmaps $DIR"
      fi
    done
  done
}

check_tls() {
  cert=$DIR/tls/cert.pem
  if [ ! -e "$cert" ]; then
    [ ! -d "$DIR/service/tlsd" ] || echo "tls/cert.pem: missing: TLS does not work (rerun qsetup $DIR for a self-signed one)"
    return 0
  fi
  command -v openssl >/dev/null 2>&1 || { echo "W tls/cert.pem: not checked: no openssl"; return 0; }
  end=$(openssl x509 -in "$cert" -noout -enddate 2>/dev/null | sed 's/^notAfter=//')
  [ -n "$end" ] || { echo "tls/cert.pem: unreadable or not a certificate"; return 0; }
  if ! openssl x509 -in "$cert" -noout -checkend 0 >/dev/null 2>&1; then
    echo "tls/cert.pem: expired on $end: clients refuse TLS"
  elif ! openssl x509 -in "$cert" -noout -checkend 2592000 >/dev/null 2>&1; then
    echo "tls/cert.pem: expires within 30 days, on $end: renew it"
  fi
  if [ -n "$ME" ] && ! openssl x509 -in "$cert" -noout -checkhost "$ME" 2>/dev/null | grep -q ' does match'; then
    echo "W tls/cert.pem: not made for $ME (control/me)"
  fi
}

check_unknown() {
  names=$(table | cut -d'|' -f1)
  for f in "$C"/*; do
    [ -e "$f" ] || continue
    n=${f##*/}
    case $n in
      *.cdb) echo "$names" | grep -qxF "${n%.cdb}" || [ "$n" = tcp.smtp.cdb ] || [ "$n" = passwords.cdb ] ||
        echo "W control/$n: a map without its source" ;;
      dkim) [ -d "$f" ] || echo "W control/dkim: not a directory (the DKIM keys: qdkim-keygen(8))" ;;
      *) echo "$names" | grep -qxF "$n" ||
        echo "W control/$n: not a setting qmta knows (misspelt?)" ;;
    esac
  done
}

# Each check prints its findings, one a line ("W " first: a warning).
check() {
  for c in check_domains check_values check_perms check_maps check_tls check_unknown; do
    $c
  done > "$TMPF" || die "unable to write a temporary file"
  while IFS= read -r line; do
    case $line in
      "W "*) warning "${line#W }" ;;
      *) error "$line" ;;
    esac
  done < "$TMPF"
  [ "$ERRORS" -eq 0 ] || exit 100
  exit 0
}

case $MODE in
  show|defaults) settings "$MODE" ;;
  check)
    TMPF=$(mktemp "${TMPDIR:-/tmp}/qconf.XXXXXX") || die "unable to create a temporary file"
    trap 'rm -f "$TMPF"' EXIT
    check ;;
esac
