#!/bin/sh
# Runs the whole suite under prove: C unit tests (every executable without
# a dot in tests/unit/) and the integration tests (tests/*.t).
# TESTS="tests/20-local.t ..." runs a subset; PROVEFLAGS adds prove options.
#
# The instances that tests create run their daemons under dedicated
# accounts, which must reach the programs. When the tree is not reachable
# by other users (a checkout under /root, mode 0700), the suite runs from a
# copy of the tree in /var/tmp, removed afterwards.
cd "$(dirname "$0")/.." || exit 111
if [ "$(id -u)" = 0 ] && ! s6-setuidgid nobody test -x "$(pwd)/bin/." 2>/dev/null; then
  COPY=$(mktemp -d /var/tmp/qmta-tree.XXXXXX) || exit 111
  chmod 755 "$COPY"
  trap 'rm -rf "$COPY"' EXIT
  trap 'exit 1' INT TERM
  tar -cf - --exclude=./var --exclude=./bench/out . | (cd "$COPY" && tar -xf -) || exit 111
  echo "# the tree is not reachable by the daemon accounts: testing a copy in $COPY"
  cd "$COPY" || exit 111
fi
PATH="$(pwd)/bin:$PATH"
export PATH
if [ -z "$TESTS" ]; then
  TESTS="$(find tests/unit -type f -perm -u+x ! -name "*.*" | sort) $(ls tests/*.t)"
fi
# One DNS server for the whole run that answers NXDOMAIN to everything
# (tests/nxdns.py): the instances ask it unless a test brings its own. It
# ends when the pipe to its stdin closes, that is with this script.
if [ -z "$QMTA_TEST_DNS" ]; then
  DNSDIR=$(mktemp -d) || exit 111
  mkfifo "$DNSDIR/in" || exit 111
  python3 tests/nxdns.py <"$DNSDIR/in" >"$DNSDIR/port" &
  exec 9>"$DNSDIR/in"
  w=0
  while [ ! -s "$DNSDIR/port" ] && [ $w -lt 100 ]; do sleep 0.1; w=$((w + 1)); done
  port=$(head -n 1 "$DNSDIR/port")
  rm -rf "$DNSDIR"
  [ -n "$port" ] || { echo "runtests: tests/nxdns.py did not start" >&2; exit 111; }
  QMTA_TEST_DNS="127.0.0.1:$port"
  export QMTA_TEST_DNS
fi
# 9>&-: the tests and the daemons they start do not hold the DNS server's
# pipe open (a daemon left behind would keep it running after the suite)
# shellcheck disable=SC2086
prove --exec '' --timer $PROVEFLAGS $TESTS 9>&-
