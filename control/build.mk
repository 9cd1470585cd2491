# control/: qnewmaps, the map compiler. The compilers themselves are
# lib/maps*.c (qpasswd, built by qauth/build.mk, uses them too).
PROGS += control/qnewmaps
MANS += control/qnewmaps.8

control/qnewmaps: control/qnewmaps.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
