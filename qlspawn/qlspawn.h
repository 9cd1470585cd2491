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
/* Forks a helper joined to qlspawn by a SOCK_SEQPACKET pair. In the child
 * (returns 0): qlspawn's descriptors closed, /dev/null on fd 0 and fd 1
 * (also in *null_fd), uid/gid taken for good (never root: it exits 111
 * rather), *sock its end. In qlspawn: the child's pid, *sock our end; -1
 * when it cannot. */
pid_t helper_fork(uid_t uid, gid_t gid, int *sock, int *null_fd);
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

/* qlspawn_lmtp.c: deliveries to an LMTP server (RFC 2033), chosen by a
 * mailbox "lmtp:unix:/path" or "lmtp:HOST:PORT" in control/users, or for
 * a domain's virtual users by control/lmtpdomains. One worker process per
 * connection, as ACCT_VMAIL, never root; recipients of one message to one
 * server go in one transaction. */
#define LMTP_PREFIX "lmtp:"
#define LMTP_TARGET_MAX 256   /* bytes of "lmtp:..." */
#define LMTP_BATCH_MAX 50     /* recipients of one transaction */
#define LMTP_MSG_MAX 65536    /* bytes of one job message to a worker */
#define LMTPDOMAINS "control/lmtpdomains"
#define LMTP_WORKERS_MAX 64   /* LMTP connections at once, all servers */

struct lmtp_target {
  int unix_socket;
  char path[108];            /* sun_path */
  char host[LMTP_TARGET_MAX];
  unsigned long port;
};
/* Parses "lmtp:unix:/path", "lmtp:HOST:PORT" or "lmtp:[IPv6]:PORT". 0, -1 malformed. */
int lmtp_target_parse(struct lmtp_target *t, const char *s);
/* 1 if mailbox (NUL-terminated) names an LMTP server. */
int lmtp_is(const char *mailbox);
/* The LMTP server of domain from control/lmtpdomains ("domain:lmtp:...",
 * read again when the file changes) into target, NUL-terminated. 1 found,
 * 0 none, -1 the file is unreadable (errno). */
int lmtp_domain(stralloc *target, const char *domain, size_t len);
void lmtp_init(unsigned long concurrency);
/* Queues the delivery of slot to target (takes qfd, at the message):
 * sent to a worker by lmtp_dispatch. */
void lmtp_queue(unsigned long slot, unsigned long id, int qfd, unsigned long long msglen,
                const char *sender, const char *rcpt, const char *target, uid_t uid, gid_t gid,
                const stralloc *helo);
/* Hands what is queued to workers, several recipients of one message at once. */
void lmtp_dispatch(time_t now);
size_t lmtp_pollfds(struct pollfd *pfd, size_t room);
void lmtp_read(const struct pollfd *pfd, size_t n, time_t now);
int lmtp_reaped(pid_t pid, int status);
void lmtp_expire(time_t now, int all);
unsigned long lmtp_alive(void);
void lmtp_close_fds(void);
/* qlspawn_lmtpc.c: a worker's life, as its account; never returns. */
void lmtpc_main(int sock, const char *target, const char *helo) __attribute__((noreturn));

#endif
