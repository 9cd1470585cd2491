# qtls/: the TLS helpers. They link OpenSSL and never libowfat or lib/lib.a
# (GPL-2.0-only and Apache-2.0 may not share a binary): only qtls/*.o here.
QTLSOBJ = qtls/qtls_log.o qtls/qtls_text.o qtls/qtls_sys.o qtls/qtls_sslerr.o \
          qtls/qtls_handshake.o qtls/qtls_relay.o
PROGS += qtls/qtls-server qtls/qtls-client
MANS += qtls/qtls-server.8 qtls/qtls-client.8

qtls/qtls-server: qtls/qtls-server.o $(QTLSOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
qtls/qtls-client: qtls/qtls-client.o $(QTLSOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(SSLSTATIC)
