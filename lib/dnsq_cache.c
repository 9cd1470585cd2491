/*
 * dnsq_cache: the resolver's cache, a few entries per process. An entry is
 * a copy of an answer (positive or negative) with the time it expires
 * (monotonic clock, the answer's TTL capped at DNSQ_TTL_MAX); when full,
 * the entry that expires first makes room. Library code (dnsq.h).
 */
#include <string.h>
#include <time.h>

#include "dnsq.h"

#define CACHE_SLOTS 32

struct slot {
  unsigned char name[DNSQ_NAME_MAX];
  size_t namelen;
  unsigned int qtype;
  time_t expires;
  struct dnsq_answer ans;
};

static struct slot cache[CACHE_SLOTS];

static time_t now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

static int same(const struct slot *s, const unsigned char *qwire, size_t len, unsigned int qtype)
{
  if (s->namelen != len || s->qtype != qtype) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char a = s->name[i];
    unsigned char b = qwire[i];
    if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
    if (a != b) return 0;
  }
  return 1;
}

int dnsq_cache_get(const unsigned char *qwire, size_t qwirelen, unsigned int qtype,
                   struct dnsq_answer *ans)
{
  time_t now = now_s();

  memset(ans, 0, sizeof *ans);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    struct slot *s = &cache[i];
    if (s->namelen == 0 || !same(s, qwire, qwirelen, qtype)) continue;
    if (s->expires <= now) {
      dnsq_free(&s->ans);
      s->namelen = 0;
      return 0;
    }
    if (dnsq_copy(ans, &s->ans) == -1) return -1;
    return 1;
  }
  return 0;
}

void dnsq_cache_put(const unsigned char *qwire, size_t qwirelen, unsigned int qtype,
                    const struct dnsq_answer *ans)
{
  struct slot *victim = &cache[0];
  time_t now = now_s();
  unsigned long ttl = ans->ttl < DNSQ_TTL_MAX ? ans->ttl : DNSQ_TTL_MAX;

  if (ttl == 0 || qwirelen == 0 || qwirelen > DNSQ_NAME_MAX) return;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    struct slot *s = &cache[i];
    if (s->namelen == 0 || s->expires <= now || same(s, qwire, qwirelen, qtype)) {
      victim = s;
      break;
    }
    if (s->expires < victim->expires) victim = s;
  }
  dnsq_free(&victim->ans);
  victim->namelen = 0;
  if (dnsq_copy(&victim->ans, ans) == -1) return;
  for (size_t i = 0; i < qwirelen; i++) {
    unsigned char b = qwire[i];
    victim->name[i] = (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32) : b;
  }
  victim->namelen = qwirelen;
  victim->qtype = qtype;
  victim->expires = now + (time_t)ttl;
}

void dnsq_cache_clear(void)
{
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    dnsq_free(&cache[i].ans);
    cache[i].namelen = 0;
  }
}
