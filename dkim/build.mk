# dkim/: DKIM signing and verification (ISC). The library and its tools
# link OpenSSL and libc, and of lib/ only the dnsq resolver (libc only):
# never libowfat or lib/lib.a (GPL-2.0-only and Apache-2.0 may not share a
# binary). Other programs (qdkimd) link $(DKIMOBJ) with $(SSLLIBS).
DKIMOBJ = dkim/dkim_buf.o dkim/dkim_tag.o dkim/dkim_b64.o dkim/dkim_fields.o \
	dkim/dkim_canon.o dkim/dkim_hash.o dkim/dkim_util.o dkim/dkim_key.o \
	dkim/dkim_crypto.o dkim/dkim_sign.o dkim/dkim_verify.o dkim/dkim_dns.o \
	dkim/dkim_keys.o dkim/dkim_pubkey.o lib/dnsq_cache.o lib/dnsq_name.o lib/dnsq_parse.o lib/dnsq_query.o
# the diagnostics of the tools: qtls's plain helpers (libc only)
DKIMTOOLOBJ = qtls/qtls_log.o qtls/qtls_text.o qtls/qtls_sys.o
PROGS += dkim/qdkim dkim/qdkim-keygen
MANS += dkim/qdkim.8 dkim/qdkim-keygen.8
UNITTESTS += tests/unit/u_dkim
# the parsers, verify and a sign-verify round trip (tools/fuzz.sh builds it)
FUZZERS += fuzz/fuzz_dkim

dkim/qdkim.o dkim/qdkim-keygen.o: CFLAGS += -Idkim -Iqtls
dkim/qdkim: dkim/qdkim.o $(DKIMOBJ) $(DKIMTOOLOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLLIBS)
dkim/qdkim-keygen: dkim/qdkim-keygen.o $(DKIMOBJ) $(DKIMTOOLOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLLIBS)
tests/unit/u_dkim.o: tests/unit/u_dkim.c
	$(CC) $(CFLAGS) -Itests/unit -Idkim -c -o $@ $<
tests/unit/u_dkim: tests/unit/u_dkim.o $(DKIMOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLLIBS)
