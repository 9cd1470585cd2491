/*
 * qinject_msg: qinject's Received: line and the CRLF to LF conversion.
 */
#include <string.h>

#include <fmt.h>

#include "qinject_msg.h"
#include "queue.h"

static size_t strcopy(char *dest, const char *s)
{
  size_t len = strlen(s);

  memcpy(dest, s, len);
  return len;
}

size_t received_line(char *line, unsigned long pid, unsigned long uid, time_t now,
                     const char *id)
{
  size_t n = 0;
  size_t d;

  n += strcopy(line + n, "Received: (qmta ");
  n += fmt_ulonglong(line + n, pid);
  n += strcopy(line + n, " invoked by uid ");
  n += fmt_ulonglong(line + n, uid);
  if (id != NULL && id[0] != '\0' && strlen(id) < QUEUE_ID_MAX) {
    n += strcopy(line + n, " id ");
    n += strcopy(line + n, id);
  }
  n += strcopy(line + n, "); ");
  d = date822_fmt(line + n, now, 0);
  if (d == 0) return 0;
  n += d;
  line[n++] = '\n';
  return n;
}

size_t crlf_strip(char *buf, size_t len, int *cr, int *lead)
{
  size_t i = 0;
  size_t w = 0;

  *lead = 0;
  if (len == 0) return 0;
  if (*cr) { /* a CR ended the previous chunk */
    *cr = 0;
    if (buf[0] != '\n') *lead = 1;
  }
  for (; i < len; i++) {
    if (buf[i] == '\r') {
      if (i + 1 == len) {
        *cr = 1;
        continue;
      }
      if (buf[i + 1] == '\n') continue;
    }
    buf[w++] = buf[i];
  }
  return w;
}
