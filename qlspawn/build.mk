PROGS += qlspawn/qlspawn
MANS += qlspawn/qlspawn.8
# qlspawn runs qlocal's code in the child it forks for each delivery
qlspawn/qlspawn: qlspawn/qlspawn.o qlspawn/qlspawn_worker.o qlspawn/qlspawn_alias.o $(QLOCAL_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
qlspawn/%.o: qlspawn/%.c
	$(CC) $(CFLAGS) -Iqlocal -c -o $@ $<
