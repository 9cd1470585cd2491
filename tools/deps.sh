#!/bin/sh
# Installs the Debian packages the project needs, skipping what is present.
# Run as root (make deps). Needs only Debian's package archive.
set -e
PKGS="build-essential clang libowfat-dev tinycdb s6 ucspi-tcp-ipv6 libssl-dev libcrypt-dev
openssl swaks s-nail mutt dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve dnsmasq-base python3 perl
libclang-rt-14-dev procps iproute2 musl-tools libio-socket-ssl-perl libnet-ssleay-perl
llvm-14 python3-spf python3-dnslib python3-yaml
python3-authheaders python3-dkim python3-nacl opendkim-tools
rsync
nsd ldnsutils unbound
python3-milter
rspamd"
missing=
for p in $PKGS; do
  st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
  case "$st" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
# probe: each capability the tests use, so a gap fails here, not in test 33
probe() {
  bad=
  perl -MIO::Socket::SSL -e1 2>/dev/null || bad="$bad perl-IO::Socket::SSL(swaks TLS)"
  python3 -c 'import ssl, smtplib, poplib, imaplib' 2>/dev/null || bad="$bad python3-ssl"
  # tests/66-spf-suite.t: the RFC 7208 suite, served by a fake DNS (Debian's
  # python3, which may not be the first python3 in PATH)
  [ -f /usr/share/doc/python3-spf/rfc7208-tests.yml.gz ] || bad="$bad python3-spf(rfc7208-tests)"
  /usr/bin/python3 -c 'import dnslib, yaml' 2>/dev/null || bad="$bad python3-dnslib,python3-yaml"
  # tests/69-dmarc.t: authheaders' DMARC verdicts, dkimpy to sign the corpus
  /usr/bin/python3 -c 'import authheaders, dkim' 2>/dev/null || bad="$bad python3-authheaders"
  for c in cc clang musl-gcc cdb s6-svscan tcpserver openssl swaks s-nail dnsmasq prove; do
    command -v $c >/dev/null 2>&1 || bad="$bad $c"
  done
  # tests/28-lmtp: Dovecot's LMTP service and its Sieve plugin
  [ -x /usr/lib/dovecot/lmtp ] || bad="$bad dovecot-lmtp(dovecot-lmtpd)"
  [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] || bad="$bad dovecot-sieve"
  # tests/94-two-mx.t: qmta-admin(7)'s recipe that copies control/ to another node
  command -v rsync >/dev/null 2>&1 || bad="$bad rsync"
  # tests/47-dane.t: the DNSSEC lab (nsd serving a zone signed by ldns, unbound validating)
  for c in nsd ldns-keygen ldns-signzone unbound unbound-checkconf; do
    command -v $c >/dev/null 2>&1 || [ -x /usr/sbin/$c ] || bad="$bad $c(nsd,ldnsutils,unbound)"
  done
  # tests/73-milter.t: the test milters (pymilter)
  /usr/bin/python3 -c 'import Milter' 2>/dev/null || bad="$bad python3-milter"
  # tests/75-rspamd.t, bench/milter-bench.sh: a private rspamd (its workers run as _rspamd;
  # the package's own daemon stays off: policy-rc.d below, and redis is not installed)
  { rspamd --version 2>/dev/null | grep -q '^Rspamd daemon version' && id _rspamd >/dev/null 2>&1; } ||
    bad="$bad rspamd"
  [ -f /usr/include/cdb.h ] && [ -f /usr/lib/libowfat.a ] || bad="$bad libowfat"
  # tests/68-dkim: dkimpy (Ed25519 through nacl) and opendkim-testmsg
  /usr/bin/python3 -c 'import dkim, nacl.signing' 2>/dev/null || bad="$bad python3-dkim,python3-nacl"
  [ -x /usr/sbin/opendkim-testmsg ] || command -v opendkim-testmsg >/dev/null 2>&1 ||
    bad="$bad opendkim-testmsg(opendkim-tools)"
  # make test SAN=1 (gcc's ASan and UBSan) and make fuzz (clang's libFuzzer)
  p=$(mktemp -d) || exit 111
  echo 'int main(void) { return 0; }' >"$p/san.c"
  cc -fsanitize=address,undefined -o "$p/san" "$p/san.c" 2>/dev/null && "$p/san" ||
    bad="$bad cc-sanitizers(libasan,libubsan)"
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$p/fuzz.c"
  clang -fsanitize=fuzzer,address,undefined -o "$p/fuzz" "$p/fuzz.c" 2>/dev/null &&
    "$p/fuzz" -runs=1 >/dev/null 2>&1 || bad="$bad clang-libFuzzer(libclang-rt-14-dev)"
  rm -rf "$p"
  # readable sanitizer traces (tools/fuzz.sh looks in /usr/lib/llvm-*/bin too)
  command -v llvm-symbolizer >/dev/null 2>&1 || [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] ||
    bad="$bad llvm-symbolizer(llvm-14)"
  [ -z "$bad" ] || { echo "deps: missing capabilities:$bad" >&2; exit 111; }
}
[ -z "$missing" ] && { probe; echo "deps: all present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing:$missing (run make deps as root)" >&2
  exit 111
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || apt-get update
# dovecot's, rspamd's and other packages' postinst must not start system daemons here.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing
probe
echo "deps: installed"
