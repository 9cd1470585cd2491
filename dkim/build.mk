# dkim/: DKIM signing and verification (ISC). The library and its tools
# link OpenSSL and libc, and of lib/ only the dnsq resolver (libc only):
# never libowfat or lib/lib.a (GPL-2.0-only and Apache-2.0 may not share a
# binary). Other programs (qdkimd) link $(DKIMOBJ) with $(SSLLIBS).
DNSQOBJ = lib/dnsq_cache.o lib/dnsq_name.o lib/dnsq_parse.o lib/dnsq_query.o
DKIMOBJ = dkim/dkim_stub.o $(DNSQOBJ)
