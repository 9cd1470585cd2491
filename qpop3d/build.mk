# qpop3d: the POP3 server; qdovecot-conf: the IMAP (Dovecot) configuration.
PROGS += qpop3d/qdovecot-conf
MANS += qpop3d/qdovecot-conf.8

qpop3d/qdovecot-conf: qpop3d/qdovecot-conf.sh
	cp qpop3d/qdovecot-conf.sh $@.tmp && chmod 755 $@.tmp && mv -f $@.tmp $@

# qpop3d_cmd.o is the parsing of client input without I/O: linked by
# u_qpop3d_cmd and by fuzz/fuzz_pop3 (tools/fuzz.sh).
QPOP3D_OBJ = qpop3d/qpop3d.o qpop3d/qpop3d_io.o qpop3d/qpop3d_cmd.o qpop3d/qpop3d_maildir.o \
  qpop3d/qpop3d_send.o qpop3d/qpop3d_session.o
PROGS += qpop3d/qpop3d
MANS += qpop3d/qpop3d.8
UNITTESTS += tests/unit/u_qpop3d_maildir tests/unit/u_qpop3d_cmd
FUZZERS += fuzz/fuzz_pop3 fuzz/fuzz_popmsg

qpop3d/qpop3d: $(QPOP3D_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qpop3d_%.o: tests/unit/u_qpop3d_%.c
	$(CC) $(CFLAGS) -Iqpop3d -Itests/unit -c -o $@ $<
tests/unit/u_qpop3d_maildir: tests/unit/u_qpop3d_maildir.o qpop3d/qpop3d_maildir.o \
  qpop3d/qpop3d_send.o qpop3d/qpop3d_io.o qpop3d/qpop3d_cmd.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qpop3d_cmd: tests/unit/u_qpop3d_cmd.o qpop3d/qpop3d_cmd.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
