/*
 * dkim_fields: splits a message's header into its fields (RFC 5322 2.2:
 * a line that starts with SP or HTAB continues the field above). Lines
 * end in LF, with or without a CR before it. ISC licence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

int dkim_line(const char *s, size_t len, size_t i, size_t *textend, size_t *next)
{
  const char *lf = memchr(s + i, '\n', len - i);

  if (lf == NULL) {
    *textend = len;
    *next = len;
    return 0;
  }
  *textend = (size_t)(lf - s);
  *next = *textend + 1;
  if (*textend > i && s[*textend - 1] == '\r') (*textend)--;
  return 1;
}

long dkim_fields(const char *msg, size_t len, struct dkim_field **fields, size_t *nfields)
{
  struct dkim_field *f = NULL;
  size_t n = 0;
  size_t cap = 0;
  size_t i = 0;

  *fields = NULL;
  *nfields = 0;
  if (len > (size_t)__LONG_MAX__) {
    errno = ENOMEM;
    return -1;
  }
  while (i < len) {
    size_t textend;
    size_t next;
    int lf = dkim_line(msg, len, i, &textend, &next);

    if (textend == i && lf) { /* the empty line: the body follows */
      *fields = f;
      *nfields = n;
      return (long)next;
    }
    if ((msg[i] == ' ' || msg[i] == '\t') && n > 0) {
      f[n - 1].len = textend - (size_t)(f[n - 1].p - msg);
    } else {
      const char *colon = memchr(msg + i, ':', textend - i);
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 32;
        struct dkim_field *nf = reallocarray(f, ncap, sizeof *nf);
        if (nf == NULL) {
          free(f);
          return -1;
        }
        f = nf;
        cap = ncap;
      }
      f[n].p = msg + i;
      f[n].len = textend - i;
      f[n].namelen = colon != NULL ? (size_t)(colon - (msg + i)) : 0;
      n++;
    }
    i = next;
  }
  *fields = f;
  *nfields = n;
  return (long)len;
}
