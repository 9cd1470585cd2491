/*
 * qsend_sched: when each recipient is tried (what its result does is in
 * qsend_result.c; qsend_sched.h is what the two share).
 *
 * A message waits in the time heap until its earliest pending recipient
 * is due, then sits in the local and/or remote ready list until a
 * delivery slot is free. Ready lists come in two kinds: fresh messages
 * (never tried) and retries. Fresh mail is served first, but one slot in
 * RETRY_SHARE goes to a retry when both wait, so neither starves: a big
 * deferred queue never holds new mail back, and a flood of new mail never
 * stops retries. A remote job takes the due recipients of one
 * destination (at most SPAWN_RCPT_MAX); a destination that rests, is at
 * its concurrency or at its rate (qsend_dom.c) makes its recipients wait.
 * A flush (SIGALRM) makes everything due now, or only what the requests
 * of sendmail -qR/-qS/-qI in queue/flush/ select.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "qlog.h"
#include "qsend.h"
#include "qsend_sched.h"
#include "spawnproto.h"

#define RETRY_SHARE 4          /* every 4th slot may go to a retry */
#define BUSY_RETRY 1           /* seconds: retry when a destination is at its limit */

struct class sched_classes[2]; /* 0 local, 1 remote */

static stralloc held_lines; /* job_start's H records, the space reused */

static struct msg **heap;
static size_t heap_len;
static size_t heap_alloc;

/* ---- the time heap, keyed by msg->due ---- */

static void heap_swap(size_t a, size_t b)
{
  struct msg *t = heap[a];
  heap[a] = heap[b];
  heap[b] = t;
  heap[a]->heap_pos = a;
  heap[b]->heap_pos = b;
}

static void heap_up(size_t i)
{
  while (i > 0 && heap[(i - 1) / 2]->due > heap[i]->due) {
    heap_swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1;
    size_t s = i;
    if (l < heap_len && heap[l]->due < heap[s]->due) s = l;
    if (l + 1 < heap_len && heap[l + 1]->due < heap[s]->due) s = l + 1;
    if (s == i) return;
    heap_swap(i, s);
    i = s;
  }
}

static void heap_remove(struct msg *m)
{
  size_t i = m->heap_pos;

  if (i == NOT_IN_HEAP) return;
  heap_len--;
  if (i != heap_len) {
    heap[i] = heap[heap_len];
    heap[i]->heap_pos = i;
    heap_up(i);
    heap_down(heap[i]->heap_pos);
  }
  m->heap_pos = NOT_IN_HEAP;
}

static void heap_put(struct msg *m, time_t due)
{
  if (m->heap_pos != NOT_IN_HEAP) {
    time_t old = m->due;
    m->due = due;
    if (due < old) heap_up(m->heap_pos);
    else heap_down(m->heap_pos);
    return;
  }
  if (heap_len == heap_alloc) {
    size_t n = heap_alloc ? heap_alloc * 2 : 1024;
    struct msg **h = realloc(heap, n * sizeof *h);
    if (h == NULL) qdie_nomem();
    heap = h;
    heap_alloc = n;
  }
  m->due = due;
  m->heap_pos = heap_len;
  heap[heap_len++] = m;
  heap_up(m->heap_pos);
}

/* ---- ready lists ---- */

static void ready_push(int remote, struct msg *m)
{
  struct class *c = &sched_classes[remote];
  struct msg **head = m->fresh ? &c->fresh_head : &c->retry_head;
  struct msg **tail = m->fresh ? &c->fresh_tail : &c->retry_tail;

  if (remote) {
    if (m->in_rready) return;
    m->in_rready = 1;
    m->rnext = NULL;
    if (*tail != NULL) (*tail)->rnext = m;
    else *head = m;
  } else {
    if (m->in_lready) return;
    m->in_lready = 1;
    m->lnext = NULL;
    if (*tail != NULL) (*tail)->lnext = m;
    else *head = m;
  }
  *tail = m;
}

/* Takes the head of one list of the class: fresh first, but every
 * RETRY_SHARE-th pick goes to a retry when there is one. */
static struct msg *ready_peek(int remote, int *from_fresh)
{
  struct class *c = &sched_classes[remote];

  if (c->retry_head != NULL && (c->fresh_head == NULL || c->served % RETRY_SHARE == 0)) {
    *from_fresh = 0;
    return c->retry_head;
  }
  *from_fresh = 1;
  return c->fresh_head;
}

static void ready_pop(int remote, int from_fresh)
{
  struct class *c = &sched_classes[remote];
  struct msg **head = from_fresh ? &c->fresh_head : &c->retry_head;
  struct msg **tail = from_fresh ? &c->fresh_tail : &c->retry_tail;
  struct msg *m = *head;

  if (remote) {
    *head = m->rnext;
    m->in_rready = 0;
  } else {
    *head = m->lnext;
    m->in_lready = 0;
  }
  if (*head == NULL) *tail = NULL;
}

/* ---- placing a message ---- */

void sched_place(struct msg *m)
{
  time_t earliest = 0;
  int have_future = 0;
  size_t i;

  if (m->pending == 0) {
    if (m->inflight == 0) {
      heap_remove(m);
      if (!m->in_lready && !m->in_rready) msg_remove(m);
      /* else: removed when it leaves the ready list */
    }
    return;
  }
  for (i = 0; i < m->env.rcpt_count; i++) {
    struct rcpt *r = &m->r[i];
    if (r->state != RCPT_PENDING) continue;
    if (r->next <= now) {
      ready_push(r->remote, m);
    } else if (!have_future || r->next < earliest) {
      earliest = r->next;
      have_future = 1;
    }
  }
  if (have_future) heap_put(m, earliest);
  else heap_remove(m);
}

void sched_add(struct msg *m)
{
  sched_place(m);
}

void sched_due(void)
{
  dom_sweep(); /* at most once a minute */
  while (heap_len > 0 && heap[0]->due <= now) {
    struct msg *m = heap[0];
    heap_remove(m);
    sched_place(m);
  }
}

long sched_timeout_ms(void)
{
  if (heap_len == 0) return -1;
  if (heap[0]->due <= now) return 0;
  if (heap[0]->due - now > 86400) return 86400L * 1000;
  return (long)(heap[0]->due - now) * 1000;
}

/*
 * Flush requests: sendmail -qR/-qS/-qI leaves one file a request in
 * queue/flush/ ("R<text>", "S<text>" or "I<id>", one line) before it sends
 * SIGALRM. With requests, only matching deferred recipients become due:
 * R the recipient contains text, S the sender contains it (ASCII case
 * ignored), I the queue id is equal. Without any, everything does.
 */
#define FLUSH_MAX 64          /* requests read at one SIGALRM */
#define FLUSH_TEXT_MAX 320

struct flush_req {
  char kind;
  char text[FLUSH_TEXT_MAX + 1];
};

static size_t flush_read(struct flush_req *reqs)
{
  DIR *dir = opendir("queue/flush");
  struct dirent *de;
  size_t n = 0;

  if (dir == NULL) return 0;
  while ((de = readdir(dir)) != NULL && n < FLUSH_MAX) {
    char path[300];
    char buf[FLUSH_TEXT_MAX + 2];
    ssize_t len;
    int fd;

    if (de->d_name[0] == '.' || strlen(de->d_name) > 200) continue;
    memcpy(path, "queue/flush/", 12);
    memcpy(path + 12, de->d_name, strlen(de->d_name) + 1);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) continue;
    len = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    if (len < 2) continue;
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
    if (buf[0] != 'R' && buf[0] != 'S' && buf[0] != 'I') continue;
    reqs[n].kind = buf[0];
    memcpy(reqs[n].text, buf + 1, (size_t)len);
    n++;
  }
  closedir(dir);
  return n;
}

static int flush_matches(const struct msg *m, size_t idx, const struct flush_req *reqs, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    const struct flush_req *q = &reqs[i];
    if (q->kind == 'R' && strcasestr(rcpt_addr(m, idx), q->text) != NULL) return 1;
    if (q->kind == 'S' && strcasestr(queue_env_str(&m->env, m->env.sender), q->text) != NULL)
      return 1;
    if (q->kind == 'I') { /* the queue id, or the inode number (the file's name) */
      unsigned long id;
      size_t len = scan_ulong(q->text, &id);
      if (strcmp(q->text, m->qid) == 0 || (len > 0 && q->text[len] == '\0' && id == m->id))
        return 1;
    }
  }
  return 0;
}

/* The log line of a flush: what it asked for and how many recipients it
 * made due, so that a filtered flush is told from a full one. */
static void flush_log(const struct flush_req *reqs, size_t nreq, unsigned long due)
{
  char num[FMT_ULONG];
  size_t i;

  num[fmt_ulong(num, due)] = '\0';
  if (nreq == 0) {
    qlog("flush: every deferred recipient is due now (", num, ")");
    return;
  }
  for (i = 0; i < nreq; i++)
    qlog("flush: filtered: ",
         reqs[i].kind == 'R' ? "recipient contains " : reqs[i].kind == 'S' ? "sender contains "
                                                                             : "queue id ",
         reqs[i].text);
  qlog("flush: filtered: ", num, " deferred recipients due now");
}

void sched_flush(void)
{
  struct flush_req *reqs;
  size_t nreq;
  size_t n = heap_len;
  struct msg **all;
  size_t i;
  unsigned long due = 0;

  reqs = malloc(FLUSH_MAX * sizeof *reqs);
  if (reqs == NULL) qdie_nomem();
  nreq = flush_read(reqs);
  if (nreq == 0) dom_reset_all();
  all = malloc((n ? n : 1) * sizeof *all);
  if (all == NULL) qdie_nomem();
  memcpy(all, heap, n * sizeof *all);
  for (i = 0; i < n; i++) {
    struct msg *m = all[i];
    size_t j;
    for (j = 0; j < m->env.rcpt_count; j++) {
      struct rcpt *r = &m->r[j];
      if (r->state != RCPT_PENDING || r->held) continue; /* held: only qqueue releases it */
      if (nreq > 0 && !flush_matches(m, j, reqs, nreq)) continue;
      r->next = 0;
      due++;
      if (nreq > 0 && r->remote) {
        /* a flushed destination gets its chance again too */
        const char *at = strrchr(rcpt_addr(m, j), '@');
        if (at != NULL) dom_rest(dom_get(at + 1, strlen(at + 1)), 0, NULL);
      }
    }
    heap_remove(m);
    sched_place(m);
  }
  flush_log(reqs, nreq, due);
  free(all);
  free(reqs);
}

unsigned long sched_busy(int remote)
{
  return sched_classes[remote].busy;
}

/* ---- starting jobs ---- */

static unsigned long slot_get(struct class *c)
{
  unsigned long i;

  for (i = 0; i < c->slots; i++)
    if (c->jobs[i].m == NULL) return i;
  return c->slots;
}

/* "start ID.IDX local ADDR" or "start ID.IDX remote ADDR" (+" and N more"
 * recipients of its domain in this job) */
static void log_start(int remote, const struct job *j)
{
  char num[FMT_ULONG];
  char more[FMT_ULONG];
  char rcpt[QLOG_WORD_MAX];

  num[fmt_ulong(num, (unsigned long)j->idx[0])] = '\0';
  more[fmt_ulong(more, (unsigned long)(j->count - 1))] = '\0';
  qlog("start ", j->m->qid, ".", num, remote ? " remote " : " local ",
       qlog_word(rcpt, sizeof rcpt, rcpt_addr(j->m, j->idx[0])),
       j->count > 1 ? " and " : "", j->count > 1 ? more : "", j->count > 1 ? " more" : "");
}

static void job_send(int remote, unsigned long slot, struct job *j)
{
  stralloc rec = {0};
  char num[FMT_ULONG];
  const struct queue_env *e = &j->m->env;
  size_t i;

  if (!stralloc_copys(&rec, "J") || !stralloc_catb(&rec, num, fmt_ulong(num, slot)) ||
      !stralloc_0(&rec) || !stralloc_cats(&rec, "I") || !stralloc_cats(&rec, j->m->qid) ||
      !stralloc_0(&rec) ||
      !stralloc_cats(&rec, "S") || !stralloc_cats(&rec, queue_env_str(e, e->sender)) ||
      !stralloc_0(&rec))
    qdie_nomem();
  if (remote && e->ret != (size_t)-1)
    if (!stralloc_cats(&rec, "V") || !stralloc_cats(&rec, queue_env_str(e, e->ret)) ||
        !stralloc_0(&rec))
      qdie_nomem();
  if (remote && e->envid != (size_t)-1)
    if (!stralloc_cats(&rec, "X") || !stralloc_cats(&rec, queue_env_str(e, e->envid)) ||
        !stralloc_0(&rec))
      qdie_nomem();
  for (i = 0; i < j->count; i++) {
    const struct queue_rcpt *qr = &e->rcpt[j->idx[i]];
    if (!stralloc_cats(&rec, "R") || !stralloc_cats(&rec, queue_env_str(e, qr->addr)) ||
        !stralloc_0(&rec))
      qdie_nomem();
    if (remote && qr->notify != (size_t)-1)
      if (!stralloc_cats(&rec, "N") || !stralloc_cats(&rec, queue_env_str(e, qr->notify)) ||
          !stralloc_0(&rec))
        qdie_nomem();
    if (remote && qr->orcpt != (size_t)-1)
      if (!stralloc_cats(&rec, "O") || !stralloc_cats(&rec, queue_env_str(e, qr->orcpt)) ||
          !stralloc_0(&rec))
        qdie_nomem();
  }
  if (!stralloc_0(&rec)) qdie_nomem();
  spawner_send(remote, rec.s, rec.len);
  stralloc_free(&rec);
  log_start(remote, j);
}

static int same_domain(const char *a, const char *b)
{
  const char *da = strrchr(a, '@');
  const char *db = strrchr(b, '@');

  if (da == NULL || db == NULL) return da == db;
  return strcasecmp(da + 1, db + 1) == 0;
}

/* The H record (queue.h) of recipient idx, held back until the rest of d
 * ends: "<next> <now> <fails> <reason>". */
static void hold_record(stralloc *lines, size_t idx, const struct dom *d)
{
  char rest[3 * FMT_ULONG + QUEUE_REASON_MAX + 8];
  const char *reason = d->reason != NULL ? d->reason : "destination resting after failures";
  size_t len = strlen(reason);
  size_t o;

  o = fmt_ulong(rest, (unsigned long)d->down_until);
  rest[o++] = ' ';
  o += fmt_ulong(rest + o, (unsigned long)now);
  rest[o++] = ' ';
  o += fmt_ulong(rest + o, d->fails);
  rest[o++] = ' ';
  if (len > QUEUE_REASON_MAX) len = QUEUE_REASON_MAX;
  memcpy(rest + o, reason, len);
  rest[o + len] = '\0';
  info_line(lines, 'H', idx, rest);
}

/* Starts one job for m in class remote, if m has a due recipient there.
 * Returns 1 started, 0 nothing (more) to start for m now. */
static int job_start(int remote, struct msg *m)
{
  struct class *c = &sched_classes[remote];
  struct job *j;
  unsigned long slot;
  size_t first;
  size_t i;
  struct dom *d = NULL;

  for (;;) {
    for (first = 0; first < m->env.rcpt_count; first++) {
      struct rcpt *r = &m->r[first];
      if (r->state == RCPT_PENDING && r->remote == remote && r->next <= now) break;
    }
    if (first == m->env.rcpt_count) return 0;
    if (!remote) break;

    {
      const char *addr = rcpt_addr(m, first);
      const char *at = strrchr(addr, '@');
      const char *dn = at != NULL ? at + 1 : "";
      time_t wait_until = 0;
      int resting = 0;

      d = dom_get(dn, strlen(dn));
      dom_limits(d);
      if (d->rate_max > 0 && now >= d->rate_start + DOM_RATE_WINDOW) {
        d->rate_start = now;
        d->rate_count = 0;
      }
      if (d->down_until > now) {
        wait_until = d->down_until;
        resting = 1;
      } else if (d->inflight >= d->conc_max) {
        wait_until = now + BUSY_RETRY;
      } else if (d->rate_max > 0 && d->rate_count >= d->rate_max) {
        /* its rate is used up: the next window */
        wait_until = d->rate_start + DOM_RATE_WINDOW;
      }
      if (wait_until == 0) break;
      /* the destination is resting, full or at its rate: its recipients here wait. While
       * it rests, each of them gets an H record so that qstat shows why; it
       * is looked at again only when the rest is over (next = down_until),
       * so that is one record per recipient and rest at most. */
      held_lines.len = 0;
      for (i = first; i < m->env.rcpt_count; i++) {
        struct rcpt *r = &m->r[i];
        if (r->state == RCPT_PENDING && r->remote && r->next <= now &&
            same_domain(rcpt_addr(m, i), addr)) {
          r->next = wait_until;
          if (resting) hold_record(&held_lines, i, d);
        }
      }
      if (held_lines.len > 0) info_write(m, &held_lines);
    }
  }

  slot = slot_get(c);
  if (slot == c->slots) return 0;
  j = &c->jobs[slot];
  j->m = m;
  j->dom = d;
  j->count = 0;
  j->idx = malloc((remote ? SPAWN_RCPT_MAX : 1) * sizeof *j->idx);
  if (j->idx == NULL) qdie_nomem();
  for (i = first; i < m->env.rcpt_count && j->count < (remote ? SPAWN_RCPT_MAX : 1); i++) {
    struct rcpt *r = &m->r[i];
    if (r->state != RCPT_PENDING || r->remote != remote || r->next > now) continue;
    if (remote && !same_domain(rcpt_addr(m, i), rcpt_addr(m, first))) continue;
    r->state = RCPT_INFLIGHT;
    j->idx[j->count++] = i;
  }
  m->inflight += j->count;
  if (d != NULL) {
    d->inflight++;
    d->rate_count++;
  }
  c->busy++;
  c->served++;
  job_send(remote, slot, j);
  return 1;
}

void sched_dispatch(void)
{
  int remote;

  for (remote = 0; remote < 2; remote++) {
    struct class *c = &sched_classes[remote];
    if (!spawner_usable(remote)) continue;
    while (c->busy < c->slots) {
      int from_fresh;
      struct msg *m = ready_peek(remote, &from_fresh);
      if (m == NULL) break;
      if (!job_start(remote, m)) {
        ready_pop(remote, from_fresh);
        m->fresh = 0;
        sched_place(m);
      }
    }
  }
}


void sched_init(void)
{
  sched_classes[0].slots = cfg.conc_local;
  sched_classes[1].slots = cfg.conc_remote;
  sched_classes[0].jobs = calloc(cfg.conc_local, sizeof(struct job));
  sched_classes[1].jobs = calloc(cfg.conc_remote, sizeof(struct job));
  if (sched_classes[0].jobs == NULL || sched_classes[1].jobs == NULL) qdie_nomem();
}

