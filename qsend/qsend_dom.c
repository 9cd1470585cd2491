/*
 * qsend_dom: per-destination state for remote deliveries, by domain: how
 * many jobs are in flight, and how long the destination rests after every
 * attempt to it failed temporarily (so one dead host does not get hammered
 * by each of its messages in turn), with the failure that made it rest
 * (qsend_sched records it for each recipient it holds back meanwhile).
 *
 * The table follows the domains in use and shrinks again: once a minute
 * dom_sweep frees every entry with no job in flight that has been neither
 * looked up nor resting for DOM_IDLE seconds. Recipients held back by a
 * rest come due when it ends and look their domain up at once, which
 * marks it used; only if they wait longer than DOM_IDLE for a free slot
 * does the entry go, and the domain then starts again at its first
 * backoff step: one early retry, nothing lost. The bucket array doubles
 * when the chains grow past two entries on average and shrinks when it is
 * mostly empty, so a lookup costs the same with ten domains or millions.
 *
 * Limits per destination (control/domainlimits, one entry a line):
 *   domain:concurrency[:rate]
 * "domain" matches itself, ".example.org" every domain below it, an empty
 * one (":5:100") every domain, the most specific entry winning, as in
 * smtproutes. concurrency: jobs to the domain at once (empty: the
 * concurrencydomain default); rate: jobs started per DOM_RATE_WINDOW
 * seconds (missing or 0: no limit). An entry learns its limits when it is
 * made and again after each reread of the settings (limits_gen).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fmt.h>
#include <scan.h>

#include "qlog.h"
#include "qsend.h"

#define DOM_BUCKETS_MIN 4096 /* a power of two */
#define DOM_IDLE 600         /* seconds an idle entry is kept after its last use or rest */
#define DOM_SWEEP_EVERY 60   /* seconds between two sweeps */

static struct dom **buckets;
static size_t bucket_count; /* a power of two; 0 before the first lookup */
static size_t entry_count;
static time_t next_sweep;

static size_t dom_hash(const char *s, size_t len)
{
  size_t h = 5381;
  size_t i;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    h = (h * 33) ^ c;
  }
  return h;
}

/* Rehashes every entry into n buckets (a power of two). Without memory
 * the old array stays: lookups get slower, nothing else changes. */
static void table_resize(size_t n)
{
  struct dom **fresh = calloc(n, sizeof *fresh);
  size_t i;

  if (fresh == NULL) return;
  for (i = 0; i < bucket_count; i++) {
    struct dom *d = buckets[i];
    while (d != NULL) {
      struct dom *next = d->next;
      size_t h = dom_hash(d->name, strlen(d->name)) & (n - 1);
      d->next = fresh[h];
      fresh[h] = d;
      d = next;
    }
  }
  free(buckets);
  buckets = fresh;
  bucket_count = n;
}

struct dom *dom_get(const char *name, size_t len)
{
  struct dom *d;
  size_t h;

  if (bucket_count == 0) {
    table_resize(DOM_BUCKETS_MIN);
    if (bucket_count == 0) qdie_nomem();
  }
  h = dom_hash(name, len) & (bucket_count - 1);
  /* name holds no NUL: a shorter entry differs at its terminator */
  for (d = buckets[h]; d != NULL; d = d->next)
    if (strncasecmp(d->name, name, len) == 0 && d->name[len] == '\0') {
      d->last_used = now;
      return d;
    }
  d = calloc(1, sizeof *d);
  if (d == NULL || (d->name = strndup(name, len)) == NULL) qdie_nomem();
  d->last_used = now;
  d->next = buckets[h];
  buckets[h] = d;
  entry_count++;
  if (entry_count / 2 > bucket_count && bucket_count < SIZE_MAX / (4 * sizeof *buckets))
    table_resize(bucket_count * 2);
  return d;
}

/* Rests d until then with reason; until 0 and reason NULL end a rest. */
void dom_rest(struct dom *d, time_t until, const char *reason)
{
  free(d->reason);
  d->reason = NULL;
  d->down_until = until;
  d->last_used = now;
  if (reason != NULL) {
    size_t len = strlen(reason);
    if (len > QUEUE_REASON_MAX) len = QUEUE_REASON_MAX;
    d->reason = strndup(reason, len); /* NULL without memory: a generic reason is used */
  }
}

/* Parses "conc[:rate]" into *conc (0 = the default) and *rate (0 = none).
 * 0 ok, -1 malformed. */
static int limits_scan(const char *s, size_t len, unsigned long *conc, unsigned long *rate)
{
  const char *colon = memchr(s, ':', len);
  size_t clen = colon != NULL ? (size_t)(colon - s) : len;
  size_t n;

  *conc = 0;
  *rate = 0;
  if (clen > 0) {
    n = scan_ulong(s, conc);
    if (n != clen || *conc == 0) return -1;
  }
  if (colon != NULL) {
    size_t rlen = len - clen - 1;
    if (rlen > 0) {
      n = scan_ulong(colon + 1, rate);
      if (n != rlen) return -1;
    }
  }
  return 0;
}

int dom_limits_parse(const char *entry, size_t len)
{
  const char *colon = memchr(entry, ':', len);
  unsigned long conc;
  unsigned long rate;

  if (colon == NULL) return -1;
  return limits_scan(colon + 1, len - (size_t)(colon - entry) - 1, &conc, &rate);
}

/* The value of the entry for key (klen bytes, any case) in the list, or NULL. */
static const char *limits_entry(const char *key, size_t klen, size_t *vlen)
{
  size_t i = 0;

  while (i < cfg.domlimits.len) {
    const char *e = cfg.domlimits.s + i;
    size_t elen = strlen(e);
    if (elen > klen && e[klen] == ':' && strncasecmp(e, key, klen) == 0) {
      *vlen = elen - klen - 1;
      return e + klen + 1;
    }
    i += elen + 1;
  }
  return NULL;
}

void dom_limits(struct dom *d)
{
  size_t dlen;
  size_t i;

  if (d->limits_gen == cfg.limits_gen && d->conc_max != 0) return;
  d->limits_gen = cfg.limits_gen;
  d->conc_max = cfg.conc_domain;
  d->rate_max = 0;
  dlen = strlen(d->name);
  /* the domain, then ".parent" for each parent, then "" */
  for (i = 0; i <= dlen; i++) {
    const char *v;
    size_t vlen;
    unsigned long conc;
    unsigned long rate;

    if (i != 0 && i != dlen && d->name[i] != '.') continue;
    v = limits_entry(d->name + i, dlen - i, &vlen);
    if (v == NULL || limits_scan(v, vlen, &conc, &rate) == -1) continue;
    if (conc != 0) d->conc_max = conc;
    d->rate_max = rate;
    return;
  }
}

static void dom_free(struct dom *d)
{
  free(d->name);
  free(d->reason);
  free(d);
}

/* Frees the entries no job holds that have been idle long enough (all of
 * them when any_age), shrinks the bucket array if it is mostly empty, and
 * logs what it did. */
static void sweep(int any_age)
{
  size_t freed = 0;
  size_t i;

  for (i = 0; i < bucket_count; i++) {
    struct dom **link = &buckets[i];
    while (*link != NULL) {
      struct dom *d = *link;
      if (d->inflight == 0 &&
          (any_age || (d->last_used + DOM_IDLE <= now && d->down_until + DOM_IDLE <= now))) {
        *link = d->next;
        dom_free(d);
        entry_count--;
        freed++;
      } else {
        link = &d->next;
      }
    }
  }
  if (bucket_count > DOM_BUCKETS_MIN && entry_count < bucket_count / 8) {
    size_t n = DOM_BUCKETS_MIN;
    while (n < entry_count) n *= 2;
    table_resize(n);
  }
  if (freed > 0) {
    char nfreed[FMT_ULONG];
    char nkept[FMT_ULONG];
    nfreed[fmt_ulong(nfreed, (unsigned long)freed)] = '\0';
    nkept[fmt_ulong(nkept, (unsigned long)entry_count)] = '\0';
    qlog("destinations: ", nfreed, " idle freed, ", nkept, " kept");
  }
}

void dom_sweep(void)
{
  if (now < next_sweep) return;
  next_sweep = now + DOM_SWEEP_EVERY;
  sweep(0);
}

/* A flush: every destination gets its chance again at once. An entry
 * without a job is then no different from a new one, so it goes. */
void dom_reset_all(void)
{
  size_t i;
  struct dom *d;

  for (i = 0; i < bucket_count; i++)
    for (d = buckets[i]; d != NULL; d = d->next) {
      d->fails = 0;
      dom_rest(d, 0, NULL);
    }
  sweep(1);
}
