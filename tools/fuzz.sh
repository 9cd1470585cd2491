#!/bin/sh
# Builds every libFuzzer target in fuzz/ with clang (-fsanitize=fuzzer,
# address, undefined) into fuzz/bin/ and runs each for SECONDS seconds
# (make fuzz: FUZZTIME, default 30), starting from fuzz/seeds/NAME/ into a
# scratch corpus fuzz/corpus-run/NAME/. Exits 1 if any target found a crash
# (the reproducer is left as fuzz/bin/crash-*), 111 if it cannot build.
#   sh tools/fuzz.sh [SECONDS]
#   FUZZTARGETS="dns reply" sh tools/fuzz.sh 10     some targets only
# A target NAME is fuzz/fuzz_NAME.c, linked with lib/ and with what
# sources() lists for it (and libs(), when not lib/ and libowfat); add it
# to TARGETS, one a line.
TARGETS="
cmd
addr
data
pop3
popmsg
reply
dns
dkim
hdr
dsn
maps
env
arhdr
queue
cdb
sts
dnsq
dmarc
milter
"
cd "$(dirname "$0")/.." || exit 111
SECONDS_EACH=${1:-30}
case $SECONDS_EACH in ''|*[!0-9]*) echo "usage: tools/fuzz.sh [seconds]" >&2; exit 100 ;; esac
CC=${FUZZCC:-clang}
# -include lib/fmtfix.h as in the Makefile: libowfat's fmt_ are not pure
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Ilib -Iqsmtpd -Iqpop3d -Iqremote
  -Iqinject -Iqsend -Iqtls -Idkim -include lib/fmtfix.h -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined"
OUT=fuzz/bin
command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: no $CC (make deps installs it)" >&2; exit 111; }
# readable traces: the sanitizers look for llvm-symbolizer in PATH
if [ -z "$ASAN_SYMBOLIZER_PATH" ] && ! command -v llvm-symbolizer >/dev/null 2>&1; then
  for s in /usr/lib/llvm-*/bin/llvm-symbolizer; do
    [ -x "$s" ] && ASAN_SYMBOLIZER_PATH=$s && export ASAN_SYMBOLIZER_PATH
  done
fi
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
    cmd|addr|data) echo $QSMTPD_PURE ;;
    pop3) echo qpop3d/qpop3d_cmd.c qpop3d/qpop3d_io.c ;;
    popmsg) echo qpop3d/qpop3d_cmd.c qpop3d/qpop3d_io.c qpop3d/qpop3d_send.c \
                 qpop3d/qpop3d_maildir.c ;;
    reply) echo qremote/qremote_reply.c ;;
    dns) echo qremote/qremote_dns.c ;;
    hdr) echo qinject/sendmail_hdr.c ;;
    dsn) echo qsend/qsend_dsn.c ;;
    env) echo qinject/qinject_env.c ;;
    arhdr) echo qinject/qinject_hdr.c ;;
    sts) echo qtls/qtls_sts.c qtls/qtls_http.c ;;
    dkim) ls dkim/dkim_*.c ;;
    *) ;; # lib/ alone
  esac
}
# what a target links of lib/, and its libraries: dkim/ (OpenSSL) takes
# only lib/'s resolver, never libowfat
libs() {
  case $1 in
    dkim) echo "$OUT"/lib/dnsq_*.o -lssl -lcrypto ;;
    *) echo "$OUT"/lib/*.o -lowfat -lcrypt ;;
  esac
}
# the longest input tried: the maps take lines up to MAPS_LINE_MAX (8192)
maxlen() {
  case $1 in
    maps) echo 10000 ;;
    *) echo 4096 ;;
  esac
}
status=0
for target in ${FUZZTARGETS:-$TARGETS}; do
  bin="$OUT/fuzz_$target"
  # shellcheck disable=SC2086,SC2046
  $CC $FLAGS -o "$bin" "fuzz/fuzz_$target.c" $(sources "$target") $(libs "$target") ||
    { echo "fuzz: cannot build fuzz_$target" >&2; exit 111; }
  corpus="fuzz/corpus-run/$target"
  mkdir -p "$corpus" "fuzz/seeds/$target"
  echo "fuzz: fuzz_$target for $SECONDS_EACH s"
  # scratch files of a target (fuzz_maps) go into a directory of this run,
  # on /dev/shm when there is one, removed even when the target crashed
  base=${TMPDIR:-/tmp}
  [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
  scratch=$(mktemp -d "$base/qmta-fuzz.XXXXXX") || exit 111
  # -timeout: one input may take at most 10 s (a hang is a finding too);
  # findings go to fuzz/bin/ whatever directory the target is in
  if ! (cd "$OUT" && TMPDIR=$scratch "./fuzz_$target" -max_total_time="$SECONDS_EACH" \
        -max_len="$(maxlen "$target")" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$(pwd)/" "../corpus-run/$target" "../seeds/$target" \
        >"fuzz_$target.log" 2>&1); then
    echo "fuzz: fuzz_$target FAILED; see $OUT/fuzz_$target.log" >&2
    tail -n 30 "$OUT/fuzz_$target.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^Done' "$OUT/fuzz_$target.log" | sed 's/^/  /'
  fi
  rm -rf "$scratch"
done
exit $status
