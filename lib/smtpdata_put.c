/*
 * smtpdata_put: the message as the DATA of an SMTP or LMTP transaction
 * (smtpdata.h). Reads the queue file by offset, 64 KiB at a time.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smtpdata.h"

#define CHUNK 65536

/* Where the writer is: at the start of a line, how many octets the line
 * has on the wire so far, and whether the header has ended. */
struct wire_line {
  int bol;
  int in_header;
  size_t col;
};

/* The line is too long: it goes on in a new one, a continuation line in
 * the header (CRLF SP, RFC 5322 2.2.3), a plain line in the body.
 * 0, -2 buffer_put failed. */
static int line_break(buffer *out, struct wire_line *w)
{
  if (buffer_put(out, "\r\n", 2) == -1) return -2;
  if (w->in_header) {
    if (buffer_put(out, " ", 1) == -1) return -2;
    w->col = 1;
    w->bol = 0;
  } else {
    w->col = 0;
    w->bol = 1;
  }
  return 0;
}

/* The bytes s[0..len) of one line, none of them LF. 0, -2. */
static int line_put(buffer *out, struct wire_line *w, const char *s, size_t len, size_t wrap)
{
  while (len > 0) {
    size_t n = len;

    if (w->bol) {
      /* RFC 5321 4.5.2: a line that starts with a period gets another */
      if (s[0] == '.') {
        if (buffer_put(out, ".", 1) == -1) return -2;
        w->col = 1;
      }
      w->bol = 0;
    }
    if (wrap > 0) {
      if (w->col >= wrap && line_break(out, w) == -2) return -2;
      if (w->bol) continue; /* the new line may start with a period too */
      if (n > wrap - w->col) n = wrap - w->col;
    }
    if (buffer_put(out, s, n) == -1) return -2;
    w->col += n;
    s += n;
    len -= n;
  }
  return 0;
}

int smtpdata_put(buffer *out, int fd, off_t start, unsigned long long len, size_t wrap)
{
  char buf[CHUNK];
  unsigned long long done = 0;
  struct wire_line w = {1, 1, 0};

  while (done < len) {
    size_t want = len - done > sizeof buf ? sizeof buf : (size_t)(len - done);
    ssize_t r = pread(fd, buf, want, start + (off_t)done);
    size_t pos = 0;

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO; /* shorter than its header says */
      return -1;
    }
    while (pos < (size_t)r) {
      const char *nl = memchr(buf + pos, '\n', (size_t)r - pos);
      size_t end = nl != NULL ? (size_t)(nl - buf) : (size_t)r;

      if (w.bol && end == pos && nl != NULL) w.in_header = 0; /* the empty line */
      if (line_put(out, &w, buf + pos, end - pos, wrap) == -2) return -2;
      if (nl != NULL) {
        if (buffer_put(out, "\r\n", 2) == -1) return -2;
        w.bol = 1;
        w.col = 0;
        pos = end + 1;
      } else {
        pos = end;
      }
    }
    done += (unsigned long long)r;
  }
  if (!w.bol && buffer_put(out, "\r\n", 2) == -1) return -2;
  if (buffer_put(out, ".\r\n", 3) == -1) return -2;
  return 0;
}
