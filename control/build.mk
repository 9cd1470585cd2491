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

# qconf: a shell script with the table of settings of lib/ctldef.h written
# in (name|kind|default|meaning a line), so that it and the programs share
# one list of defaults
PROGS += control/qconf
MANS += control/qconf.8

control/qconf: control/qconf.sh lib/ctldef.h
	rm -f $@ $@.tmp
	{ sed '/^@CTLDEF_TABLE@$$/,$$d' control/qconf.sh && \
	  awk -f control/ctldef.awk lib/ctldef.h && \
	  sed '1,/^@CTLDEF_TABLE@$$/d' control/qconf.sh; } > $@.tmp || { rm -f $@.tmp; exit 1; }
	chmod 755 $@.tmp
	mv -f $@.tmp $@
