# control/: qnewmaps, the map compiler. The compilers themselves are
# lib/maps*.c (qpasswd, built by qauth/build.mk, uses them too).
PROGS += control/qnewmaps
MANS += control/qnewmaps.8
# the admin's page: sendmail and Postfix tasks beside ours (section 7)
MANS += control/qmta-admin.7

control/qnewmaps: control/qnewmaps.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
