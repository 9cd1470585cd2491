# qtls/: the TLS programs. They never link libowfat or lib/lib.a (GPL-2.0-only
# and Apache-2.0 may not share a binary): only qtls/*.o here.
#
# qtlsd is the TLS service of the listeners (STARTTLS, STLS, 465, 995):
# long-lived, the only reader of the key; it forks per TLS session.
# qtls-client is qremote's STARTTLS helper. Both take OpenSSL statically.
QTLSPLAIN = qtls/qtls_log.o qtls/qtls_text.o qtls/qtls_sys.o qtls/qtls_ctl.o
QTLSSSL = qtls/qtls_sslerr.o qtls/qtls_handshake.o qtls/qtls_relay.o qtls/qtls_ctx.o
PROGS += qtls/qtlsd qtls/qtls-client qtls/qmtasts
MANS += qtls/qtlsd.8 qtls/qtls-client.8 qtls/qmtasts.8
UNITTESTS += tests/unit/u_qtls_sts

# of lib/, only the libc-only fdpass_recv (as qdkimd takes it), never lib.a
qtls/qtlsd: qtls/qtlsd.o $(QTLSPLAIN) $(QTLSSSL) lib/fdpass_recv.o
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
qtls/qtls-client: qtls/qtls-client.o qtls/qtls_ca.o $(QTLSPLAIN) $(QTLSSSL)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
# qmtasts fetches MTA-STS policies (HTTPS); qtls_sts.o is plain C.
qtls/qmtasts: qtls/qmtasts.o qtls/qtls_sts.o qtls/qtls_http.o qtls/qtls_ca.o $(QTLSPLAIN) \
              $(QTLSSSL)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
tests/unit/u_qtls_sts.o: tests/unit/u_qtls_sts.c
	$(CC) $(CFLAGS) -Itests/unit -Iqtls -c -o $@ $<
tests/unit/u_qtls_sts: tests/unit/u_qtls_sts.o qtls/qtls_sts.o
	$(CC) $(LDFLAGS) -o $@ $^
