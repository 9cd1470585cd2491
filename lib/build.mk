# lib/: built into lib/lib.a by the root Makefile. Unit tests for lib/:
LIBTESTS = $(patsubst %.c,%,$(sort $(wildcard tests/unit/t_*.c)))
UNITTESTS += $(LIBTESTS)
tests/unit/t_%: tests/unit/t_%.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)
tests/unit/t_%.o: tests/unit/t_%.c
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<
# tests/69-dmarc.t's driver for lib/dmarc and lib/authres (the dot in its
# name keeps tools/runtests.sh from taking it for a unit test)
UNITTESTS += tests/unit/dmarc_drive.bin
tests/unit/dmarc_drive.bin: tests/unit/dmarc_drive.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^
