/*
 * tlsd_line: one answer line from qtlsd, and the names in a "Y" line
 * (tlsd.h). The line is read a byte at a time: what follows it on the
 * connection is the session's plaintext, which must stay unread here.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "tlsd.h"

ssize_t tlsd_line(int fd, char *line, size_t size, unsigned int timeout)
{
  size_t n = 0;
  int ms = timeout > 2000000 ? 2000000000 : (int)timeout * 1000;

  while (n + 1 < size) {
    struct pollfd p;
    ssize_t r;
    int pr;

    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    pr = poll(&p, 1, ms);
    if (pr == -1 && errno == EINTR) continue;
    if (pr <= 0) return -1;
    r = read(fd, line + n, 1);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (line[n] == '\n') {
      line[n] = '\0';
      return (ssize_t)n;
    }
    n++;
  }
  return -1;
}

/* Copies the next blank-separated word of s into dst (cleaned, cut). */
static const char *word(const char *s, char *dst, size_t max)
{
  size_t n = 0;

  while (*s == ' ') s++;
  while (*s != '\0' && *s != ' ') {
    unsigned char c = (unsigned char)*s++;
    if (n + 1 < max) dst[n++] = (c < 0x21 || c > 0x7e || c == '(' || c == ')') ? '?' : (char)c;
  }
  dst[n] = '\0';
  return s;
}

void tlsd_names(const char *line, char *proto, size_t psize, char *cipher, size_t csize)
{
  const char *p = line;

  if (*p == 'Y') p++;
  p = word(p, proto, psize);
  word(p, cipher, csize);
}
