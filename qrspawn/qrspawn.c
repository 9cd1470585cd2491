/*
 * qrspawn: runs qsend's remote deliveries through qremote processes, one
 * per destination and connection, and reuses an idle one for the next job
 * to the same destination so that one SMTP connection carries several
 * messages in a row.
 *
 * Started by qsend as qmta-remote, in QHOME:  qrspawn [concurrency]
 * fd 0: jobs from qsend, fd 1: results to qsend (lib/spawnproto.h).
 * fd 2: the log (qremote's lines too).
 *
 * Each job (one message, recipients of one domain) goes to a qremote for
 * its destination: the domain and the route override ("H" record), if
 * any. An idle qremote of that destination takes it over its fd 0 (it
 * still holds the connection); otherwise a new qremote is started. After
 * its results a qremote stays idle for IDLE_SECONDS, then its job pipe is
 * closed: it says QUIT and exits. At most `concurrency` (argument, or
 * control/concurrencyremote, default 20) qremotes are idle at once.
 * A qremote reads its control files when it starts: after one of them
 * changed (a stat of each before every job), no qremote started before
 * is given another job.
 * Between qrspawn and qremote: the job records without J and H; back, one
 * record per recipient and an empty record (qremote(8)).
 *
 * End of file on fd 0: the jobs in flight finish, idle qremotes are closed,
 * exit 0. Exit 111 on a protocol error from qsend (qsend restarts us and
 * defers what was in flight), 100 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "ctl.h"
#include "ctldef.h"
#include "durable.h"
#include "qlog.h"
#include "queue.h"
#include "spawnproto.h"

#define USAGE "qrspawn [concurrency]"
#define IDLE_SECONDS 5          /* an idle qremote waits this long for another job */
#define DEFAULT_CONCURRENCY CTLDEF_CONCURRENCYREMOTE
#define JOB_BYTES_MAX ((3UL * SPAWN_RCPT_MAX + 8) * SPAWN_FIELD_MAX)
#define READ_CHUNK 65536
#define QREMOTE "qremote"

struct child {
  pid_t pid;
  int job_fd;            /* its fd 0; -1 once closed */
  int res_fd;            /* its fd 1 */
  char *dest;            /* "domain\0route": the destination */
  size_t destlen;
  int busy;              /* a job is in it */
  int closing;           /* job pipe closed: it quits */
  unsigned long slot;
  size_t rcpt_count;     /* recipients of the job */
  size_t result_count;   /* results received */
  int retried;           /* the job already went to another qremote */
  stralloc job;          /* the job's records for qremote */
  size_t job_written;
  stralloc results;      /* "J<slot>\0" and the result records so far */
  stralloc partial;      /* an incomplete record from qremote */
  unsigned long jobs_done;
  time_t idle_since;
  unsigned long ctl_gen;  /* ctl_gen when it was started */
  struct child *next;
};

static struct child *children;
static unsigned long concurrency = DEFAULT_CONCURRENCY;
static const char *qremote_dir;  /* where qrspawn was run from, or NULL */
static stralloc inbuf;           /* bytes from qsend not yet parsed */
static int eof;                  /* qsend closed fd 0 */
/* what qremote reads (qremote.c, config_read) */
static const char *const qremote_files[] = {
  "control/me", "control/helohost", "control/timeoutconnect", "control/timeoutremote",
  "control/smtproutes", "control/tlspolicy", "control/resolvers", NULL,
};
static struct ctl_watch qremote_watch = {qremote_files, {{0}}, 0};
static unsigned long ctl_gen;    /* bumped at each change of those files */

static void die_proto(const char *why)
{
  qdie(111, "protocol error from qsend: ", why);
}

static void result_send(const stralloc *r)
{
  if (durable_writeall(1, r->s, r->len) == -1) qdie_sys(111, "unable to write results to qsend");
}

/* Completes the job of c with Z for every recipient without a result. */
static void results_fill(struct child *c, const char *why)
{
  while (c->result_count < c->rcpt_count) {
    if (!stralloc_cats(&c->results, "Z4.3.0 ") || !stralloc_cats(&c->results, why) ||
        !stralloc_0(&c->results))
      qdie_nomem();
    ++c->result_count;
  }
  if (!stralloc_0(&c->results)) qdie_nomem();
  result_send(&c->results);
  c->busy = 0;
}

static void slot_header(stralloc *sa, unsigned long slot)
{
  char num[FMT_ULONG];

  if (!stralloc_copys(sa, "J") || !stralloc_catb(sa, num, fmt_ulong(num, slot)) ||
      !stralloc_0(sa))
    qdie_nomem();
}

/* Starts a qremote for destination dest. NULL if that failed. */
static struct child *child_start(const char *dest, size_t destlen)
{
  struct child *c;
  int jobs[2];
  int res[2];
  const char *domain = dest;
  const char *route = dest + strlen(dest) + 1;

  c = calloc(1, sizeof *c);
  if (c == NULL) qdie_nomem();
  c->dest = malloc(destlen);
  if (c->dest == NULL) qdie_nomem();
  memcpy(c->dest, dest, destlen);
  c->destlen = destlen;
  c->ctl_gen = ctl_gen;

  if (pipe2(jobs, O_CLOEXEC) == -1) goto fail;
  if (pipe2(res, O_CLOEXEC) == -1) {
    close(jobs[0]);
    close(jobs[1]);
    goto fail;
  }
  c->pid = fork();
  if (c->pid == -1) {
    close(jobs[0]);
    close(jobs[1]);
    close(res[0]);
    close(res[1]);
    goto fail;
  }
  if (c->pid == 0) {
    const char *argv[5];
    size_t argc = 0;
    stralloc path = {0};

    if (dup2(jobs[0], 0) == -1 || dup2(res[1], 1) == -1) _exit(111);
    argv[argc++] = QREMOTE;
    if (route[0] != '\0') {
      argv[argc++] = "-r";
      argv[argc++] = route;
    }
    argv[argc++] = domain;
    argv[argc] = NULL;
    if (qremote_dir != NULL && stralloc_copys(&path, qremote_dir) &&
        stralloc_cats(&path, "/" QREMOTE) && stralloc_0(&path)) {
      argv[0] = path.s;
      execv(path.s, (char *const *)argv);
      argv[0] = QREMOTE;
    }
    execvp(QREMOTE, (char *const *)argv);
    qdie_sys(111, "unable to run ", QREMOTE);
  }
  close(jobs[0]);
  close(res[1]);
  c->job_fd = jobs[1];
  c->res_fd = res[0];
  fcntl(c->job_fd, F_SETFL, O_NONBLOCK);
  fcntl(c->res_fd, F_SETFL, O_NONBLOCK);
  c->next = children;
  children = c;
  return c;

fail:
  qwarn_sys("unable to start ", QREMOTE);
  free(c->dest);
  free(c);
  return NULL;
}

static void child_close_jobs(struct child *c)
{
  if (c->job_fd != -1) close(c->job_fd);
  c->job_fd = -1;
  c->closing = 1;
}

static void child_remove(struct child *c)
{
  struct child **p;
  int status;

  for (p = &children; *p != NULL; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  if (c->job_fd != -1) close(c->job_fd);
  if (c->res_fd != -1) close(c->res_fd);
  while (waitpid(c->pid, &status, 0) == -1 && errno == EINTR) {}
  stralloc_free(&c->job);
  stralloc_free(&c->results);
  stralloc_free(&c->partial);
  free(c->dest);
  free(c);
}

static size_t idle_count(void)
{
  size_t n = 0;

  for (struct child *c = children; c != NULL; c = c->next)
    if (!c->busy && !c->closing) ++n;
  return n;
}

/* Closes the idle qremote that has waited longest. */
static void close_oldest_idle(void)
{
  struct child *oldest = NULL;

  for (struct child *c = children; c != NULL; c = c->next)
    if (!c->busy && !c->closing && (oldest == NULL || c->idle_since < oldest->idle_since))
      oldest = c;
  if (oldest != NULL) child_close_jobs(oldest);
}

/* Hands a job to a qremote of its destination. The job's bytes are in
 * job (taken over); on failure the job is answered with Z at once. */
static void dispatch(unsigned long slot, const char *dest, size_t destlen, stralloc *job,
                     size_t rcpt_count, int retried)
{
  struct child *c;
  struct child *best = NULL;

  if (ctl_changed(&qremote_watch) == 1) ctl_gen++;
  for (c = children; c != NULL && !retried; c = c->next)
    if (!c->busy && !c->closing && c->ctl_gen == ctl_gen && c->destlen == destlen &&
        memcmp(c->dest, dest, destlen) == 0 && (best == NULL || c->idle_since > best->idle_since))
      best = c;
  if (best == NULL) {
    while (idle_count() >= concurrency) close_oldest_idle();
    best = child_start(dest, destlen);
  }
  if (best == NULL) {
    stralloc r = {0};
    struct child tmp = {0};

    slot_header(&r, slot);
    tmp.results = r;
    tmp.rcpt_count = rcpt_count;
    results_fill(&tmp, "unable to start qremote");
    stralloc_free(&tmp.results);
    stralloc_free(job);
    return;
  }
  c = best;
  c->busy = 1;
  c->slot = slot;
  c->rcpt_count = rcpt_count;
  c->result_count = 0;
  c->retried = retried;
  stralloc_free(&c->job);
  c->job = *job;
  *job = (stralloc){0};
  c->job_written = 0;
  slot_header(&c->results, slot);
  c->partial.len = 0;
}

static int slot_busy(unsigned long slot)
{
  for (struct child *c = children; c != NULL; c = c->next)
    if (c->busy && c->slot == slot) return 1;
  return 0;
}

/* Parses one complete job at s (len bytes, ending with the empty record)
 * and dispatches it. */
static void job_take(const char *s, size_t len)
{
  stralloc job = {0};
  stralloc dest = {0};
  unsigned long slot = 0;
  int have_slot = 0;
  int have_id = 0;
  int have_sender = 0;
  size_t rcpt_count = 0;
  const char *domain = NULL;
  size_t domainlen = 0;
  const char *route = "";
  size_t pos = 0;

  while (pos < len) {
    const char *rec = s + pos;
    size_t rlen = strlen(rec);

    pos += rlen + 1;
    if (rlen == 0) break;
    switch (rec[0]) {
      case 'J': {
        size_t n = scan_ulong(rec + 1, &slot);

        if (have_slot || pos != rlen + 1 || n == 0 || n != rlen - 1) die_proto("bad J record");
        if (slot >= concurrency || slot_busy(slot)) die_proto("slot out of range or busy");
        have_slot = 1;
        continue; /* qremote does not get it */
      }
      case 'H':
        route = rec + 1;
        continue;
      case 'I': {
        unsigned long long id;

        if (have_id || queue_id_scan(rec + 1, &id) == -1) die_proto("bad I record");
        have_id = 1;
        break;
      }
      case 'S':
        if (have_sender) die_proto("two S records");
        have_sender = 1;
        break;
      case 'R': {
        const char *at = memrchr(rec + 1, '@', rlen - 1);
        const char *d = at != NULL ? at + 1 : "";
        size_t dlen = at != NULL ? rlen - (size_t)(at + 1 - rec) : 0;

        if (dlen == 0) die_proto("a remote recipient without a domain");
        if (++rcpt_count > SPAWN_RCPT_MAX) die_proto("too many recipients");
        if (domain == NULL) {
          domain = d;
          domainlen = dlen;
        } else if (dlen != domainlen || strncasecmp(d, domain, dlen) != 0) {
          die_proto("recipients of different domains in one job");
        }
        break;
      }
      case 'N':
      case 'O':
        if (rcpt_count == 0) die_proto("N or O before R");
        break;
      case 'V':
      case 'X':
        break;
      default:
        die_proto("unknown record");
    }
    if (!stralloc_catb(&job, rec, rlen + 1)) qdie_nomem();
  }
  if (!have_slot || !have_id || !have_sender || rcpt_count == 0) die_proto("incomplete job");
  if (!stralloc_0(&job)) qdie_nomem();

  /* the destination: the domain in lower case, then the route */
  for (size_t k = 0; k < domainlen; ++k) {
    char ch = domain[k];

    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
    if (!stralloc_append(&dest, &ch)) qdie_nomem();
  }
  if (!stralloc_0(&dest) || !stralloc_cats(&dest, route) || !stralloc_0(&dest)) qdie_nomem();
  dispatch(slot, dest.s, dest.len, &job, rcpt_count, 0);
  stralloc_free(&dest);
  stralloc_free(&job);
}

/* Reads from qsend and takes every complete job. */
static void input_read(void)
{
  char buf[READ_CHUNK];
  ssize_t r = read(0, buf, sizeof buf);
  size_t pos = 0;

  if (r == -1) {
    if (errno == EINTR || errno == EAGAIN) return;
    qdie_sys(111, "unable to read jobs");
  }
  if (r == 0) {
    if (inbuf.len != 0) die_proto("end of file inside a job");
    eof = 1;
    return;
  }
  if (!stralloc_catb(&inbuf, buf, (size_t)r)) qdie_nomem();
  for (;;) {
    size_t i = pos;
    size_t rstart = pos;
    int complete = 0;

    while (i < inbuf.len) {
      size_t n = strnlen(inbuf.s + i, inbuf.len - i);

      if (n >= SPAWN_FIELD_MAX) die_proto("record too long");
      if (i + n >= inbuf.len) break;   /* no NUL yet */
      if (n == 0) {
        complete = 1;
        break;
      }
      i += n + 1;
    }
    if (!complete) {
      if (inbuf.len - rstart > JOB_BYTES_MAX) die_proto("job too long");
      break;
    }
    job_take(inbuf.s + pos, i + 1 - pos);
    pos = i + 1;
  }
  if (pos > 0) {
    memmove(inbuf.s, inbuf.s + pos, inbuf.len - pos);
    inbuf.len -= pos;
  }
}

static void child_write(struct child *c)
{
  ssize_t w;

  if (c->job_fd == -1 || !c->busy || c->job_written == c->job.len) return;
  w = write(c->job_fd, c->job.s + c->job_written, c->job.len - c->job_written);
  if (w == -1) {
    if (errno == EAGAIN || errno == EINTR) return;
    child_close_jobs(c); /* it died: its end of file on fd 1 follows */
    return;
  }
  c->job_written += (size_t)w;
}

static void child_kill(struct child *c, const char *why)
{
  qwarn("qremote ", c->dest, ": ", why);
  kill(c->pid, SIGTERM);
  child_close_jobs(c);
  if (c->busy) results_fill(c, "qremote failed");
}

/* Takes the records qremote sent; 0, or -1 when it broke the protocol. */
static int child_records(struct child *c, const char *s, size_t len)
{
  for (size_t i = 0; i < len; ++i) {
    if (s[i] != '\0') {
      if (c->partial.len >= SPAWN_FIELD_MAX) return -1;
      if (!stralloc_append(&c->partial, s + i)) qdie_nomem();
      continue;
    }
    if (!c->busy) return -1;
    if (c->result_count < c->rcpt_count) {
      char tag = c->partial.len > 0 ? c->partial.s[0] : '\0';
      size_t tlen = c->partial.len > 0 ? c->partial.len - 1 : 0;

      if (tag != 'K' && tag != 'P' && tag != 'Z' && tag != 'T' && tag != 'D') return -1;
      if (tlen > SPAWN_TEXT_MAX) tlen = SPAWN_TEXT_MAX;
      if (!stralloc_append(&c->results, &tag)) qdie_nomem();
      for (size_t k = 0; k < tlen; ++k) {
        char ch = c->partial.s[1 + k];

        if ((unsigned char)ch < 0x20 || ch == 0x7f) ch = '?';
        if (!stralloc_append(&c->results, &ch)) qdie_nomem();
      }
      if (!stralloc_0(&c->results)) qdie_nomem();
      ++c->result_count;
    } else {
      if (c->partial.len != 0) return -1; /* the empty record ends the job */
      if (!stralloc_0(&c->results)) qdie_nomem();
      result_send(&c->results);
      c->busy = 0;
      ++c->jobs_done;
      c->idle_since = time(NULL);
    }
    c->partial.len = 0;
  }
  return 0;
}

/* Reads from a qremote. Returns 1 if it is gone (removed). */
static int child_read(struct child *c)
{
  char buf[READ_CHUNK];
  ssize_t r = read(c->res_fd, buf, sizeof buf);

  if (r == -1) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    r = 0;
  }
  if (r > 0) {
    if (child_records(c, buf, (size_t)r) == -1) child_kill(c, "protocol error");
    return 0;
  }

  /* end of file: it has exited */
  if (c->busy && c->result_count == 0 && c->jobs_done > 0 && !c->retried) {
    /* it went away as the job arrived (its connection had died while it
     * waited): nothing was done, so the job goes to a fresh qremote */
    stralloc job = c->job;
    stralloc dest = {0};
    unsigned long slot = c->slot;
    size_t rcpt_count = c->rcpt_count;

    if (!stralloc_copyb(&dest, c->dest, c->destlen)) qdie_nomem();
    c->job = (stralloc){0};
    c->busy = 0;
    child_remove(c);
    dispatch(slot, dest.s, dest.len, &job, rcpt_count, 1);
    stralloc_free(&dest);
    return 1;
  }
  if (c->busy) results_fill(c, "qremote ended before finishing the job");
  child_remove(c);
  return 1;
}

static void expire_idle(time_t now)
{
  for (struct child *c = children; c != NULL; c = c->next)
    if (!c->busy && !c->closing &&
        (eof || now - c->idle_since >= IDLE_SECONDS || c->ctl_gen != ctl_gen))
      child_close_jobs(c);
}

int main(int argc, char **argv)
{
  char *slash;

  qlog_prog = "qrspawn";
  /* the arguments first: misuse is a usage error wherever QHOME points */
  if (argc > 2) qdie_usage(USAGE);
  if (argc == 2) {
    size_t n = scan_ulong(argv[1], &concurrency);

    if (n == 0 || argv[1][n] != '\0' || concurrency == 0) qdie_usage(USAGE);
  }
  signal(SIGPIPE, SIG_IGN);
  if (qhome_chdir() == -1) qdie_sys(111, "unable to chdir to ", qhome());
  if (argc < 2 &&
      ctl_readint(&concurrency, "control/concurrencyremote", DEFAULT_CONCURRENCY) == -1)
    qdie_sys(111, "unable to read control/concurrencyremote");
  if (concurrency == 0) concurrency = 1;
  ctl_changed(&qremote_watch);
  slash = strrchr(argv[0], '/');
  if (slash != NULL) {
    *slash = '\0';
    qremote_dir = argv[0];
  }
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

  for (;;) {
    struct pollfd *p;
    struct child **who;
    size_t n = 0;
    size_t max = 1;
    int timeout = -1;
    time_t now = time(NULL);

    expire_idle(now);
    if (eof && children == NULL) break;

    for (struct child *c = children; c != NULL; c = c->next) max += 2;
    p = calloc(max, sizeof *p);
    who = calloc(max, sizeof *who);
    if (p == NULL || who == NULL) qdie_nomem();
    if (!eof) {
      p[n].fd = 0;
      p[n].events = POLLIN;
      who[n++] = NULL;
    }
    for (struct child *c = children; c != NULL; c = c->next) {
      p[n].fd = c->res_fd;
      p[n].events = POLLIN;
      who[n++] = c;
      if (c->busy && c->job_fd != -1 && c->job_written < c->job.len) {
        p[n].fd = c->job_fd;
        p[n].events = POLLOUT;
        who[n++] = c;
      }
      if (!c->busy && !c->closing) {
        long left = (long)(c->idle_since + IDLE_SECONDS - now);
        int ms = left <= 0 ? 0 : (int)(left * 1000);

        if (timeout == -1 || ms < timeout) timeout = ms;
      }
    }
    if (poll(p, n, timeout) == -1 && errno != EINTR) qdie_sys(111, "unable to poll");

    for (size_t i = 0; i < n; ++i) {
      struct child *c = who[i];

      if (p[i].revents == 0) continue;
      if (c == NULL) {
        input_read();
        continue;
      }
      /* c may have been removed by an earlier entry of this round */
      {
        struct child *k;

        for (k = children; k != NULL && k != c; k = k->next) {}
        if (k == NULL) continue;
      }
      if (p[i].events == POLLOUT) child_write(c);
      else child_read(c);
    }
    free(p);
    free(who);
  }
  stralloc_free(&inbuf);
  return 0;
}
