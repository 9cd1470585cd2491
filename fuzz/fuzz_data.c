/*
 * fuzz_data: libFuzzer target for qsmtpd's DATA/BDAT state machine
 * (qsmtpd/qsmtpd_data.c). The first byte chooses DATA or BDAT, barelf,
 * and a chunk size; the rest is what a client sends. Checks beyond the
 * sanitizers: feeding in chunks gives the same result as feeding at once;
 * the output never holds a CR; DATA ends only right after CRLF.CRLF (or
 * ".CRLF" at the very start); a bare CR or LF is flagged unless barelf.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qsmtpd.h"

struct sink {
  unsigned char *buf;
  size_t len;
  size_t max;
};

static void put(void *cookie, const char *s, size_t len)
{
  struct sink *k = cookie;

  if (k->len + len > k->max) abort(); /* never more than came in, plus nothing */
  memcpy(k->buf + k->len, s, len);
  k->len += len;
}

static size_t run(struct smtpdata *d, struct sink *k, int mode, int barelf, const char *s,
                  size_t len, size_t chunk)
{
  size_t used = 0;

  smtpdata_init(d, mode, barelf, put, k);
  while (used < len && !d->done) {
    size_t n = len - used < chunk ? len - used : chunk;
    size_t u = smtpdata_feed(d, s + used, n);
    if (u > n) abort();
    if (u < n && !d->done) abort();
    used += u;
  }
  smtpdata_finish(d);
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct smtpdata d1;
  static struct smtpdata d2;
  struct sink k1;
  struct sink k2;
  const char *s;
  size_t len;
  size_t u1;
  size_t u2;
  int mode;
  int barelf;
  size_t chunk;

  if (size < 1 || size > 65536) return 0;
  mode = (data[0] & 1) ? DATA_RAW : DATA_DOT;
  barelf = (data[0] >> 1) & 1;
  chunk = (size_t)(data[0] >> 2) + 1;
  s = (const char *)data + 1;
  len = size - 1;
  k1.max = k2.max = len + 16;
  k1.buf = malloc(k1.max);
  k2.buf = malloc(k2.max);
  if (k1.buf == NULL || k2.buf == NULL) abort();
  k1.len = k2.len = 0;
  u1 = run(&d1, &k1, mode, barelf, s, len, len);
  u2 = run(&d2, &k2, mode, barelf, s, len, chunk);
  if (u1 != u2 || d1.done != d2.done || d1.bare != d2.bare || d1.hops != d2.hops) abort();
  if (k1.len != k2.len || memcmp(k1.buf, k2.buf, k1.len) != 0) abort();
  if (memchr(k1.buf, '\r', k1.len) != NULL) abort();
  if (d1.done) {
    if (mode != DATA_DOT) abort();
    if (!(u1 == 3 && memcmp(s, ".\r\n", 3) == 0) &&
        !(u1 >= 5 && memcmp(s + u1 - 5, "\r\n.\r\n", 5) == 0))
      abort();
  }
  if (!barelf && (memchr(s, '\n', u1) != NULL || memchr(s, '\r', u1) != NULL)) {
    /* every LF must come right after a CR, every CR right before an LF */
    size_t i;
    int bare = 0;
    for (i = 0; i < u1; i++) {
      if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) bare = 1;
      if (s[i] == '\r' && (i + 1 >= u1 || s[i + 1] != '\n') && !(i + 1 == u1 && !d1.done)) bare = 1;
    }
    if (bare && !d1.bare) abort();
  }
  free(k1.buf);
  free(k2.buf);
  return 0;
}
