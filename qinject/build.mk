# qinject/: qinject (the queue writer), sendmail (the front end, also
# installed as mailq and newaliases), and qsend/qstat, qsend/qstats (the
# queue lister and the log statistics), whose rules live here.
PROGS += qinject/qinject qinject/sendmail qsend/qstat qsend/qstats
MANS += qinject/qinject.8 qinject/sendmail.8 qsend/qstat.8 qsend/qstats.8
UNITTESTS += tests/unit/u_qinject_env tests/unit/u_qinject_msg tests/unit/u_sendmail_hdr

# a fast program (see the Makefile): one start per message
qinject/qinject: $(call fast,qinject/qinject.o qinject/qinject_env.o qinject/qinject_msg.o \
		qinject/qinject_fmt.o) $(FASTLIB)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^ $(FASTLIBS)

qinject/sendmail: qinject/sendmail.o qinject/sendmail_hdr.o qinject/sendmail_rw.o \
		qinject/qinject_fmt.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

qsend/qstat: qsend/qstat.o qsend/qread.o qinject/qinject_fmt.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

qsend/qstat.o: qsend/qstat.c
	$(CC) $(CFLAGS) -Iqinject -c -o $@ $<

qsend/qstats: qsend/qstats.o qinject/qinject_fmt.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

qsend/qstats.o: qsend/qstats.c
	$(CC) $(CFLAGS) -Iqinject -c -o $@ $<

tests/unit/u_sendmail_hdr: tests/unit/u_sendmail_hdr.o qinject/sendmail_hdr.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_env: tests/unit/u_qinject_env.o qinject/qinject_env.o qinject/qinject_fmt.o \
		lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_%.o: tests/unit/u_qinject_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqinject -c -o $@ $<

tests/unit/u_sendmail_%.o: tests/unit/u_sendmail_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqinject -c -o $@ $<

tests/unit/u_qinject_msg: tests/unit/u_qinject_msg.o qinject/qinject_msg.o qinject/qinject_fmt.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
