# qrspawn: qsend's remote spawner, running qremote per destination.
PROGS += qrspawn/qrspawn
MANS += qrspawn/qrspawn.8

qrspawn/qrspawn: qrspawn/qrspawn.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
