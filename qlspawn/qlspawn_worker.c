/*
 * qlspawn_worker: long-lived processes for Maildir deliveries.
 *
 * A fork per delivery costs more than the delivery itself on small
 * machines, so a Maildir delivery goes to a worker: a child of qlspawn
 * that became the mailbox owner once and then runs one delivery after
 * another, each with qlocal's own code (qlocal_parse, qlocal_deliver),
 * exactly as a forked qlocal would. A worker serves one uid/gid only, runs one delivery at a
 * time, and exits when qlspawn closes its socket: after WORKER_JOBS
 * deliveries, when idle for WORKER_IDLE seconds, or when qlspawn ends.
 * Only qlspawn decides when a worker goes, and only while it is idle, so
 * a job is never handed to a worker on its way out. mbox and alias deliveries
 * (pipes, forwards, files) keep their own forked child.
 *
 * qlspawn -> worker, one SOCK_SEQPACKET message per job: qlocal's argv,
 *   each argument NUL-terminated, with the queue file (positioned at the
 *   message) as an SCM_RIGHTS descriptor.
 * worker -> qlspawn, one message per job: 'K', 'D' or 'Z' (qlocal's exit
 *   code 0, 100, 111) and the report line.
 * A worker that dies in a delivery leaves that delivery deferred.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "qlocal.h"
#include "qlog.h"
#include "qlspawn.h"

#define WORKERS_CAP 256     /* workers at most, whatever the concurrency */
#define WORKER_JOBS 1000    /* deliveries before a worker makes way for a fresh one */
#define WORKER_IDLE 60      /* seconds idle before a worker is let go */
#define JOB_MAX 16384       /* bytes of one job message */
#define ARGS_MAX 16

struct worker {
  pid_t pid;          /* 0: entry free */
  int fd;             /* our end of its socket; -1 once it hung up */
  uid_t uid;
  gid_t gid;
  int busy;
  unsigned long slot; /* the job it runs, when busy */
  unsigned long jobs; /* deliveries it was given */
  time_t idle_since;
};

static struct worker *workers;
static unsigned long worker_max;

void workers_init(unsigned long concurrency)
{
  worker_max = concurrency < WORKERS_CAP ? concurrency : WORKERS_CAP;
  workers = calloc(worker_max, sizeof *workers);
  if (workers == NULL) qdie(111, "out of memory");
}

void workers_close_fds(void)
{
  unsigned long i;

  for (i = 0; i < worker_max; i++)
    if (workers[i].pid != 0 && workers[i].fd != -1) close(workers[i].fd);
}

/* ---- the worker's side ---------------------------------------------------- */

static int worker_sock;
static int worker_null = -1; /* /dev/null, put on fd 0 after each delivery */

static void worker_report(const struct qlocal_result *res)
{
  char msg[REPORT_LINE_MAX + 1];

  msg[0] = res->code == 0 ? 'K' : res->code == 100 ? 'D' : 'Z';
  memcpy(msg + 1, res->line, res->len);
  if (send(worker_sock, msg, res->len + 1, MSG_NOSIGNAL) == -1) _exit(111);
}

/* One job: its descriptor onto fd 0, its argv split. -1 when qlspawn is gone. */
static int worker_receive(char *buf, char **argv, int *argc)
{
  ssize_t n;
  ssize_t i;
  int fd;

  n = fdpass_recv(worker_sock, buf, JOB_MAX, &fd);
  if (n <= 0) return -1;
  if (buf[n - 1] != '\0') {
    close(fd);
    return -1;
  }
  if (dup2(fd, 0) == -1) return -1;
  close(fd);
  *argc = 0;
  for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
    if (*argc == ARGS_MAX) return -1;
    argv[(*argc)++] = buf + i;
  }
  argv[*argc] = NULL;
  return 0;
}

static void __attribute__((noreturn)) worker_main(int sock)
{
  static char buf[JOB_MAX];
  static char *argv[ARGS_MAX + 1];
  static int argc;

  worker_sock = sock;
  qlog_prog = "qlocal";
  for (;;) {
    struct qlocal_job job;
    struct qlocal_result res;

    if (worker_receive(buf, argv, &argc) == -1) _exit(0);
    if (qlocal_parse(argc, argv, &job) == -1) qlocal_usage();
    qlocal_deliver(&job, &res);
    worker_report(&res);
    /* the queue file goes: an idle worker must not keep it (nor its
     * space, once qsend has removed it) */
    if (worker_null != -1) dup2(worker_null, 0);
  }
}

/* ---- qlspawn's side ------------------------------------------------------- */

pid_t helper_fork(uid_t uid, gid_t gid, int *sock, int *null_fd)
{
  int sv[2];
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) return -1;
  pid = fork();
  if (pid == -1) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    close(sv[0]);
    child_close_fds(); /* qsend's pipes, other children's and workers' ends */
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1) _exit(111);
    if (getuid() == 0 || geteuid() == 0)
      if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1) _exit(111);
    if (getuid() == 0 || geteuid() == 0) _exit(111);
    *sock = sv[1];
    *null_fd = null;
    return 0;
  }
  close(sv[1]);
  *sock = sv[0];
  return pid;
}

static struct worker *worker_new(struct worker *wk, uid_t uid, gid_t gid)
{
  int sock;
  pid_t pid = helper_fork(uid, gid, &sock, &worker_null);

  if (pid == -1) return NULL;
  if (pid == 0) worker_main(sock);
  wk->pid = pid;
  wk->fd = sock;
  wk->uid = uid;
  wk->gid = gid;
  wk->busy = 0;
  wk->jobs = 0;
  return wk;
}

/* An idle worker of uid/gid, or a new one, or NULL when every worker is busy. */
static struct worker *worker_find(uid_t uid, gid_t gid)
{
  struct worker *free_entry = NULL;
  struct worker *oldest_idle = NULL;
  unsigned long i;

  for (i = 0; i < worker_max; i++) {
    struct worker *wk = &workers[i];
    if (wk->pid == 0) {
      if (free_entry == NULL) free_entry = wk;
      continue;
    }
    if (wk->busy || wk->fd == -1) continue;
    if (wk->uid == uid && wk->gid == gid) return wk;
    if (oldest_idle == NULL || wk->idle_since < oldest_idle->idle_since) oldest_idle = wk;
  }
  if (free_entry != NULL) return worker_new(free_entry, uid, gid);
  if (oldest_idle != NULL) {
    /* let another owner's idle worker go: it exits when its socket closes */
    close(oldest_idle->fd);
    oldest_idle->fd = -1;
  }
  return NULL;
}

int worker_start(unsigned long slot, uid_t uid, gid_t gid, int qfd, const char *const *args)
{
  char buf[JOB_MAX];
  struct worker *wk;
  size_t len = 0;
  size_t i;

  for (i = 0; args[i] != NULL; i++) {
    size_t n = strlen(args[i]) + 1;
    if (i == ARGS_MAX || n > sizeof buf - len) return -1;
    memcpy(buf + len, args[i], n);
    len += n;
  }
  wk = worker_find(uid, gid);
  if (wk == NULL) return -1;
  if (fdpass_send(wk->fd, buf, len, qfd) == -1) {
    /* a worker that cannot take a job is let go; the caller forks instead */
    close(wk->fd);
    wk->fd = -1;
    return -1;
  }
  wk->busy = 1;
  wk->slot = slot;
  wk->jobs++;
  return 0;
}

size_t workers_pollfds(struct pollfd *pfd, size_t room)
{
  size_t n = 0;
  unsigned long i;

  for (i = 0; i < worker_max && n < room; i++) {
    if (workers[i].pid == 0 || workers[i].fd == -1) continue;
    pfd[n].fd = workers[i].fd;
    pfd[n].events = POLLIN;
    pfd[n].revents = 0;
    n++;
  }
  return n;
}

static struct worker *worker_by_fd(int fd)
{
  unsigned long i;

  for (i = 0; i < worker_max; i++)
    if (workers[i].pid != 0 && workers[i].fd == fd) return &workers[i];
  return NULL;
}

/* Reads the reply of a busy worker, if one is there: 1 settled, 0 nothing
 * yet, -1 it hung up or broke the protocol (its descriptor is closed). */
static int worker_reply(struct worker *wk, time_t now)
{
  char msg[REPORT_LINE_MAX + 2];
  ssize_t r = recv(wk->fd, msg, sizeof msg - 1, MSG_DONTWAIT);

  if (r == -1 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (r > 0 && (!wk->busy || (msg[0] != 'K' && msg[0] != 'D' && msg[0] != 'Z'))) {
    qwarn("protocol error from a delivery worker: let go");
    r = -1;
  }
  if (r <= 0) {
    /* it hung up: its exit (workers_reaped) settles a job it had */
    close(wk->fd);
    wk->fd = -1;
    return -1;
  }
  msg[r] = '\0';
  wk->busy = 0;
  wk->idle_since = now;
  slot_done(wk->slot, msg[0], r > 1 ? msg + 1 : (msg[0] == 'K' ? "delivered" : "no reason given (#4.3.0)"));
  if (wk->jobs >= WORKER_JOBS) {
    /* time for a fresh one: this one exits when its socket closes */
    close(wk->fd);
    wk->fd = -1;
  }
  return 1;
}

void workers_read(const struct pollfd *pfd, size_t n, time_t now)
{
  size_t i;

  for (i = 0; i < n; i++) {
    struct worker *wk;

    if (pfd[i].revents == 0) continue;
    wk = worker_by_fd(pfd[i].fd);
    if (wk != NULL) worker_reply(wk, now);
  }
}

int workers_reaped(pid_t pid, int status)
{
  unsigned long i;

  for (i = 0; i < worker_max; i++) {
    struct worker *wk = &workers[i];
    if (wk->pid != pid) continue;
    /* what it sent before it exited is still in the socket */
    if (wk->busy && wk->fd != -1) worker_reply(wk, time(NULL));
    if (wk->fd != -1) close(wk->fd);
    if (wk->busy)
      slot_done(wk->slot, 'Z', WIFSIGNALED(status) ? "qlocal crashed (#4.3.0)"
                                                   : "the delivery worker exited (#4.3.0)");
    memset(wk, 0, sizeof *wk);
    return 1;
  }
  return 0;
}

void workers_expire(time_t now, int all)
{
  unsigned long i;

  for (i = 0; i < worker_max; i++) {
    struct worker *wk = &workers[i];
    if (wk->pid == 0 || wk->busy || wk->fd == -1) continue;
    if (all || now - wk->idle_since >= WORKER_IDLE) {
      close(wk->fd);
      wk->fd = -1;
    }
  }
}

unsigned long workers_alive(void)
{
  unsigned long i;
  unsigned long n = 0;

  for (i = 0; i < worker_max; i++)
    if (workers[i].pid != 0) n++;
  return n;
}
