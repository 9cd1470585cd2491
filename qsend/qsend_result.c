/*
 * qsend_result: what a job's result does (the other half of the
 * scheduler: qsend_sched.c decides when each recipient is tried;
 * qsend_sched.h is what the two share). Each spawner's result for a job
 * is one record per recipient, in the order they were sent
 * (spawnproto.h): K delivered (P: to a server that reports success
 * itself), Z and T deferred (exponential backoff from
 * backoffmin to backoffmax; past queuelifetime it fails), D failed. A
 * remote job whose recipients all end in Z rests its destination (its
 * other mail waits, qsend_dom.c); a T is one recipient's or one message's
 * failure at a destination that answered, and rests nothing. A failure is
 * reported to the sender (dsn_send) before the recipient is marked done,
 * so that a crash in between only repeats the report, never loses it.
 * Delay warnings (queuewarn) and success reports (NOTIFY=SUCCESS) are
 * queued the same way. Each change is recorded in the message's info log
 * (qsend_queue.c: D, F, W, Z records) before the job's slot is freed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "qlog.h"
#include "qsend.h"
#include "qsend_dsn.h"
#include "qsend_sched.h"

static time_t backoff(unsigned int tries)
{
  unsigned long t = cfg.backoff_min;
  unsigned int i;

  for (i = 1; i < tries && t < cfg.backoff_max; i++) t *= 2;
  if (t > cfg.backoff_max) t = cfg.backoff_max;
  return (time_t)t;
}

static void log_result(const struct msg *m, size_t idx, int remote, const char *what,
                       const char *text)
{
  char num[FMT_ULONG];
  char rcpt[QLOG_WORD_MAX];

  num[fmt_ulong(num, (unsigned long)idx)] = '\0';
  qlog("delivery ", m->qid, ".", num, remote ? " remote " : " local ",
       qlog_word(rcpt, sizeof rcpt, rcpt_addr(m, idx)), " ", what, ": ", text);
}

/* NOTIFY of recipient idx allows reports of this kind? (RFC 3461: default FAILURE,DELAY) */
static int notify_allows(const struct msg *m, size_t idx, const char *word)
{
  size_t off = m->env.rcpt[idx].notify;
  const char *n;

  if (off == (size_t)-1) return strcmp(word, "SUCCESS") != 0;
  n = queue_env_str(&m->env, off);
  return strcasestr(n, word) != NULL;
}

/* "bounce ID: N recipients, report queued as NEWID" (warning, success alike) */
void sched_report(struct msg *m, int kind, struct dsn_rcpt *list, size_t n, int *ok)
{
  char newid[QUEUE_ID_MAX];
  char count[FMT_ULONG];
  int fd;

  *ok = 0;
  if (n == 0) return;
  fd = msg_open(m);
  if (fd == -1) {
    qwarn_sys("unable to open the queue file for a report about ", m->qid);
    return;
  }
  if (dsn_send(fd, &m->env, kind, list, n, newid) == 0) {
    *ok = 1;
    count[fmt_ulong(count, (unsigned long)n)] = '\0';
    if (newid[0] != '\0')
      qlog(kind == DSN_FAILED ? "bounce " : kind == DSN_DELAYED ? "warning " : "success ", m->qid,
           ": ", count, n == 1 ? " recipient" : " recipients", ", report queued as ", newid);
  } else {
    qwarn_sys("unable to queue a delivery report about ", m->qid);
  }
  close(fd);
}

/* What one job's result records came to: the recipients to report on, and
 * what the destination did (for its rest, qsend_dom.c). The reasons point
 * into the records or into the recipients' own reasons. */
struct outcome {
  struct dsn_rcpt *failed;
  struct dsn_rcpt *delayed;
  struct dsn_rcpt *succeeded;
  size_t nfailed;
  size_t ndelayed;
  size_t nsucceeded;
  int any_ok;
  int answered;                /* a T: the destination works, one recipient waits */
  int all_temp;
  int expanded;                /* an E: an alias sent it on (local jobs have one recipient) */
  const char *temp_reason;     /* the first temporary failure */
};

/* K or P: recipient idx is delivered. passed: to a server that offers DSN
 * and reports success itself (P), so no success report from here. */
static void result_delivered(struct msg *m, size_t idx, int remote, int passed, const char *text,
                             struct outcome *o)
{
  o->any_ok = 1;
  o->all_temp = 0;
  m->r[idx].state = RCPT_DONE;
  m->pending--;
  log_result(m, idx, remote, "ok", text);
  if (m->pending > 0) info_append(m, 'D', idx, NULL);
  if (!passed && m->env.rcpt[idx].notify != (size_t)-1 && notify_allows(m, idx, "SUCCESS")) {
    o->succeeded[o->nsucceeded].idx = idx;
    o->succeeded[o->nsucceeded++].reason = text;
  }
}

/* Z or T: recipient idx waits for its next try (Z record in the info log),
 * with a delay warning due if queuewarn passed; or fails if the message
 * has been queued longer than queuelifetime. */
static void result_deferred(struct msg *m, size_t idx, int remote, const char *text,
                            struct outcome *o)
{
  struct rcpt *r = &m->r[idx];
  char line[3 * FMT_ULONG + QUEUE_REASON_MAX + 8];
  size_t n;
  size_t tlen = strlen(text);

  if (o->temp_reason == NULL) o->temp_reason = text;
  r->state = RCPT_PENDING;
  if (r->tries < 60000) r->tries++;
  free(r->reason);
  r->reason = strdup(text);
  if ((unsigned long long)now >= m->env.arrival + cfg.lifetime) {
    log_result(m, idx, remote, "failed", "message expired in the queue");
    o->failed[o->nfailed].idx = idx;
    o->failed[o->nfailed++].reason = r->reason != NULL ? r->reason : text;
    return;
  }
  r->next = now + backoff(r->tries);
  log_result(m, idx, remote, "deferred", text);
  n = fmt_ulong(line, (unsigned long)r->next);
  line[n++] = ' ';
  n += fmt_ulong(line + n, (unsigned long)now);
  line[n++] = ' ';
  if (tlen > QUEUE_REASON_MAX) tlen = QUEUE_REASON_MAX;
  memcpy(line + n, text, tlen);
  line[n + tlen] = '\0';
  info_append(m, 'Z', idx, line);
  if (!r->warned && (unsigned long long)now >= m->env.arrival + cfg.warn &&
      notify_allows(m, idx, "DELAY")) {
    o->delayed[o->ndelayed].idx = idx;
    o->delayed[o->ndelayed++].reason = r->reason != NULL ? r->reason : "";
  }
}

/* Reads one record per recipient of job j, in the order they were sent,
 * and applies each (a spawner that says too little or too much is a
 * protocol error: qsend stops, and s6 restarts it). */
static void results_apply(int remote, struct job *j, const char *rec, size_t len,
                          struct outcome *o)
{
  struct msg *m = j->m;
  size_t pos = 0;
  size_t i;

  for (i = 0; i < j->count; i++) {
    size_t idx = j->idx[i];
    const char *text;
    char code;

    if (pos >= len) qdie(111, "protocol error: too few results from a spawner");
    code = rec[pos];
    text = rec + pos + 1;
    pos += strlen(rec + pos) + 1;
    m->inflight--;
    if (code == 'T') o->answered = 1;
    switch (code) {
      case 'E':
      case 'K':
      case 'P':
        if (code == 'E') o->expanded = 1;
        result_delivered(m, idx, remote, code == 'P', text, o);
        break;
      case 'T':
      case 'Z': result_deferred(m, idx, remote, text, o); break;
      case 'D':
        o->all_temp = 0;
        log_result(m, idx, remote, "failed", text);
        o->failed[o->nfailed].idx = idx;
        o->failed[o->nfailed++].reason = text;
        break;
      default:
        qdie(111, "protocol error: unknown result from a spawner");
    }
  }
  if (pos != len) qdie(111, "protocol error: too many results from a spawner");
}

/* Failures: the bounce is queued first, then the recipients are marked
 * done (F records); if it could not be queued they stay pending. */
static void failures_report(struct msg *m, const struct outcome *o)
{
  size_t i;
  int ok;

  sched_report(m, DSN_FAILED, o->failed, o->nfailed, &ok);
  for (i = 0; i < o->nfailed; i++) {
    struct rcpt *r = &m->r[o->failed[i].idx];
    if (ok) {
      char t[FMT_ULONG];
      stralloc line = {0};
      t[fmt_ulong(t, (unsigned long)now)] = '\0';
      if (!stralloc_copys(&line, t) || !stralloc_cats(&line, " ") ||
          !stralloc_cats(&line, o->failed[i].reason) || !stralloc_0(&line))
        qdie_nomem();
      if (r->state != RCPT_DONE) m->pending--;
      r->state = RCPT_DONE;
      if (m->pending > 0) info_append(m, 'F', o->failed[i].idx, line.s);
      stralloc_free(&line);
    } else {
      /* the report could not be queued: keep the recipient and try again later */
      r->state = RCPT_PENDING;
      r->next = now + (time_t)cfg.backoff_min;
    }
  }
}

/* Delay warnings: once queued, each recipient is marked warned (W). */
static void delays_report(struct msg *m, int remote, const struct outcome *o)
{
  size_t i;
  int ok;

  sched_report(m, DSN_DELAYED, o->delayed, o->ndelayed, &ok);
  if (!ok) return;
  for (i = 0; i < o->ndelayed; i++) {
    stralloc to = {0};
    m->r[o->delayed[i].idx].warned = 1;
    info_append(m, 'W', o->delayed[i].idx, NULL);
    if (!stralloc_copys(&to, "sent to <") ||
        !stralloc_cats(&to, queue_env_str(&m->env, m->env.sender)) ||
        !stralloc_cats(&to, ">") || !stralloc_0(&to))
      qdie_nomem();
    log_result(m, o->delayed[i].idx, remote, "delay warning", to.s);
    stralloc_free(&to);
  }
}

/* A remote job's destination: works again, or rests if all of it failed. */
static void dom_update(struct dom *d, const struct outcome *o)
{
  if (d->inflight > 0) d->inflight--;
  d->last_used = now;
  if (o->any_ok || o->answered) {
    /* a delivery, or a 4xx to one recipient or to this message alone
     * (greylisting, a full mailbox): the destination works */
    d->fails = 0;
    dom_rest(d, 0, NULL);
  } else if (o->all_temp) {
    /* the whole destination failed: its other messages wait too */
    if (d->fails < 1000) d->fails++;
    dom_rest(d, now + backoff((unsigned int)d->fails), o->temp_reason);
  }
}

static void job_finish(int remote, unsigned long slot, const char *rec, size_t len)
{
  struct class *c = &sched_classes[remote];
  struct job *j = &c->jobs[slot];
  struct msg *m = j->m;
  struct outcome o;
  int ok;

  memset(&o, 0, sizeof o);
  o.all_temp = 1;
  o.failed = calloc(j->count, sizeof *o.failed);
  o.delayed = calloc(j->count, sizeof *o.delayed);
  o.succeeded = calloc(j->count, sizeof *o.succeeded);
  if (o.failed == NULL || o.delayed == NULL || o.succeeded == NULL) qdie_nomem();

  results_apply(remote, j, rec, len, &o);
  failures_report(m, &o);
  delays_report(m, remote, &o);
  /* RFC 3464 2.3.3: handed to a server without DSN is "relayed"; sent on
   * by an alias, "expanded" (RFC 3461 6.2.7.3) */
  sched_report(m, remote ? DSN_RELAYED : o.expanded ? DSN_EXPANDED : DSN_DELIVERED, o.succeeded,
               o.nsucceeded, &ok);
  if (j->dom != NULL) dom_update(j->dom, &o);

  free(o.failed);
  free(o.delayed);
  free(o.succeeded);
  free(j->idx);
  j->idx = NULL;
  j->m = NULL;
  j->dom = NULL;
  c->busy--;
  sched_place(m);
}

void sched_result(int remote, const char *rec, size_t len)
{
  struct class *c = &sched_classes[remote];
  unsigned long slot;
  size_t n;

  if (len < 2 || rec[0] != 'J') qdie(111, "protocol error: result without a slot");
  n = scan_ulong(rec + 1, &slot);
  if (n == 0 || rec[1 + n] != '\0' || slot >= c->slots || c->jobs[slot].m == NULL)
    qdie(111, "protocol error: result for a slot that is not busy");
  n += 2;
  job_finish(remote, slot, rec + n, len - n);
}

void sched_spawner_lost(int remote)
{
  struct class *c = &sched_classes[remote];
  unsigned long slot;

  for (slot = 0; slot < c->slots; slot++) {
    struct job *j = &c->jobs[slot];
    size_t i;
    if (j->m == NULL) continue;
    for (i = 0; i < j->count; i++) {
      j->m->r[j->idx[i]].state = RCPT_PENDING;
      j->m->inflight--;
    }
    if (j->dom != NULL && j->dom->inflight > 0) j->dom->inflight--;
    free(j->idx);
    j->idx = NULL;
    sched_place(j->m);
    j->m = NULL;
    c->busy--;
  }
}
