# admin/: the administrator's commands on the queue and the logs: qstat
# (the queue lister, mailq's view), qstats (statistics from the logs) and
# qqueue (show, delete, hold, release, ...). qread.c is what qstat and
# qqueue share.
PROGS += admin/qstat admin/qstats admin/qqueue
MANS += admin/qstat.8 admin/qstats.8 admin/qqueue.8

admin/qstat: admin/qstat.o admin/qread.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

admin/qstats: admin/qstats.o admin/qstats_report.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

admin/qqueue: admin/qqueue.o admin/qread.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
