# qremote: the SMTP client; qsend_dsn.o: delivery status notifications
# (linked into qsend by qsend/build.mk); their unit tests.
QREMOTE_OBJ = qremote/qremote.o qremote/qremote_smtp.o qremote/qremote_wire.o \
  qremote/qremote_plan.o qremote/qremote_session.o qremote/qremote_txn.o qremote/qremote_reply.o \
  qremote/qremote_route.o qremote/qremote_policy.o qremote/qremote_dns.o qremote/qremote_net.o qremote/qremote_tls.o \
  qremote/qremote_sts.o qremote/qremote_rpt.o qtls/qtls_sts.o
PROGS += qremote/qremote
MANS += qremote/qremote.8
UNITTESTS += tests/unit/u_dsn tests/unit/u_dsn_parse tests/unit/u_qremote_route \
  tests/unit/u_qremote_reply tests/unit/u_qremote_dns tests/unit/u_qremote_txn

qremote/qremote: $(QREMOTE_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

qsend/qsend_dsn.o: qsend/qsend_dsn.c

tests/unit/u_dsn: tests/unit/u_dsn.o qsend/qsend_dsn.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qremote_route: tests/unit/u_qremote_route.o qremote/qremote_route.o qremote/qremote_policy.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_dsn_parse: tests/unit/u_dsn_parse.o qsend/qsend_dsn.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qremote_reply: tests/unit/u_qremote_reply.o qremote/qremote_reply.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qremote_dns: tests/unit/u_qremote_dns.o qremote/qremote_dns.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qremote_txn: tests/unit/u_qremote_txn.o qremote/qremote_txn.o qremote/qremote_wire.o \
  qremote/qremote_reply.o qremote/qremote_net.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_dsn.o: tests/unit/u_dsn.c
	$(CC) $(CFLAGS) -Itests/unit -Iqsend -c -o $@ $<
tests/unit/u_dsn_parse.o: tests/unit/u_dsn_parse.c
	$(CC) $(CFLAGS) -Itests/unit -Iqsend -c -o $@ $<
tests/unit/u_qremote_%.o: tests/unit/u_qremote_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqremote -c -o $@ $<

# qtlsrpt: TLS-RPT reports from qremote's counts (a shell script)
PROGS += qremote/qtlsrpt
MANS += qremote/qtlsrpt.8

qremote/qtlsrpt: qremote/qtlsrpt.sh
	rm -f $@
	cp qremote/qtlsrpt.sh $@
	chmod 755 $@
