/*
 * dkim_buf: a growing byte buffer for the DKIM library. ISC licence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

int dkim_buf_put(struct dkim_buf *b, const char *p, size_t n)
{
  size_t need;

  if (__builtin_add_overflow(b->len, n, &need) || __builtin_add_overflow(need, 1, &need)) {
    errno = ENOMEM;
    return -1;
  }
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *s;
    while (cap < need) {
      if (__builtin_mul_overflow(cap, 2, &cap)) {
        errno = ENOMEM;
        return -1;
      }
    }
    s = realloc(b->s, cap);
    if (s == NULL) return -1;
    b->s = s;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
  return 0;
}

int dkim_buf_puts(struct dkim_buf *b, const char *s)
{
  return dkim_buf_put(b, s, strlen(s));
}

void dkim_buf_free(struct dkim_buf *b)
{
  free(b->s);
  b->s = NULL;
  b->len = 0;
  b->cap = 0;
}
