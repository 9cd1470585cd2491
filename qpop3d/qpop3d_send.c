/*
 * qpop3d_send: a message as a POP3 multi-line response (RFC 1939 3):
 * every line ends in CRLF (a bare LF gets its CR; a CRLF already there is
 * kept), a line starting with '.' gets one more '.', and ".\r\n" ends the
 * response. For TOP (RFC 1939 7) only the header, the blank line after
 * it and the first body lines are sent.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "qpop3d.h"

int pop_send_message(int fd, long long lines, unsigned long long *sent)
{
  char buf[65536];
  int at_start = 1;     /* the next byte starts a line */
  int prev_cr = 0;      /* the line so far ends in CR */
  int in_header = 1;
  size_t line_len = 0;  /* bytes of the current line, LF not counted */
  long long body = 0;   /* body lines sent */
  int stop = 0;
  unsigned long long total = 0;
  ssize_t r;

  while (!stop) {
    const char *p;
    const char *end;

    r = read(fd, buf, sizeof buf);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) return -1;
    if (r == 0) break;
    p = buf;
    end = buf + r;
    while (p < end) {
      const char *nl;
      const char *seg_end;

      if (at_start) {
        if (lines >= 0 && !in_header && body >= lines) {
          stop = 1;
          break;
        }
        if (*p == '.') {
          pop_put(".", 1);
          total++;
        }
        at_start = 0;
        prev_cr = 0;
        line_len = 0;
      }
      nl = memchr(p, '\n', (size_t)(end - p));
      seg_end = nl != NULL ? nl : end;
      if (seg_end > p) {
        pop_put(p, (size_t)(seg_end - p));
        total += (unsigned long long)(seg_end - p);
        line_len += (size_t)(seg_end - p);
        prev_cr = seg_end[-1] == '\r';
      }
      if (nl == NULL) {
        p = seg_end;
        continue;
      }
      if (!prev_cr) {
        pop_put("\r", 1);
        total++;
      }
      pop_put("\n", 1);
      total++;
      if (in_header) {
        if (line_len == 0 || (line_len == 1 && prev_cr)) in_header = 0;
      } else {
        body++;
      }
      at_start = 1;
      p = nl + 1;
    }
  }
  if (!at_start) {
    /* a last line without LF: end it, or the dot would join it */
    pop_put("\r\n", 2);
    total += 2;
  }
  pop_put(".\r\n", 3);
  *sent = total;
  return 0;
}
