#ifndef QSEND_H
#define QSEND_H
/*
 * qsend's state, shared by its files:
 *   qsend.c        main, the poll loop, signals, the control files
 *   qsend_spawn.c  the spawners: start, jobs out, results in (spawnproto.h)
 *   qsend_queue.c  the queue on disk: take-in, start-up scan, info logs, removal
 *   qsend_sched.c  scheduling: due times, ready lists, jobs started
 *   qsend_result.c a job's results: retries, expiry, reports, rests
 *   qsend_dom.c    per-destination state for remote deliveries
 *   qsend_admin.c  the administrator's requests (qqueue) in queue/admin/
 *
 * Every message in memory is in exactly one place for each class of its
 * recipients that still has work: the time heap (waiting for its next due
 * time) or a ready list (due now, waiting for a delivery slot). Jobs in
 * flight hold a pointer to their message; a message is freed only when it
 * has no job in flight.
 */
#include <signal.h>
#include <stddef.h>
#include <time.h>

#include <stralloc.h>

#include "queue.h"

#define RCPT_PENDING 0
#define RCPT_INFLIGHT 1
#define RCPT_DONE 2
#define RCPT_HELD_NEXT ((time_t)1 << 40) /* a held recipient's next try: never */

struct rcpt {
  unsigned char state;
  unsigned char remote;  /* 1: goes to qrspawn */
  unsigned char warned;  /* delay warning sent */
  unsigned char held;    /* on hold (qqueue hold): next is RCPT_HELD_NEXT */
  unsigned short tries;
  time_t next;           /* not before this time; 0 = now */
  char *reason;          /* last temporary failure, malloc'd, or NULL */
};

struct msg {
  unsigned long id;      /* the inode: the file's name in queue/ */
  char qid[QUEUE_ID_MAX]; /* the queue id (queue.h): in every log line */
  struct queue_env env;
  struct rcpt *r;
  size_t pending;        /* recipients not done */
  size_t inflight;       /* recipients in jobs */
  time_t due;            /* heap key */
  size_t heap_pos;       /* index in the heap, or NOT_IN_HEAP */
  struct msg *lnext;     /* local ready list */
  struct msg *rnext;     /* remote ready list */
  unsigned char in_lready;
  unsigned char in_rready;
  unsigned char fresh;   /* never tried: served first */
  unsigned char has_info; /* queue/info/NN/ID exists */
  struct msg *hnext;     /* the next in its bucket of the index (msg_find) */
};
#define NOT_IN_HEAP ((size_t)-1)

struct config {
  unsigned long conc_local;
  unsigned long conc_remote;
  unsigned long conc_domain;
  unsigned long backoff_min;
  unsigned long backoff_max;
  unsigned long lifetime;
  unsigned long warn;
  stralloc locals;
  stralloc me;
  stralloc domlimits;    /* control/domainlimits, as ctl_readlist gives it */
  unsigned long limits_gen; /* bumped at each read: entries look their limits up again */
};
extern struct config cfg;
extern time_t now;

/* qsend_queue.c. The scans append each message they took in that still
 * has pending recipients to found; the caller schedules them (sched_add)
 * and empties the list (len = 0) for the next scan. */
struct msg_list {
  struct msg **m;
  size_t len;
  size_t alloc;
};
void queue_scan_new(struct msg_list *found);    /* take in queue/new/ */
void queue_scan_all(struct msg_list *found);    /* start-up: mess/, info/, tmp/ */
void queue_clean_tmp(int at_start);
void queue_pool_tidy(void);                     /* once a minute: queue_pool_sweep */
void info_append(struct msg *m, char tag, size_t idx, const char *rest);
void info_line(stralloc *lines, char tag, size_t idx, const char *rest); /* format only */
void info_write(struct msg *m, const stralloc *lines); /* append whole lines at once */
void msg_remove(struct msg *m);                 /* unlink info then mess, free */
int msg_open(const struct msg *m);              /* fd of the queue file, or -1 */
struct msg *msg_new(unsigned long id);
struct msg *msg_find(unsigned long id);         /* a message taken in, by inode; or NULL */
int rcpt_is_local(const char *addr);
const char *rcpt_addr(const struct msg *m, size_t idx);

/* qsend_sched.c; results (sched_report, sched_result, sched_spawner_lost):
 * qsend_result.c */
void sched_init(void);                          /* the slots, from cfg.conc_* */
void sched_add(struct msg *m);                  /* after take-in or scan */
void sched_due(void);                           /* move due messages to ready lists */
void sched_dispatch(void);                      /* start jobs while slots are free */
long sched_timeout_ms(void);                    /* until the next due time, -1 none */
void sched_flush(void);                         /* SIGALRM: everything due now */
struct dsn_rcpt;
/* Queues a report of kind (qsend_dsn.h) about the recipients in list; *ok
 * 1 if it is queued (or nothing was to be sent), 0 if the caller must keep
 * them and try again later. */
void sched_report(struct msg *m, int kind, struct dsn_rcpt *list, size_t n, int *ok);
void sched_result(int remote, const char *rec, size_t len); /* one job's result records */
void sched_spawner_lost(int remote);            /* forget its jobs in flight */
unsigned long sched_busy(int remote);

/* qsend_admin.c: applies the requests in queue/admin/ (qqueue(8)); a
 * request about a message with deliveries in flight waits: admin_waiting
 * then says to call again soon */
void admin_run(void);
extern int admin_waiting;

/* qsend_spawn.c: the spawners (0 qlspawn, 1 qrspawn) and their pipes.
 * spawner_start forks and runs one (term: qsend.c's SIGTERM flag);
 * spawner_send queues a job (records, ending with the empty one) and
 * spawner_write writes what it can without blocking; spawner_read takes
 * what came back and hands each whole result to sched_result.
 * spawner_poll adds the descriptors to watch (index: the spawner, or
 * SPAWNER_POLL_WRITE + it when jobs wait to be written);
 * spawner_close_idle closes the job pipes with nothing left to write and
 * says 1 when both spawners have ended. */
#define SPAWNER_POLL_WRITE 10
struct pollfd;
void spawner_start(int which, unsigned long conc, volatile sig_atomic_t *term);
void spawner_send(int remote, const char *s, size_t len);
int spawner_usable(int remote);
void spawner_write(int which);
void spawner_read(int which);
int spawner_poll(struct pollfd *pfd, int *index, int n);
int spawner_close_idle(void);
void qsend_drop_to(const char *account);        /* initgroups, setgid, setuid or die */

/* qsend_dom.c: one entry per destination domain that has jobs in flight,
 * rests, or was used lately. Only a job holds a pointer to an entry
 * (inflight > 0 keeps it); everything else looks it up by name, so an idle
 * entry can be freed at any time and comes back fresh on the next lookup. */
struct dom {
  char *name;
  char *reason;          /* the failure that made it rest, malloc'd, or NULL */
  unsigned long inflight;
  unsigned long fails;   /* attempts in a row that all failed temporarily */
  time_t down_until;     /* resting until then */
  time_t last_used;      /* last lookup or result */
  unsigned long limits_gen; /* cfg.limits_gen when the two below were set */
  unsigned long conc_max; /* jobs at once (control/domainlimits, else concurrencydomain) */
  unsigned long rate_max; /* jobs started per DOM_RATE_WINDOW seconds; 0 = no limit */
  time_t rate_start;     /* the current window began then */
  unsigned long rate_count; /* jobs started in it */
  struct dom *next;
};
#define DOM_RATE_WINDOW 60
struct dom *dom_get(const char *name, size_t len); /* found or made; never NULL */
void dom_rest(struct dom *d, time_t until, const char *reason); /* 0, NULL: rest over */
void dom_limits(struct dom *d);                 /* conc_max, rate_max from the settings */
int dom_limits_parse(const char *entry, size_t len); /* 0 ok, -1 malformed (config_read) */
void dom_reset_all(void);                       /* flush: no rests; idle entries freed */
void dom_sweep(void);                           /* frees long-idle entries, once a minute */

#endif
