/*
 * qsend_dom: per-destination state for remote deliveries, by domain: how
 * many jobs are in flight, and how long the destination rests after every
 * attempt to it failed temporarily (so one dead host does not get hammered
 * by each of its messages in turn).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qlog.h"
#include "qsend.h"

#define DOM_BUCKETS 4096

static struct dom *buckets[DOM_BUCKETS];

static unsigned long dom_hash(const char *s, size_t len)
{
  unsigned long h = 5381;
  size_t i;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    h = (h * 33) ^ c;
  }
  return h % DOM_BUCKETS;
}

struct dom *dom_get(const char *name, size_t len)
{
  unsigned long h = dom_hash(name, len);
  struct dom *d;

  for (d = buckets[h]; d != NULL; d = d->next)
    if (strlen(d->name) == len && strncasecmp(d->name, name, len) == 0) return d;
  d = calloc(1, sizeof *d);
  if (d == NULL || (d->name = strndup(name, len)) == NULL) qdie(111, "out of memory");
  d->next = buckets[h];
  buckets[h] = d;
  return d;
}

void dom_reset_all(void)
{
  size_t i;
  struct dom *d;

  for (i = 0; i < DOM_BUCKETS; i++)
    for (d = buckets[i]; d != NULL; d = d->next) {
      d->fails = 0;
      d->down_until = 0;
    }
}
