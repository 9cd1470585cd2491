# service/: qsetup (a shell script) and qready (readiness for Dovecot).
PROGS += service/qsetup service/qready
MANS += service/qsetup.8 service/qready.8

service/qsetup: service/qsetup.sh
	rm -f $@
	cp service/qsetup.sh $@
	chmod 755 $@

service/qready: service/qready.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
