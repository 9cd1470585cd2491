# qlisten/: the TCP listener of the SMTP and POP3 services. A fast program
# (see the Makefile): small and static, it starts the session programs.
PROGS += qlisten/qlisten
MANS += qlisten/qlisten.8
QLISTEN_OBJ = qlisten/qlisten.o qlisten/qlisten_peers.o qlisten/qlisten_proc.o \
  qlisten/qlisten_rules.o qlisten/qlisten_stat.o

qlisten/qlisten: $(call fast,$(QLISTEN_OBJ)) $(FASTLIB)
	$(FASTCC) $(LDFLAGS) $(FASTLD) -o $@ $^ $(FASTLIBS)

UNITTESTS += tests/unit/u_qlisten_peers
tests/unit/u_qlisten_%.o: tests/unit/u_qlisten_%.c
	$(CC) $(CFLAGS) -Iqlisten -Itests/unit -c -o $@ $<
tests/unit/u_qlisten_peers: tests/unit/u_qlisten_peers.o qlisten/qlisten_peers.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
