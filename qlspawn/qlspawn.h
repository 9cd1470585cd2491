#ifndef QLSPAWN_H
#define QLSPAWN_H
/* Shared by qlspawn's files: the delivery slots and the Maildir workers. */
#include <poll.h>
#include <sys/types.h>
#include <time.h>

/* qlspawn.c: the delivery in slot ended with code K, D or Z; tells qsend. */
void slot_done(unsigned long slot, char code, const char *text);
/* qlspawn.c: in a freshly forked child, closes what belongs to qlspawn. */
void child_close_fds(void);

/* qlspawn_worker.c */
void workers_init(unsigned long concurrency);
/* Hands the Maildir delivery of slot (qlocal's argv, NULL-terminated, the
 * queue file qfd) to a worker running as uid/gid: 0, or -1 when no worker
 * can take it now (the caller forks a child of its own). */
int worker_start(unsigned long slot, uid_t uid, gid_t gid, int qfd, const char *const *args);
size_t workers_pollfds(struct pollfd *pfd, size_t room);
void workers_read(const struct pollfd *pfd, size_t n, time_t now);
/* 1 if pid was a worker (a job it had is settled), 0 if not. */
int workers_reaped(pid_t pid, int status);
/* Lets go of workers idle too long (all idle ones if all is set). */
void workers_expire(time_t now, int all);
unsigned long workers_alive(void);
void workers_close_fds(void);

#endif
