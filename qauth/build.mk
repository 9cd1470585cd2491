# qauth: the checkpassword program (qpasswd, in this folder too, is built
# here when its source is present).
QAUTH_OBJ = qauth/qauth.o qauth/qauth_check.o qauth/qauth_fail.o qauth/qauth_verify.o
PROGS += qauth/qauth qauth/qauthd
MANS += qauth/qauth.8 qauth/qauthd.8
UNITTESTS += tests/unit/u_qauth_fail tests/unit/u_qauth_verify

qauth/qauth: $(QAUTH_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)
qauth/qauthd: qauth/qauthd.o qauth/qauth_check.o qauth/qauth_verify.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)

tests/unit/u_qauth_%.o: tests/unit/u_qauth_%.c
	$(CC) $(CFLAGS) -Iqauth -Itests/unit -c -o $@ $<
tests/unit/u_qauth_fail: tests/unit/u_qauth_fail.o qauth/qauth_fail.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
tests/unit/u_qauth_verify: tests/unit/u_qauth_verify.o qauth/qauth_verify.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)

ifneq ($(wildcard qauth/qpasswd.c),)
PROGS += qauth/qpasswd
MANS += $(wildcard qauth/qpasswd.8)
qauth/qpasswd: qauth/qpasswd.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRYPTLIBS)
endif
