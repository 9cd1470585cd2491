# qsmtpd: the ESMTP server. The pure parts (parse, data, received, policy)
# are linked by the unit tests and the fuzz targets (tools/fuzz.sh).
QSMTPD_PURE = qsmtpd/qsmtpd_parse.o qsmtpd/qsmtpd_data.o qsmtpd/qsmtpd_received.o \
  qsmtpd/qsmtpd_policy.o
QSMTPD_OBJ = qsmtpd/qsmtpd.o qsmtpd/qsmtpd_io.o qsmtpd/qsmtpd_inject.o qsmtpd/qsmtpd_auth.o \
  qsmtpd/qsmtpd_tls.o qsmtpd/qsmtpd_dns.o qsmtpd/qsmtpd_generics.o qsmtpd/qsmtpd_spf.o \
  qsmtpd/qsmtpd_dkim.o qsmtpd/qsmtpd_milter.o qsmtpd/qsmtpd_milter_edit.o qsmtpd/qsmtpd_session.o \
  qsmtpd/qsmtpd_envelope.o qsmtpd/qsmtpd_message.o qsmtpd/qsmtpd_log.o $(QSMTPD_PURE)
PROGS += qsmtpd/qsmtpd
MANS += qsmtpd/qsmtpd.8
UNITTESTS += tests/unit/u_qsmtpd_parse tests/unit/u_qsmtpd_data tests/unit/u_qsmtpd_policy
FUZZERS += fuzz/fuzz_cmd fuzz/fuzz_addr fuzz/fuzz_data fuzz/fuzz_milter

# a fast program (see the Makefile): one qsmtpd per qlisten -s connections
# (per connection with -s 1); a static program holds no relocated copies of
# shared libraries
# qsmtpd writes the queue with qinject's code when QINJECT is not set
QSMTPD_QINJECT = qinject/qinject_env.o qinject/qinject_msg.o \
  qinject/sendmail_rw.o qinject/sendmail_hdr.o
qsmtpd/qsmtpd: $(call fast,$(QSMTPD_OBJ) $(QSMTPD_QINJECT)) $(FASTLIB)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^ $(FASTLIBS)
qsmtpd/qsmtpd_inject.o qsmtpd/qsmtpd_inject.m.o: CFLAGS += -Iqinject
qsmtpd/qsmtpd_generics.o qsmtpd/qsmtpd_generics.m.o: CFLAGS += -Iqinject

tests/unit/u_qsmtpd_%.o: tests/unit/u_qsmtpd_%.c
	$(CC) $(CFLAGS) -Iqsmtpd -Itests/unit -c -o $@ $<
tests/unit/u_qsmtpd_%: tests/unit/u_qsmtpd_%.o $(QSMTPD_PURE) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
