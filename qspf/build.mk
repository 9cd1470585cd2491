# qspf/: the SPF evaluator's command-line tool (lib/spf_*.c over lib/dnsq_*.c)
PROGS += qspf/qspf
MANS += qspf/qspf.8

qspf/qspf: qspf/qspf.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
