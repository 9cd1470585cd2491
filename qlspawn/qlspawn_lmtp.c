/*
 * qlspawn_lmtp: qlspawn's side of LMTP delivery (qlspawn.h).
 *
 * qsend gives qlspawn one recipient a job. A job for an LMTP server waits
 * here until lmtp_dispatch, which qlspawn calls after it has read all the
 * jobs that came in at once (qsend writes a message's recipients in one
 * go) and after each worker's answer: then the oldest waiting job and
 * every other waiting one of the same message, sender and server go to
 * one worker as one transaction (at most LMTP_BATCH_MAX recipients).
 *
 * A worker is a child process that became the mail account once and
 * keeps one connection to one server open (qlspawn_lmtpc.c); a server
 * gets up to LMTP_PER_SERVER of them, all servers LMTP_WORKERS_MAX. As
 * with the Maildir workers, only qlspawn lets a worker go, while it is
 * idle: after LMTP_IDLE seconds without work or LMTP_JOBS transactions.
 * A worker that dies in a transaction leaves its recipients deferred.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "ctl.h"
#include "fdpass.h"
#include "qlog.h"
#include "qlspawn.h"
#include "spawnproto.h"

#define LMTP_PER_SERVER 16  /* connections to one server at once */
#define LMTP_IDLE 60        /* seconds idle before a worker is let go */
#define LMTP_JOBS 1000      /* transactions before a worker makes way for a fresh one */

struct lmtp_job {
  int waiting;              /* 1: queued here, not yet with a worker */
  int held;                 /* in this lmtp_dispatch: its server has no worker free */
  unsigned long seq;        /* order of arrival */
  unsigned long id;         /* queue id */
  int qfd;
  unsigned long long msglen;
  uid_t uid;
  gid_t gid;
  stralloc sender;          /* NUL-terminated, as the others */
  stralloc rcpt;
  stralloc target;
};

struct lmtp_worker {
  pid_t pid;                /* 0: entry free */
  int fd;                   /* our end of its socket; -1 once let go */
  uid_t uid;
  gid_t gid;
  char target[LMTP_TARGET_MAX];
  size_t count;             /* recipients of the transaction it runs; 0 idle */
  unsigned long slot[LMTP_BATCH_MAX];
  unsigned long jobs;
  time_t idle_since;
};

static struct lmtp_job *jobs;     /* by slot */
static unsigned long job_slots;
static unsigned long waiting;
static unsigned long seq;
static struct lmtp_worker workers[LMTP_WORKERS_MAX];
static stralloc helo;

int lmtp_is(const char *mailbox)
{
  return strncmp(mailbox, LMTP_PREFIX, sizeof LMTP_PREFIX - 1) == 0;
}

/* ---- control/lmtpdomains ---- */

static stralloc domains;     /* entries, each NUL-terminated */
static const char *const domains_file[] = {LMTPDOMAINS, NULL};
static struct ctl_watch domains_watch = {domains_file, {{0}}, 0};
static int domains_read;

int lmtp_domain(stralloc *target, const char *domain, size_t len)
{
  size_t pos;

  /* one stat a lookup: the file is read again when it changed */
  if (ctl_changed(&domains_watch) == 1 || !domains_read) {
    domains_read = 0;
    if (ctl_readlist(&domains, LMTPDOMAINS) == -1) return -1;
    domains_read = 1;
  }
  for (pos = 0; pos < domains.len; pos += strlen(domains.s + pos) + 1) {
    const char *e = domains.s + pos;
    const char *colon = strchr(e, ':');

    if (colon == NULL || (size_t)(colon - e) != len || strncasecmp(e, domain, len) != 0) continue;
    if (!stralloc_copys(target, colon + 1) || !stralloc_0(target)) qdie_nomem();
    return 1;
  }
  return 0;
}

/* ---- waiting jobs ---- */

void lmtp_init(unsigned long concurrency)
{
  unsigned long i;

  job_slots = concurrency;
  jobs = calloc(job_slots, sizeof *jobs);
  if (jobs == NULL) qdie_nomem();
  for (i = 0; i < LMTP_WORKERS_MAX; i++) workers[i].fd = -1;
}

void lmtp_queue(unsigned long slot, unsigned long id, int qfd, unsigned long long msglen,
                const char *sender, const char *rcpt, const char *target, uid_t uid, gid_t gid,
                const stralloc *helo_name)
{
  struct lmtp_job *j;

  if (slot >= job_slots) {
    unsigned long want = slot + 1 > job_slots * 2 ? slot + 1 : job_slots * 2;
    struct lmtp_job *more = realloc(jobs, want * sizeof *more);
    if (more == NULL) qdie_nomem();
    memset(more + job_slots, 0, (want - job_slots) * sizeof *more);
    jobs = more;
    job_slots = want;
  }
  j = &jobs[slot];
  j->waiting = 1;
  j->seq = seq++;
  j->id = id;
  j->qfd = qfd;
  j->msglen = msglen;
  j->uid = uid;
  j->gid = gid;
  if (!stralloc_copys(&j->sender, sender) || !stralloc_0(&j->sender) ||
      !stralloc_copys(&j->rcpt, rcpt) || !stralloc_0(&j->rcpt) ||
      !stralloc_copys(&j->target, target) || !stralloc_0(&j->target) ||
      !stralloc_copy(&helo, helo_name) || !stralloc_0(&helo))
    qdie_nomem();
  waiting++;
}

/* The job of slot is over (its worker answered, or it never got one). */
static void job_end(unsigned long slot, char code, const char *text)
{
  struct lmtp_job *j = &jobs[slot];

  if (j->waiting) waiting--;
  j->waiting = 0;
  if (j->qfd != -1) close(j->qfd);
  j->qfd = -1;
  slot_done(slot, code, text);
}

static int same_batch(const struct lmtp_job *a, const struct lmtp_job *b)
{
  return a->id == b->id && a->uid == b->uid && a->gid == b->gid &&
         strcmp(a->sender.s, b->sender.s) == 0 && strcmp(a->target.s, b->target.s) == 0;
}

/* ---- workers ---- */

void lmtp_close_fds(void)
{
  unsigned long i;

  for (i = 0; i < LMTP_WORKERS_MAX; i++)
    if (workers[i].pid != 0 && workers[i].fd != -1) close(workers[i].fd);
  for (i = 0; i < job_slots; i++)
    if (jobs[i].waiting && jobs[i].qfd != -1) close(jobs[i].qfd);
}

static struct lmtp_worker *worker_new(struct lmtp_worker *wk, const struct lmtp_job *j)
{
  int sock;
  int null;
  pid_t pid = helper_fork(j->uid, j->gid, &sock, &null);

  if (pid == -1) return NULL;
  if (pid == 0) lmtpc_main(sock, j->target.s, helo.s);
  wk->pid = pid;
  wk->fd = sock;
  wk->uid = j->uid;
  wk->gid = j->gid;
  memcpy(wk->target, j->target.s, j->target.len);
  wk->count = 0;
  wk->jobs = 0;
  wk->idle_since = time(NULL);
  return wk;
}

/* An idle worker for j's server and account, a new one, or NULL: all busy
 * (or none could be started: *failed set). */
static struct lmtp_worker *worker_find(const struct lmtp_job *j, int *failed)
{
  struct lmtp_worker *free_entry = NULL;
  struct lmtp_worker *oldest_idle = NULL;
  unsigned long same = 0;
  unsigned long i;

  *failed = 0;
  for (i = 0; i < LMTP_WORKERS_MAX; i++) {
    struct lmtp_worker *wk = &workers[i];
    int mine;

    if (wk->pid == 0) {
      if (free_entry == NULL) free_entry = wk;
      continue;
    }
    mine = wk->uid == j->uid && wk->gid == j->gid && strcmp(wk->target, j->target.s) == 0;
    if (mine) same++;
    if (wk->count > 0 || wk->fd == -1) continue;
    if (mine) return wk;
    if (oldest_idle == NULL || wk->idle_since < oldest_idle->idle_since) oldest_idle = wk;
  }
  if (same >= LMTP_PER_SERVER) return NULL;
  if (free_entry != NULL) {
    struct lmtp_worker *wk = worker_new(free_entry, j);
    if (wk == NULL) *failed = 1;
    return wk;
  }
  if (oldest_idle != NULL) {
    /* another server's idle worker makes room: it exits when its socket closes */
    close(oldest_idle->fd);
    oldest_idle->fd = -1;
  }
  return NULL;
}

/* Sends the batch (slots, count) to wk. 0, or -1 (wk let go). */
static int batch_send(struct lmtp_worker *wk, const unsigned long *slots, size_t count)
{
  static stralloc msg;
  char num[FMT_ULONG];
  const struct lmtp_job *first = &jobs[slots[0]];
  size_t i;

  if (!stralloc_copys(&msg, "L") || !stralloc_catb(&msg, num, fmt_ulonglong(num, first->msglen)) ||
      !stralloc_0(&msg) || !stralloc_cats(&msg, "S") || !stralloc_cat(&msg, &first->sender))
    qdie_nomem();
  for (i = 0; i < count; i++)
    if (!stralloc_cats(&msg, "R") || !stralloc_cat(&msg, &jobs[slots[i]].rcpt)) qdie_nomem();
  if (fdpass_send(wk->fd, msg.s, msg.len, first->qfd) == -1) {
    close(wk->fd);
    wk->fd = -1;
    return -1;
  }
  return 0;
}

void lmtp_dispatch(time_t now)
{
  unsigned long k;

  (void)now;
  for (k = 0; k < job_slots; k++) jobs[k].held = 0;
  while (waiting > 0) {
    unsigned long slots[LMTP_BATCH_MAX];
    size_t count = 0;
    size_t bytes;
    unsigned long oldest = job_slots;
    unsigned long i;
    struct lmtp_worker *wk;
    int failed;
    const struct lmtp_job *first;
    struct lmtp_target t;

    for (i = 0; i < job_slots; i++)
      if (jobs[i].waiting && !jobs[i].held &&
          (oldest == job_slots || jobs[i].seq < jobs[oldest].seq))
        oldest = i;
    if (oldest == job_slots) return;
    first = &jobs[oldest];
    if (first->target.len >= LMTP_TARGET_MAX || lmtp_target_parse(&t, first->target.s) == -1) {
      job_end(oldest, 'Z', "the mailbox names no LMTP server: lmtp:unix:/path or lmtp:host:port"
                           " (#4.3.5)");
      continue;
    }
    wk = worker_find(first, &failed);
    if (wk == NULL) {
      if (failed) {
        job_end(oldest, 'Z', "unable to start an LMTP worker (#4.3.0)");
        continue;
      }
      /* every worker of that server busy (an answer brings us back): the
       * jobs for other servers need not wait behind it */
      for (i = 0; i < job_slots; i++)
        if (jobs[i].waiting && strcmp(jobs[i].target.s, first->target.s) == 0) jobs[i].held = 1;
      continue;
    }
    bytes = first->sender.len + first->target.len + 64;
    slots[count++] = oldest;
    bytes += first->rcpt.len + 2;
    for (i = 0; i < job_slots && count < LMTP_BATCH_MAX; i++) {
      if (i == oldest || !jobs[i].waiting || !same_batch(&jobs[i], first)) continue;
      if (bytes + jobs[i].rcpt.len + 2 > LMTP_MSG_MAX) break;
      bytes += jobs[i].rcpt.len + 2;
      slots[count++] = i;
    }
    if (batch_send(wk, slots, count) == -1) continue; /* another worker, or a new one */
    wk->count = count;
    memcpy(wk->slot, slots, count * sizeof *slots);
    wk->jobs++;
    for (i = 0; i < count; i++) {
      struct lmtp_job *j = &jobs[slots[i]];
      j->waiting = 0;
      waiting--;
      close(j->qfd); /* the worker has its own copy */
      j->qfd = -1;
    }
  }
}

size_t lmtp_pollfds(struct pollfd *pfd, size_t room)
{
  size_t n = 0;
  unsigned long i;

  for (i = 0; i < LMTP_WORKERS_MAX && n < room; i++) {
    if (workers[i].pid == 0 || workers[i].fd == -1) continue;
    pfd[n].fd = workers[i].fd;
    pfd[n].events = POLLIN;
    pfd[n].revents = 0;
    n++;
  }
  return n;
}

/* Reads the answer of a busy worker, if it is there: one record per
 * recipient. 1 settled, 0 nothing yet, -1 it hung up or broke the protocol. */
static int worker_reply(struct lmtp_worker *wk, time_t now)
{
  static char msg[LMTP_BATCH_MAX * (SPAWN_TEXT_MAX + 2)];
  ssize_t r = recv(wk->fd, msg, sizeof msg, MSG_DONTWAIT);
  size_t pos = 0;
  size_t i;

  if (r == -1 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (r > 0) {
    /* check it all before anything counts */
    for (i = 0; i < wk->count && pos < (size_t)r; i++) {
      const char *end = memchr(msg + pos, '\0', (size_t)r - pos);
      if (end == NULL || (msg[pos] != 'K' && msg[pos] != 'D' && msg[pos] != 'Z')) break;
      pos = (size_t)(end - msg) + 1;
    }
    if (wk->count == 0 || i != wk->count || pos != (size_t)r) {
      qwarn("protocol error from an LMTP worker: let go");
      r = -1;
    }
  }
  if (r <= 0) {
    /* its exit (lmtp_reaped) settles what it had */
    close(wk->fd);
    wk->fd = -1;
    return -1;
  }
  for (i = 0, pos = 0; i < wk->count; i++) {
    const char *rec = msg + pos;
    pos += strlen(rec) + 1;
    job_end(wk->slot[i], rec[0], rec[1] != '\0' ? rec + 1 : "no reason given (#4.3.0)");
  }
  wk->count = 0;
  wk->idle_since = now;
  if (wk->jobs >= LMTP_JOBS) {
    close(wk->fd);
    wk->fd = -1;
  }
  return 1;
}

void lmtp_read(const struct pollfd *pfd, size_t n, time_t now)
{
  size_t i;
  unsigned long k;

  for (i = 0; i < n; i++) {
    if (pfd[i].revents == 0) continue;
    for (k = 0; k < LMTP_WORKERS_MAX; k++)
      if (workers[k].pid != 0 && workers[k].fd == pfd[i].fd) {
        worker_reply(&workers[k], now);
        break;
      }
  }
}

int lmtp_reaped(pid_t pid, int status)
{
  unsigned long i;
  size_t k;

  for (i = 0; i < LMTP_WORKERS_MAX; i++) {
    struct lmtp_worker *wk = &workers[i];
    if (wk->pid != pid) continue;
    /* what it sent before it exited is still in the socket */
    if (wk->count > 0 && wk->fd != -1) worker_reply(wk, time(NULL));
    if (wk->fd != -1) close(wk->fd);
    for (k = 0; k < wk->count; k++)
      job_end(wk->slot[k], 'Z', WIFSIGNALED(status) ? "the LMTP worker crashed (#4.3.0)"
                                                    : "the LMTP worker exited (#4.3.0)");
    memset(wk, 0, sizeof *wk);
    wk->fd = -1;
    return 1;
  }
  return 0;
}

void lmtp_expire(time_t now, int all)
{
  unsigned long i;

  for (i = 0; i < LMTP_WORKERS_MAX; i++) {
    struct lmtp_worker *wk = &workers[i];
    if (wk->pid == 0 || wk->count > 0 || wk->fd == -1) continue;
    if ((all && waiting == 0) || now - wk->idle_since >= LMTP_IDLE) {
      close(wk->fd);
      wk->fd = -1;
    }
  }
}

unsigned long lmtp_alive(void)
{
  unsigned long i;
  unsigned long n = 0;

  for (i = 0; i < LMTP_WORKERS_MAX; i++)
    if (workers[i].pid != 0) n++;
  return n;
}
