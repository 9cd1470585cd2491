#!/bin/sh
# Runs the whole suite under prove: C unit tests (tests/unit/t_*) and the
# integration tests (tests/*.t). TESTS="tests/20-local.t ..." runs a subset.
cd "$(dirname "$0")/.." || exit 111
PATH="$(pwd)/bin:$PATH"
export PATH
if [ -z "$TESTS" ]; then
  TESTS="$(find tests/unit -type f -perm -u+x ! -name "*.*" | sort) $(ls tests/*.t)"
fi
exec prove --exec '' --timer $PROVEFLAGS $TESTS
