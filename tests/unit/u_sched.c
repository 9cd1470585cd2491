/* tests/unit/u_sched.c: qsend's scheduler decisions on a synthetic queue.
 * qsend_sched.o and qsend_dom.o are linked with stand-ins for the queue on
 * disk, the spawners and the reports: jobs are read back from what
 * spawner_send got, results are fed to sched_result, and the info records
 * and reports are counted. Covers the retry backoff, a destination's rest
 * (and the H records while it rests), expiry, the delay warning and a
 * bounce that could not be queued. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>

#include "tap.h"
#include "qsend.h"
#include "qsend_dsn.h"

struct config cfg;
time_t now;

/* ---- stand-ins ---- */

static char last_job[2][4096];  /* the last job sent to each class, its records */
static size_t last_job_len[2];
static int jobs_sent;
static char info_tags[256];     /* the tags of the info records, in order */
static size_t info_ntags;
static int reports[3];          /* reports queued: failed, delayed, delivered */
static size_t report_rcpts;     /* recipients in the last report */
static int report_fails;        /* 1: dsn_send fails */
static int removed;

void spawner_send(int remote, const char *s, size_t len)
{
  if (len > sizeof last_job[remote]) len = sizeof last_job[remote];
  memcpy(last_job[remote], s, len);
  last_job_len[remote] = len;
  jobs_sent++;
}

int spawner_usable(int remote)
{
  (void)remote;
  return 1;
}

static void tag(char t)
{
  if (info_ntags < sizeof info_tags - 1) info_tags[info_ntags++] = t;
  info_tags[info_ntags] = '\0';
}

void info_append(struct msg *m, char t, size_t idx, const char *rest)
{
  (void)m;
  (void)idx;
  (void)rest;
  tag(t);
}

void info_line(stralloc *lines, char t, size_t idx, const char *rest)
{
  (void)idx;
  (void)rest;
  if (!stralloc_append(lines, &t)) exit(111);
}

void info_write(struct msg *m, const stralloc *lines)
{
  size_t i;

  (void)m;
  for (i = 0; i < lines->len; i++) tag(lines->s[i]);
}

int msg_open(const struct msg *m)
{
  (void)m;
  return open("/dev/null", O_RDONLY);
}

void msg_remove(struct msg *m)
{
  size_t i;

  for (i = 0; i < m->env.rcpt_count; i++) free(m->r[i].reason);
  free(m->r);
  queue_env_free(&m->env);
  free(m);
  removed++;
}

const char *rcpt_addr(const struct msg *m, size_t idx)
{
  return queue_env_str(&m->env, m->env.rcpt[idx].addr);
}

int dsn_send(int fd, const struct queue_env *e, int kind, const struct dsn_rcpt *r, size_t n,
             char *newid)
{
  (void)fd;
  (void)e;
  (void)r;
  newid[0] = '\0';
  if (report_fails) return -1;
  reports[kind == DSN_FAILED ? 0 : kind == DSN_DELAYED ? 1 : 2]++;
  report_rcpts = n;
  memcpy(newid, "REPORT", 7);
  return 0;
}

/* ---- the synthetic queue ---- */

static unsigned long next_id = 100;

/* A message that arrived age seconds ago, from bob@here, to the
 * recipients in rcpts (NUL-separated, ending with an empty one); those
 * with a '@' outside "here" are remote. */
static struct msg *message(time_t age, const char *rcpts)
{
  struct msg *m = calloc(1, sizeof *m);
  char num[FMT_ULONG];
  const char *p;
  size_t i;

  if (m == NULL) exit(111);
  m->id = next_id++;
  m->heap_pos = NOT_IN_HEAP;
  m->fresh = 1;
  memcpy(m->qid, "Q", 1);
  memcpy(m->qid + 1, num, fmt_ulong(num, m->id));
  if (!stralloc_copys(&m->env.env, "T") ||
      !stralloc_catb(&m->env.env, num, fmt_ulong(num, (unsigned long)(now - age))) ||
      !stralloc_0(&m->env.env) || !stralloc_cats(&m->env.env, "Fbob@here") ||
      !stralloc_0(&m->env.env))
    exit(111);
  for (p = rcpts; *p != '\0'; p += strlen(p) + 1)
    if (!stralloc_cats(&m->env.env, "R") || !stralloc_cats(&m->env.env, p) ||
        !stralloc_0(&m->env.env))
      exit(111);
  if (queue_env_parse(&m->env) == -1) {
    printf("Bail out! envelope not parsed\n");
    exit(1);
  }
  m->r = calloc(m->env.rcpt_count, sizeof *m->r);
  if (m->r == NULL) exit(111);
  for (i = 0; i < m->env.rcpt_count; i++)
    m->r[i].remote = strstr(rcpt_addr(m, i), "@here") == NULL;
  m->pending = m->env.rcpt_count;
  return m;
}

/* The slot of class remote's last job ("J<slot>"), and how many R
 * records it has. */
static unsigned long job_slot(int remote, size_t *rcpts)
{
  const char *job = last_job[remote];
  unsigned long slot = 0;
  size_t i = 0;

  *rcpts = 0;
  scan_ulong(job + 1, &slot);
  while (i < last_job_len[remote] && job[i] != '\0') {
    if (job[i] == 'R') (*rcpts)++;
    i += strlen(job + i) + 1;
  }
  return slot;
}

/* Feeds the result records (each "X<text>", NUL-separated, ending with an
 * empty one) for the job in slot of class remote. */
static void result_slot(int remote, unsigned long slot, const char *recs)
{
  char buf[1024];
  size_t o;
  const char *p;

  buf[0] = 'J';
  o = 1 + fmt_ulong(buf + 1, slot);
  buf[o++] = '\0';
  for (p = recs; *p != '\0'; p += strlen(p) + 1) {
    memcpy(buf + o, p, strlen(p) + 1);
    o += strlen(p) + 1;
  }
  sched_result(remote, buf, o);
}

/* The same for the last job of class remote. */
static void result(int remote, const char *recs)
{
  size_t n;

  result_slot(remote, job_slot(remote, &n), recs);
}

/* Time passes: what became due is started. */
static void later(time_t seconds)
{
  now += seconds;
  sched_due();
  sched_dispatch();
}

static void clear(void)
{
  jobs_sent = 0;
  info_ntags = 0;
  info_tags[0] = '\0';
  memset(reports, 0, sizeof reports);
  removed = 0;
}

/* A new test: counters cleared, a message added and what is due started. */
static struct msg *start(time_t age, const char *rcpts)
{
  struct msg *m;

  clear();
  m = message(age, rcpts);
  sched_add(m);
  sched_dispatch();
  return m;
}

int main(void)
{
  struct msg *m;
  struct msg *m2;
  size_t n;

  plan(35);
  if (getenv("U_SCHED_LOG") == NULL) { /* the log lines go nowhere unless asked for */
    close(2);
    if (open("/dev/null", O_WRONLY) != 2) return 111;
  }
  cfg.conc_local = 2;
  cfg.conc_remote = 2;
  cfg.conc_domain = 2;
  cfg.backoff_min = 100;
  cfg.backoff_max = 400;
  cfg.lifetime = 10000;
  cfg.warn = 1000;
  now = 1000000;
  sched_init();

  /* retry: a local recipient deferred backs off min, 2 min, ... max */
  m = start(0, "ann@here\0");
  job_slot(0, &n);
  ok(jobs_sent == 1 && n == 1 && sched_busy(0) == 1, "a fresh local recipient goes out at once");
  result(0, "Zmailbox busy\0");
  ok(sched_busy(0) == 0 && m->r[0].state == RCPT_PENDING && m->r[0].tries == 1,
     "deferred: pending again, one try");
  ok(m->r[0].next == now + 100, "first retry after backoffmin");
  ok(strcmp(info_tags, "Z") == 0, "a Z record");
  ok(sched_timeout_ms() == 100 * 1000L, "the next wakeup is that retry");
  sched_dispatch();
  ok(jobs_sent == 1, "not tried again before it is due");
  later(100);
  ok(jobs_sent == 2, "tried again once due");
  result(0, "Zmailbox busy\0");
  ok(m->r[0].next == now + 200, "second retry after twice backoffmin");
  later(200);
  result(0, "Zmailbox busy\0");
  later(400);
  result(0, "Zmailbox busy\0");
  ok(m->r[0].tries == 4 && m->r[0].next == now + 400, "backoff stops at backoffmax");
  later(400);
  result(0, "Kdelivered\0");
  ok(removed == 1 && reports[0] + reports[1] + reports[2] == 0,
     "delivered: the message is removed, no report");

  /* rest: a destination whose every recipient failed rests; its other
   * mail waits with an H record; a T rests nothing */
  m = start(0, "a@example.net\0b@example.net\0");
  job_slot(1, &n);
  ok(jobs_sent == 1 && n == 2, "two recipients of one domain in one remote job");
  result(1, "Zconnection refused\0Zconnection refused\0");
  ok(dom_get("example.net", 11)->down_until == now + 100, "the destination rests");
  m2 = message(0, "c@example.net\0");
  sched_add(m2);
  clear();
  sched_dispatch();
  ok(jobs_sent == 0, "its other mail is not sent while it rests");
  ok(m2->r[0].next == now + 100 && strcmp(info_tags, "H") == 0,
     "it waits for the end of the rest, with an H record");
  later(100);
  ok(jobs_sent == 2, "after the rest both messages go out");
  result(1, "Tgreylisted\0");
  ok(dom_get("example.net", 11)->down_until == 0 && dom_get("example.net", 11)->fails == 0,
     "a T: the destination works, rest over");
  ok(m2->r[0].state == RCPT_PENDING && m2->r[0].tries == 1, "the T recipient waits alone");
  result_slot(1, 1 - job_slot(1, &n), "Kdelivered\0Kdelivered\0");
  ok(removed == 1, "the first message is delivered after the rest");

  /* expiry: a deferral past queuelifetime is a failure, bounced */
  m = start(10001, "old@here\0");
  result(0, "Zmailbox busy\0");
  ok(reports[0] == 1 && report_rcpts == 1, "expired: one bounce for the recipient");
  ok(removed == 1, "and the message is removed");

  /* warning: past queuewarn, one delay warning, once */
  m = start(1001, "fast@here\0slow@here\0");
  ok(jobs_sent == 2, "a local job per recipient");
  result(0, "Zmailbox busy\0");
  ok(reports[1] == 1 && m->r[1].warned, "a delay warning for the deferred recipient");
  ok(strcmp(info_tags, "ZW") == 0, "a Z then a W record");
  {
    /* the other job is slot 0 */
    static const char rec[] = "J0\0Kdelivered\0";
    sched_result(0, rec, sizeof rec - 1);
  }
  ok(m->pending == 1 && m->r[0].state == RCPT_DONE, "the other one is delivered");
  later(100);
  result(0, "Zmailbox busy\0");
  ok(reports[1] == 1, "no second warning");
  later(200);
  result(0, "Dno such mailbox\0");
  ok(reports[0] == 1 && removed == 1, "a permanent failure: bounced, message removed");

  /* a bounce that cannot be queued: the recipient is kept */
  m = start(0, "gone@here\0");
  report_fails = 1;
  result(0, "Dno such mailbox\0");
  report_fails = 0;
  ok(m->r[0].state == RCPT_PENDING && m->pending == 1 && removed == 0,
     "bounce not queued: the recipient stays pending");
  ok(m->r[0].next == now + 100 && strstr(info_tags, "F") == NULL,
     "tried again after backoffmin, no F record");
  later(100);
  ok(jobs_sent == 2, "and tried again");
  result(0, "Dno such mailbox\0");
  ok(reports[0] == 1 && removed == 1, "then bounced and removed");

  /* flush: every deferred recipient is due now */
  m = start(0, "later@here\0");
  result(0, "Zmailbox busy\0");
  sched_flush();
  sched_dispatch();
  ok(jobs_sent == 2, "a flush makes a deferred recipient due at once");
  result(0, "Kdelivered\0");
  ok(removed == 1, "delivered after the flush");

  /* slots: no more jobs than concurrencylocal */
  m = start(0, "x1@here\0x2@here\0x3@here\0");
  ok(jobs_sent == 2 && sched_busy(0) == 2, "two local slots: two jobs");
  {
    static const char rec[] = "J0\0Kdelivered\0";
    sched_result(0, rec, sizeof rec - 1);
  }
  sched_dispatch();
  ok(jobs_sent == 3, "a freed slot takes the third");
  {
    static const char rec[] = "J1\0Kdelivered\0";
    sched_result(0, rec, sizeof rec - 1);
  }
  result(0, "Kdelivered\0");
  result(1, "Kdelivered\0"); /* the T recipient, retried meanwhile */
  sched_dispatch(); /* a finished message still in a ready list leaves it here */
  ok(removed == 2 && sched_busy(0) == 0 && sched_busy(1) == 0,
     "every message delivered and removed, no job in flight");
  return done_testing();
}
