# Benchmark helpers (not installed): make bench/injectload
bench/injectload: bench/injectload.o
	$(CC) $(LDFLAGS) -o $@ $^
