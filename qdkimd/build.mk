# qdkimd/: the DKIM service (signer and verifier, one program, two
# services). It links OpenSSL through dkim/ and, of lib/, only libc-only
# objects (dnsq, fdpass, unixsock, dmarc, authres) and qtls/'s plain helpers: never
# libowfat or lib/lib.a (GPL-2.0-only and Apache-2.0 may not share a binary).
QDKIMD_LIBOBJ = lib/fdpass_send.o lib/fdpass_recv.o lib/unixsock_bind.o lib/unixsock_serve.o \
  $(patsubst %.c,%.o,$(sort $(wildcard lib/dmarc*.c lib/authres*.c)))
QDKIMD_OBJ = qdkimd/qdkimd.o qdkimd/qdkimd_req.o qdkimd/qdkimd_sign.o qdkimd/qdkimd_verify.o
PROGS += qdkimd/qdkimd
MANS += qdkimd/qdkimd.8
UNITTESTS += tests/unit/u_qdkimd_req

qdkimd/%.o: CFLAGS += -Iqtls -Idkim
qdkimd/qdkimd: $(QDKIMD_OBJ) $(QDKIMD_LIBOBJ) $(DKIMOBJ) qtls/qtls_log.o qtls/qtls_text.o
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)

tests/unit/u_qdkimd_req.o: tests/unit/u_qdkimd_req.c
	$(CC) $(CFLAGS) -Iqdkimd -Itests/unit -c -o $@ $<
tests/unit/u_qdkimd_req: tests/unit/u_qdkimd_req.o qdkimd/qdkimd_req.o
	$(CC) $(LDFLAGS) -o $@ $^
