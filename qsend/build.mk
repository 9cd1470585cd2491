QSEND_OBJ = qsend/qsend.o qsend/qsend_queue.o qsend/qsend_sched.o qsend/qsend_dom.o \
  qsend/qsend_dsn.o
PROGS += qsend/qsend
MANS += qsend/qsend.8
qsend/qsend: $(QSEND_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
