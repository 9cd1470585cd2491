PROGS += qlspawn/qlspawn
MANS += qlspawn/qlspawn.8
qlspawn/qlspawn: qlspawn/qlspawn.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
