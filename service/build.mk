# service/: qsetup (a shell script), qready (readiness for listeners) and
# qperip (the per-address connection limit).
PROGS += service/qsetup service/qready service/qperip
MANS += service/qsetup.8 service/qready.8 service/qperip.8

service/qsetup: service/qsetup.sh
	rm -f $@
	cp service/qsetup.sh $@
	chmod 755 $@

service/qready: service/qready.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

service/qperip: service/qperip.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
