/*
 * qsend_spawn: qsend's side of the spawner protocol (lib/spawnproto.h).
 * Starts qlspawn (local, index 0) and qrspawn (remote, index 1) on two
 * pipes each, queues the jobs the scheduler sends and writes them without
 * blocking, and cuts what comes back into results (each ends with an
 * empty record) for sched_result. A spawner that dies with jobs in flight
 * has them forgotten (sched_spawner_lost): they are tried again.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "accounts.h"
#include "qlog.h"
#include "qsend.h"

#define RESULT_MAX (1UL << 22)  /* bytes of one spawner's unparsed results */

struct spawner {
  const char *prog;
  const char *account;   /* on a root instance: who it runs as; NULL = stay root */
  pid_t pid;
  int job_fd;            /* we write jobs */
  int res_fd;            /* we read results */
  stralloc out;          /* jobs not yet written */
  stralloc in;           /* results not yet parsed */
  int usable;
  int closed;            /* job_fd closed (stopping) */
};

static struct spawner spawners[2] = {
  {"qlspawn", NULL, 0, -1, -1, {0}, {0}, 0, 0},
  {"qrspawn", ACCT_REMOTE, 0, -1, -1, {0}, {0}, 0, 0},
};

/* qsend.c's SIGTERM flag: once set, no new jobs, and a spawner that ends
 * is no longer a reason to die */
static volatile sig_atomic_t *stopping;

/* Looks prog up in PATH: 1 if an executable is there. */
static int in_path(const char *prog)
{
  const char *path = getenv("PATH");
  stralloc fn = {0};
  int found = 0;

  if (path == NULL) path = "/usr/bin:/bin";
  while (*path != '\0' && !found) {
    const char *colon = strchr(path, ':');
    size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);
    if (!stralloc_copyb(&fn, path, len) || !stralloc_cats(&fn, "/") ||
        !stralloc_cats(&fn, prog) || !stralloc_0(&fn))
      qdie_nomem();
    if (access(fn.s, X_OK) == 0) found = 1;
    path += len;
    if (*path == ':') path++;
  }
  stralloc_free(&fn);
  return found;
}

void qsend_drop_to(const char *account)
{
  struct passwd *pw = getpwnam(account);

  if (pw == NULL) qdie(111, "unable to find account ", account);
  if (initgroups(account, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
      setuid(pw->pw_uid) == -1)
    qdie_sys(111, "unable to become ", account);
}

void spawner_start(int which, unsigned long conc, volatile sig_atomic_t *term)
{
  struct spawner *s = &spawners[which];
  int jobs[2];
  int res[2];
  char num[FMT_ULONG];

  stopping = term;

  if (!in_path(s->prog)) {
    qwarn(s->prog, " not found: its deliveries wait");
    return;
  }
  if (pipe(jobs) == -1 || pipe(res) == -1) qdie_sys(111, "unable to create pipes");
  num[fmt_ulong(num, conc)] = '\0';
  s->pid = fork();
  if (s->pid == -1) qdie_sys(111, "unable to fork");
  if (s->pid == 0) {
    char *args[3];
    close(jobs[1]);
    close(res[0]);
    if (dup2(jobs[0], 0) == -1 || dup2(res[1], 1) == -1) _exit(111);
    close(jobs[0]);
    close(res[1]);
    if (getuid() == 0 && s->account != NULL) qsend_drop_to(s->account);
    signal(SIGPIPE, SIG_DFL);
    args[0] = (char *)s->prog;
    args[1] = num;
    args[2] = NULL;
    execvp(s->prog, args);
    qdie_sys(111, "unable to run ", s->prog);
  }
  close(jobs[0]);
  close(res[1]);
  s->job_fd = jobs[1];
  s->res_fd = res[0];
  fcntl(s->job_fd, F_SETFL, O_NONBLOCK);
  fcntl(s->job_fd, F_SETFD, FD_CLOEXEC);
  fcntl(s->res_fd, F_SETFL, O_NONBLOCK);
  fcntl(s->res_fd, F_SETFD, FD_CLOEXEC);
  s->usable = 1;
}

int spawner_usable(int remote)
{
  return spawners[remote].usable && !spawners[remote].closed && !*stopping;
}

void spawner_send(int remote, const char *rec, size_t len)
{
  if (!stralloc_catb(&spawners[remote].out, rec, len)) qdie_nomem();
}

static void write_jobs(struct spawner *s)
{
  ssize_t w;

  if (s->out.len == 0 || s->job_fd == -1) return;
  w = write(s->job_fd, s->out.s, s->out.len);
  if (w == -1) {
    if (errno == EAGAIN || errno == EINTR) return;
    qdie_sys(111, "unable to write to ", s->prog);
  }
  memmove(s->out.s, s->out.s + w, s->out.len - (size_t)w);
  s->out.len -= (size_t)w;
}

/* Splits results: each ends with an empty record, i.e. "\0\0". */
void spawner_read(int which)
{
  struct spawner *s = &spawners[which];
  char buf[16384];
  ssize_t r;
  size_t pos = 0;

  r = read(s->res_fd, buf, sizeof buf);
  if (r == -1) {
    if (errno == EAGAIN || errno == EINTR) return;
    qdie_sys(111, "unable to read from ", s->prog);
  }
  if (r == 0) {
    int status;
    close(s->res_fd);
    s->res_fd = -1;
    s->usable = 0;
    waitpid(s->pid, &status, 0);
    if (!*stopping || sched_busy(which) > 0) {
      /* deliveries in flight are simply tried again: at worst a duplicate */
      sched_spawner_lost(which);
      if (!*stopping) qdie(111, s->prog, " died");
    }
    return;
  }
  if (s->in.len + (size_t)r > RESULT_MAX) qdie(111, "protocol error: results too long from ", s->prog);
  if (!stralloc_catb(&s->in, buf, (size_t)r)) qdie_nomem();
  for (;;) {
    size_t i = pos;
    int complete = 0;
    while (i < s->in.len) {
      size_t n = strnlen(s->in.s + i, s->in.len - i);
      if (i + n >= s->in.len) break;
      if (n == 0) {
        complete = 1;
        break;
      }
      i += n + 1;
    }
    if (!complete) break;
    sched_result(which, s->in.s + pos, i - pos);
    pos = i + 1;
  }
  if (pos > 0) {
    memmove(s->in.s, s->in.s + pos, s->in.len - pos);
    s->in.len -= pos;
  }
}

void spawner_write(int which)
{
  write_jobs(&spawners[which]);
}

int spawner_close_idle(void)
{
  int which;

  for (which = 0; which < 2; which++) {
    struct spawner *s = &spawners[which];
    if (s->job_fd != -1 && s->out.len == 0) {
      close(s->job_fd);
      s->job_fd = -1;
      s->closed = 1;
    }
  }
  return spawners[0].res_fd == -1 && spawners[1].res_fd == -1;
}

int spawner_poll(struct pollfd *pfd, int *index, int n)
{
  int which;

  for (which = 0; which < 2; which++) {
    struct spawner *s = &spawners[which];
    if (s->res_fd != -1) {
      pfd[n].fd = s->res_fd;
      pfd[n].events = POLLIN;
      index[n++] = which;
    }
    if (s->job_fd != -1 && s->out.len > 0) {
      pfd[n].fd = s->job_fd;
      pfd[n].events = POLLOUT;
      index[n++] = SPAWNER_POLL_WRITE + which;
    }
  }
  return n;
}
