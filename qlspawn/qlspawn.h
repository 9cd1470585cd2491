#ifndef QLSPAWN_H
#define QLSPAWN_H
/* Shared by qlspawn's files: the delivery slots and the Maildir workers. */
#include <poll.h>
#include <sys/types.h>
#include <time.h>

#include <stralloc.h>

#define BOXES_MAX 16 /* mailbox targets ("\name", itself) of one alias */

/* A mailbox and its owner. */
struct box {
  uid_t uid;
  gid_t gid;
  stralloc addr;     /* NUL-terminated: the address it is delivered for */
  stralloc mailbox;  /* NUL-terminated: ending in '/' a Maildir, else an mbox */
  stralloc home;     /* NUL-terminated, a login account's home (~/.forward); empty: none */
};

/* Where a recipient's mail goes (qlspawn.c, locate). */
struct where {
  int alias;         /* 0: into self; 1: an alias's targets and boxes */
  struct box self;
  uid_t uid;         /* the alias account, for targets */
  gid_t gid;
  stralloc targets;  /* each NUL-terminated: what qlocal -A delivers */
  struct box boxes[BOXES_MAX];
  size_t box_count;
};

/* qlspawn.c: the delivery in slot ended with code K, D or Z; tells qsend. */
void slot_done(unsigned long slot, char code, const char *text);
/* qlspawn.c: in a freshly forked child, closes what belongs to qlspawn. */
void child_close_fds(void);

/* qlspawn.c: qlocal's argv, NULL-terminated (free it; it points into its
 * arguments). targets NULL: into mailbox, with HOME/.forward read when
 * home is not NULL; else an alias's targets (qlocal -A). */
const char **job_args(const char *lenbuf, const char *sender, const char *rcpt,
                      const stralloc *targets, const char *mailbox, const char *home);

/* qlspawn_alias.c: in the child forked for an alias with boxes (still
 * root, fd 0 the queue file, fd 1 the report pipe): delivers into each
 * box as its owner, then the other targets (args, when w has any) as the
 * alias account; one report, and exits. */
void alias_run(const struct where *w, const char *lenbuf, const char *sender, const char *rcpt,
               const char **args) __attribute__((noreturn));

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
