# qinject/: qinject (the queue writer) and sendmail (the front end, also
# installed as mailq and newaliases).
PROGS += qinject/qinject qinject/sendmail
MANS += qinject/qinject.8 qinject/sendmail.8
UNITTESTS += tests/unit/u_qinject_env tests/unit/u_qinject_msg tests/unit/u_sendmail_hdr \
	tests/unit/u_qinject_dkim tests/unit/u_qinject_hdr

# a fast program (see the Makefile): one start per message
qinject/qinject: $(call fast,qinject/qinject.o qinject/qinject_env.o qinject/qinject_msg.o \
		qinject/qinject_dkim.o qinject/qinject_hdr.o) \
		$(FASTLIB)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^ $(FASTLIBS)

qinject/sendmail: qinject/sendmail.o qinject/sendmail_run.o qinject/sendmail_send.o \
		qinject/sendmail_hdr.o qinject/sendmail_rw.o qinject/sendmail_verify.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_sendmail_hdr: tests/unit/u_sendmail_hdr.o qinject/sendmail_hdr.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_env: tests/unit/u_qinject_env.o qinject/qinject_env.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_%.o: tests/unit/u_qinject_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqinject -c -o $@ $<

tests/unit/u_sendmail_%.o: tests/unit/u_sendmail_%.c
	$(CC) $(CFLAGS) -Itests/unit -Iqinject -c -o $@ $<

tests/unit/u_qinject_msg: tests/unit/u_qinject_msg.o qinject/qinject_msg.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_dkim: tests/unit/u_qinject_dkim.o qinject/qinject_dkim.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/u_qinject_hdr: tests/unit/u_qinject_hdr.o qinject/qinject_hdr.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
