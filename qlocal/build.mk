QLOCAL_OBJ = qlocal/qlocal.o qlocal/qlocal_msg.o qlocal/qlocal_maildir.o qlocal/qlocal_mbox.o \
  qlocal/qlocal_alias.o qlocal/qlocal_forward.o
PROGS += qlocal/qlocal
MANS += qlocal/qlocal.8
qlocal/qlocal: qlocal/qlocal_run.o $(QLOCAL_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
