# Benchmark helpers (not installed): make bench/smtpload bench/smtpsink
# bench/injectload bench/bannerlat bench/nullprog
bench/smtpload: bench/smtpload.o
	$(CC) $(LDFLAGS) -o $@ $^
bench/bannerlat: bench/bannerlat.o
	$(CC) $(LDFLAGS) -o $@ $^
bench/injectload: bench/injectload.o
	$(CC) $(LDFLAGS) -o $@ $^
bench/smtpsink: bench/smtpsink.o
	$(CC) $(LDFLAGS) -o $@ $^
# built like qinject (a fast program): the same start-up cost minus the work
bench/nullprog: $(call fast,bench/nullprog.o)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^
