/*
 * qtls_http: the two pieces of HTTP/1.1 that qmtasts reads (qtls_sts.h):
 * a header's value and chunked transfer coding.
 */
#include <string.h>
#include <strings.h>

#include "qtls_sts.h"

/* The value of header name in the head (lines after the status line),
 * its length in *vlen; NULL if absent. */
const char *http_header(const char *head, size_t hlen, const char *name, size_t *vlen)
{
  size_t nlen = strlen(name);
  size_t pos = 0;

  while (pos < hlen) {
    const char *line = head + pos;
    const char *nl = memchr(line, '\n', hlen - pos);
    size_t n = nl != NULL ? (size_t)(nl - line) : hlen - pos;

    pos += n + 1;
    if (n > 0 && line[n - 1] == '\r') n--;
    if (n > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1;
      size_t l = n - nlen - 1;

      while (l > 0 && (*v == ' ' || *v == '\t')) v++, l--;
      while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t')) l--;
      *vlen = l;
      return v;
    }
  }
  return NULL;
}

/* Undoes chunked transfer coding in place (RFC 9112 7.1). The body's
 * new length, or -1 malformed. */
long http_dechunk(char *b, size_t len)
{
  size_t in = 0;
  size_t out = 0;

  for (;;) {
    size_t size = 0;
    int digits = 0;
    const char *nl;

    while (in < len) {
      char c = b[in];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) break;
      if (++digits > 7) return -1;
      size = size * 16 + (size_t)v;
      in++;
    }
    if (digits == 0) return -1;
    nl = memchr(b + in, '\n', len - in); /* chunk extensions are skipped */
    if (nl == NULL) return -1;
    in = (size_t)(nl - b) + 1;
    if (size == 0) return (long)out;
    if (size > len - in || len - in - size < 2) return -1;
    memmove(b + out, b + in, size);
    out += size;
    in += size;
    if (b[in] == '\r') in++;
    if (in >= len || b[in] != '\n') return -1;
    in++;
  }
}
