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
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fmt.h>

#include "qlog.h"
#include "qsend.h"

#define DOM_BUCKETS_MIN 4096 /* a power of two */
#define DOM_IDLE 600         /* seconds an idle entry is kept after its last use or rest */
#define DOM_SWEEP_EVERY 60   /* seconds between two sweeps */

static struct dom **buckets;
static size_t bucket_count; /* a power of two; 0 before the first lookup */
static size_t entry_count;
static time_t next_sweep;

static void die_nomem(void)
{
  qdie(111, "out of memory");
}

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
    if (bucket_count == 0) die_nomem();
  }
  h = dom_hash(name, len) & (bucket_count - 1);
  /* name holds no NUL: a shorter entry differs at its terminator */
  for (d = buckets[h]; d != NULL; d = d->next)
    if (strncasecmp(d->name, name, len) == 0 && d->name[len] == '\0') {
      d->last_used = now;
      return d;
    }
  d = calloc(1, sizeof *d);
  if (d == NULL || (d->name = strndup(name, len)) == NULL) die_nomem();
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
