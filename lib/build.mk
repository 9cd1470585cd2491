# lib/: built into lib/lib.a by the root Makefile. Unit tests for lib/:
LIBTESTS = $(patsubst %.c,%,$(sort $(wildcard tests/unit/t_*.c)))
UNITTESTS += $(LIBTESTS)
tests/unit/t_%: tests/unit/t_%.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)
tests/unit/t_%.o: tests/unit/t_%.c
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<
