QSEND_OBJ = qsend/qsend.o qsend/qsend_spawn.o qsend/qsend_queue.o qsend/qsend_sched.o \
  qsend/qsend_result.o qsend/qsend_dom.o qsend/qsend_dsn.o qsend/qsend_admin.o
PROGS += qsend/qsend
MANS += qsend/qsend.8
qsend/qsend: $(QSEND_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the scheduler's decisions on a synthetic queue (stand-ins for the rest)
UNITTESTS += tests/unit/u_sched
tests/unit/u_sched: tests/unit/u_sched.o qsend/qsend_sched.o qsend/qsend_result.o \
    qsend/qsend_dom.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_sched.o: tests/unit/u_sched.c
	$(CC) $(CFLAGS) -Itests/unit -Iqsend -c -o $@ $<
