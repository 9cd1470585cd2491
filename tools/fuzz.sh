#!/bin/sh
# Builds every libFuzzer target in fuzz/ with clang (-fsanitize=fuzzer,
# address, undefined) into fuzz/bin/ and runs each for SECONDS seconds
# (make fuzz: FUZZTIME, default 30), starting from fuzz/seeds/NAME/ into a
# scratch corpus fuzz/corpus-run/NAME/. Exits 1 if any target found a crash
# (the reproducer is left as fuzz/bin/crash-*), 111 if it cannot build.
#   sh tools/fuzz.sh [SECONDS]
cd "$(dirname "$0")/.." || exit 111
SECONDS_EACH=${1:-30}
case $SECONDS_EACH in ''|*[!0-9]*) echo "usage: tools/fuzz.sh [seconds]" >&2; exit 100 ;; esac
CC=${FUZZCC:-clang}
# -include lib/fmtfix.h as in the Makefile: libowfat's fmt_ are not pure
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Ilib -Iqsmtpd -Iqpop3d
  -include lib/fmtfix.h -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
OUT=fuzz/bin
mkdir -p "$OUT/lib" fuzz/corpus-run || exit 111
# lib/ objects built with other flags or older headers are built again
if [ "$(cat "$OUT/lib/flags" 2>/dev/null)" != "$CC $FLAGS" ] ||
   [ -n "$(find lib -name '*.h' -newer "$OUT/lib/flags" 2>/dev/null)" ]; then
  rm -f "$OUT"/lib/*.o
  printf '%s\n' "$CC $FLAGS" >"$OUT/lib/flags" || exit 111
fi

# lib/ once, instrumented (without main; the fuzzer provides it)
for c in lib/*.c; do
  o="$OUT/lib/$(basename "$c" .c).o"
  if [ ! -f "$o" ] || [ "$c" -nt "$o" ]; then
    $CC $FLAGS -fsanitize=fuzzer-no-link -c -o "$o" "$c" ||
      { echo "fuzz: cannot build $c" >&2; exit 111; }
  fi
done

# the program sources each target links besides lib/ (the parts without I/O,
# except that the pop3 targets take qpop3d_io.c with its ops replaced)
QSMTPD_PURE="qsmtpd/qsmtpd_parse.c qsmtpd/qsmtpd_data.c qsmtpd/qsmtpd_received.c
  qsmtpd/qsmtpd_policy.c"
sources() {
  case $1 in
    pop3) echo qpop3d/qpop3d_cmd.c qpop3d/qpop3d_io.c ;;
    popmsg) echo qpop3d/qpop3d_cmd.c qpop3d/qpop3d_io.c qpop3d/qpop3d_send.c \
                 qpop3d/qpop3d_maildir.c ;;
    cdb) ;; # lib/ alone
    *) echo $QSMTPD_PURE ;;
  esac
}
status=0
for target in cmd addr data pop3 popmsg cdb; do
  bin="$OUT/fuzz_$target"
  # shellcheck disable=SC2086,SC2046
  $CC $FLAGS -o "$bin" "fuzz/fuzz_$target.c" $(sources "$target") "$OUT"/lib/*.o -lowfat -lcrypt ||
    { echo "fuzz: cannot build fuzz_$target" >&2; exit 111; }
  corpus="fuzz/corpus-run/$target"
  mkdir -p "$corpus"
  echo "fuzz: fuzz_$target for $SECONDS_EACH s"
  if ! (cd "$OUT" && "./fuzz_$target" -max_total_time="$SECONDS_EACH" -max_len=4096 \
        -print_final_stats=1 "../corpus-run/$target" "../seeds/$target" \
        >"fuzz_$target.log" 2>&1); then
    echo "fuzz: fuzz_$target FAILED; see $OUT/fuzz_$target.log" >&2
    tail -n 30 "$OUT/fuzz_$target.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^Done' "$OUT/fuzz_$target.log" | sed 's/^/  /'
  fi
done
exit $status
