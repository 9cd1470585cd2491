/*
 * line_get: one line from a libowfat buffer, bounded by the caller's
 * array. Unlike buffer_get_token it tells an empty line from EOF, and it
 * never grows memory: a line that does not fit is read to its end and
 * dropped (-2), so that the next call starts at the next line.
 */
#include <string.h>
#include "line.h"

int line_get(buffer *b, char *line, size_t size, size_t *len)
{
  size_t got = 0;
  int toolong = 0;

  *len = 0;
  for (;;) {
    ssize_t r = buffer_feed(b);
    const char *p;
    const char *nl;
    size_t n;

    if (r == -1) return -1;
    if (r == 0) {
      if (toolong) return -2;
      if (got == 0) return 0;
      *len = got;
      return 1;
    }

    p = buffer_peek(b);
    nl = memchr(p, '\n', (size_t)r);
    n = (nl != NULL) ? (size_t)(nl - p) + 1 : (size_t)r;
    if (!toolong) {
      if (n <= size - got) {
        memcpy(line + got, p, n);
        got += n;
      } else {
        toolong = 1;
      }
    }
    buffer_seek(b, n);

    if (nl != NULL) {
      if (toolong) return -2;
      *len = got;
      return 1;
    }
  }
}
