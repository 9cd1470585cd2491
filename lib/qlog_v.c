/*
 * qlog_v: the one place that builds a log line. The line is assembled in
 * a fixed buffer of QLOG_MAX bytes and written to fd 2 with one write(2),
 * so that lines of concurrent processes never interleave (QLOG_MAX is
 * below PIPE_BUF). Every byte below 0x20 and 0x7f becomes '?': text that
 * comes from the network can never start a forged log line.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include "qlog.h"

struct qline {
  char s[QLOG_MAX];
  size_t len;
};

static void qline_cat(struct qline *q, const char *s)
{
  /* one byte is kept for the final '\n' */
  while (*s != '\0' && q->len < QLOG_MAX - 1) {
    unsigned char c = (unsigned char)*s++;
    q->s[q->len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
}

void qlog_v(const char *kind, int err, const char *s, va_list ap)
{
  struct qline q;
  const char *p;
  size_t done;
  int saved = errno;

  q.len = 0;
  if (kind == NULL && qlog_tag != NULL) {
    /* raw: the one place a control byte may reach a line, from a constant */
    size_t n = strlen(qlog_tag);
    if (n > 8) n = 8;
    memcpy(q.s, qlog_tag, n);
    q.len = n;
  }
  qline_cat(&q, qlog_prog != NULL ? qlog_prog : "qmta");
  qline_cat(&q, ": ");
  if (kind != NULL) qline_cat(&q, kind);

  for (p = s; p != NULL; p = va_arg(ap, const char *)) qline_cat(&q, p);

  if (err != 0) {
    qline_cat(&q, ": ");
    qline_cat(&q, strerror(err));
  }
  q.s[q.len++] = '\n';

  done = 0;
  while (done < q.len) {
    ssize_t w = write(2, q.s + done, q.len - done);
    if (w == -1) {
      if (errno == EINTR) continue;
      break;
    }
    done += (size_t)w;
  }
  errno = saved;
}
