/*
 * qpop3d_io: the client connection on fd 0 and fd 1, with timeouts.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"
#include "qlog.h"
#include "qpop3d.h"

unsigned long pop_timeout = POP_TIMEOUT;
void (*pop_io_end)(const char *why);

static int wait_fd(int fd, short events)
{
  struct pollfd p;
  int r;
  int ms = pop_timeout > 86400 ? 86400000 : (int)pop_timeout * 1000;

  p.fd = fd;
  p.events = events;
  do {
    r = poll(&p, 1, ms);
  } while (r == -1 && errno == EINTR);
  return r;
}

void pop_exit(int code, const char *why)
{
  if (pop_io_end != NULL) pop_io_end(why);
  _exit(code);
}

static ssize_t net_write(int fd, const char *buf, size_t len, void *cookie)
{
  ssize_t w;
  int r;

  (void)cookie;
  r = wait_fd(fd, POLLOUT);
  if (r == 0) pop_exit(0, "timeout");
  if (r == -1) return -1;
  do {
    w = write(fd, buf, len);
  } while (w == -1 && errno == EINTR);
  return w;
}

static ssize_t net_read(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;
  int p;

  (void)cookie;
  pop_flush();
  p = wait_fd(fd, POLLIN);
  if (p == 0) {
    /* RFC 1939 3: the autologout timer; no UPDATE state */
    pop_puts("-ERR autologout: idle too long\r\n");
    buffer_flush(&pop_out);
    pop_exit(0, "timeout");
  }
  if (p == -1) return -1;
  do {
    r = read(fd, buf, len);
  } while (r == -1 && errno == EINTR);
  return r;
}

static char inbuf[4096];
static char outbuf[16384];
buffer pop_in = BUFFER_INIT(net_read, 0, inbuf, sizeof inbuf);
buffer pop_out = BUFFER_INIT(net_write, 1, outbuf, sizeof outbuf);

void pop_put(const char *s, size_t len)
{
  if (buffer_put(&pop_out, s, len) == -1) pop_exit(0, "write error");
}

void pop_puts(const char *s)
{
  pop_put(s, strlen(s));
}

void pop_flush(void)
{
  if (buffer_flush(&pop_out) == -1) pop_exit(0, "write error");
}

int pop_getline(char *line, size_t size, size_t *len)
{
  int r = line_get(&pop_in, line, size, len);

  if (r == -1) pop_exit(0, "read error");
  if (r == 1) {
    if (*len > 0 && line[*len - 1] == '\n') --*len;
    if (*len > 0 && line[*len - 1] == '\r') --*len;
  }
  return r;
}

void pop_in_discard(void)
{
  pop_in.p = 0;
  pop_in.n = 0;
}

void pop_cmd_parse(struct pop_cmd *c, char *line, size_t len)
{
  size_t i;
  size_t w = 0;

  /* the caller's array has room: len < POP_MAX_CMDLINE */
  line[len] = '\0';
  for (i = 0; i < len && line[i] != ' '; i++) {
    if (w + 1 < sizeof c->word) {
      char ch = line[i];
      if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
      c->word[w++] = ch;
    } else {
      w = 0;
      break;
    }
  }
  c->word[w] = '\0';
  if (w == 0) c->word[0] = '\0';
  c->arg = i < len ? line + i + 1 : "";
}

int pop_scan_number(const char *s, unsigned long *n)
{
  unsigned long v = 0;
  size_t i;

  if (s[0] < '0' || s[0] > '9') return 0;
  for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
    if (__builtin_mul_overflow(v, 10UL, &v) ||
        __builtin_add_overflow(v, (unsigned long)(s[i] - '0'), &v))
      return 0;
  }
  if (s[i] != '\0') return 0;
  *n = v;
  return 1;
}
