# qtls/: the TLS helpers. They never link libowfat or lib/lib.a (GPL-2.0-only
# and Apache-2.0 may not share a binary): only qtls/*.o here.
#
# qtls-server is two programs. The front (qtls-server) is a fast program
# (see the Makefile) and links no TLS library: it runs for every SMTP and
# POP3 connection and, in a plaintext session, is all there is. It execs
# the TLS stage (qtls-server-tls, glibc and OpenSSL) only when a session
# needs TLS. Its objects (qtls.h only, never qtls_ssl.h) build against musl.
QTLSPLAIN = qtls/qtls_log.o qtls/qtls_text.o qtls/qtls_sys.o
QTLSSSL = qtls/qtls_sslerr.o qtls/qtls_handshake.o qtls/qtls_relay.o qtls/qtls_ctx.o
PROGS += qtls/qtls-server qtls/qtls-server-tls qtls/qtls-client qtls/qtlsd
MANS += qtls/qtls-server.8 qtls/qtls-server-tls.8 qtls/qtls-client.8 qtls/qtlsd.8

# Without musl, a static glibc program that calls getpwnam or initgroups
# draws linker warnings (NSS needs the shared libraries at run time): then
# the front links like any other program.
ifeq ($(FASTO),.m.o)
QTLSFRONTLD = $(FASTLD)
else
QTLSFRONTLD =
endif

qtls/qtls-server: $(call fast,qtls/qtls-server.o qtls/qtls_ctl.o $(QTLSPLAIN))
	$(FASTCC) $(LDFLAGS) $(QTLSFRONTLD) -o $@ $^
qtls/qtls-server-tls: qtls/qtls-server-tls.o qtls/qtls_ctl.o $(QTLSPLAIN) $(QTLSSSL)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
qtls/qtls-client: qtls/qtls-client.o qtls/qtls_ctl.o $(QTLSPLAIN) $(QTLSSSL)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
qtls/qtlsd: qtls/qtlsd.o qtls/qtls_ctl.o $(QTLSPLAIN) $(QTLSSSL)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
