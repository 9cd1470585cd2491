# control/: qnewmaps, the map compiler. The compilers themselves are
# lib/maps*.c (qpasswd, built by qauth/build.mk, uses them too).
PROGS += control/qnewmaps
MANS += control/qnewmaps.8
# the admin's page: sendmail and Postfix tasks beside ours (section 7)
MANS += control/qmta-admin.7

control/qnewmaps: control/qnewmaps.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the CDB reader's fuzz target (lib/cdbmap_check.c; tools/fuzz.sh builds it)
FUZZERS += fuzz/fuzz_cdb
