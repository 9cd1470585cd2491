PROGS += qlspawn/qlspawn
MANS += qlspawn/qlspawn.8
# qlspawn runs qlocal's code in the child it forks for each delivery; its
# LMTP workers read replies and connect with qremote's code
QLSPAWN_OBJ = qlspawn/qlspawn.o qlspawn/qlspawn_worker.o qlspawn/qlspawn_alias.o \
  qlspawn/qlspawn_lmtp.o qlspawn/qlspawn_lmtpc.o qlspawn/qlspawn_target.o
qlspawn/qlspawn: $(QLSPAWN_OBJ) $(QLOCAL_OBJ) qremote/qremote_reply.o qremote/qremote_net.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
qlspawn/%.o: qlspawn/%.c
	$(CC) $(CFLAGS) -Iqlocal -Iqremote -c -o $@ $<
UNITTESTS += tests/unit/u_qlspawn_target
tests/unit/u_qlspawn_target: tests/unit/u_qlspawn_target.o qlspawn/qlspawn_target.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qlspawn_target.o: tests/unit/u_qlspawn_target.c
	$(CC) $(CFLAGS) -Itests/unit -Iqlspawn -c -o $@ $<
