QLOCAL_OBJ = qlocal/qlocal.o qlocal/qlocal_report.o qlocal/qlocal_msg.o qlocal/qlocal_maildir.o \
  qlocal/qlocal_mbox.o qlocal/qlocal_alias.o qlocal/qlocal_forward.o
PROGS += qlocal/qlocal
MANS += qlocal/qlocal.8
qlocal/qlocal: qlocal/qlocal_run.o $(QLOCAL_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
UNITTESTS += tests/unit/u_qlocal_parse
tests/unit/u_qlocal_parse: tests/unit/u_qlocal_parse.o $(QLOCAL_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qlocal_parse.o: tests/unit/u_qlocal_parse.c
	$(CC) $(CFLAGS) -Itests/unit -Iqlocal -c -o $@ $<
