# qinject/: qinject (the queue writer), sendmail (the front end, also
# installed as mailq and newaliases), and qsend/qstat, qsend/qstats (the
# queue lister and the log statistics), whose rules live here.
PROGS += qinject/qinject
MANS += qinject/qinject.8
UNITTESTS += tests/unit/u_qinject_env

qinject/qinject: qinject/qinject.o qinject/qinject_env.o qinject/qinject_fmt.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_env: tests/unit/u_qinject_env.o qinject/qinject_env.o qinject/qinject_fmt.o \
		lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_%.o: tests/unit/u_qinject_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqinject -c -o $@ $<
