/*
 * qpop3d_io: the client connection on fd 0 and fd 1, with timeouts.
 * Before the login (pop_in_bylines) input is taken a line at a time: a
 * peek finds the line end and only that much is read, so what a client
 * writes after its password stays in the socket for the session, which
 * is another process.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bflush.h"
#include "listenproto.h"
#include "line.h"
#include "qlog.h"
#include "qpop3d.h"

unsigned long pop_timeout = POP_TIMEOUT;
int pop_in_bylines;
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
  if (w > 0) listen_progress(); /* a message being sent: not idle */
  return w;
}

/* One line at most (or len bytes of one), never more: the bytes up to
 * the first line end among those waiting. -2: fd is no socket. */
static ssize_t read_line_only(int fd, char *buf, size_t len)
{
  const char *nl;
  ssize_t r;

  do {
    r = recv(fd, buf, len, MSG_PEEK);
  } while (r == -1 && errno == EINTR);
  if (r == -1 && errno == ENOTSOCK) return -2;
  if (r <= 0) return r;
  nl = memchr(buf, '\n', (size_t)r);
  len = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)r;
  do {
    r = read(fd, buf, len);
  } while (r == -1 && errno == EINTR);
  return r;
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
    bflush(&pop_out);
    pop_exit(0, "timeout");
  }
  if (p == -1) return -1;
  if (pop_in_bylines) {
    r = read_line_only(fd, buf, len);
    if (r != -2) return r;
    pop_in_bylines = 0; /* a pipe: plain reads (PASS then refuses what follows) */
  }
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
  if (bflush(&pop_out) == -1) pop_exit(0, "write error");
}

int pop_getline(char *line, size_t size, size_t *len)
{
  int r = line_get(&pop_in, line, size, len);

  if (r == -1) pop_exit(0, "read error");
  if (r == 1) {
    *len = pop_line_chomp(line, *len);
    listen_progress(); /* a command: not an idle connection for qlisten */
  }
  return r;
}

void pop_in_discard(void)
{
  pop_in.p = 0;
  pop_in.n = 0;
}

void pop_in_drop(void)
{
  char junk[4096];
  int i;

  pop_in_discard();
  for (i = 0; i < 16; i++) { /* bounded: a client that floods gets a failed handshake */
    ssize_t r = recv(0, junk, sizeof junk, MSG_DONTWAIT);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break; /* nothing more now, EOF, or no socket */
  }
  explicit_bzero(junk, sizeof junk);
}
