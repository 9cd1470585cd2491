# Benchmark helpers (not installed): make bench/injectload bench/smtpsink
# (bench/smtpload's rule is in qsmtpd/build.mk)
bench/injectload: bench/injectload.o
	$(CC) $(LDFLAGS) -o $@ $^
bench/smtpsink: bench/smtpsink.o
	$(CC) $(LDFLAGS) -o $@ $^
# built like qinject (a fast program): the same start-up cost minus the work
bench/nullprog: $(call fast,bench/nullprog.o)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^
