/*
 * qremote_wire: the connection to the destination's server, and the
 * one-line texts made of its replies and of our own failures
 * (qremote_smtp.h). Reads flush pending output first, which is what makes
 * pipelining (RFC 2920) work; every read and write waits at most the
 * connection's timeout; the first failure marks the connection broken.
 *
 * Every result text is one line. A reply of the server reads
 *   "HOST [IP] said: 550 5.1.1 text"
 * and our own reasons start with an enhanced status code (RFC 3463):
 *   "4.4.1 HOST [IP]: unable to connect: Connection refused"
 * qsend_dsn.c relies on these two shapes for Status, Remote-MTA and
 * Diagnostic-Code.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "bflush.h"
#include "qremote_smtp.h"

#define HELPER_EXIT_WAIT 50   /* tenths of a second for qtls-client to exit */

/* ---- texts ---- */

/* Every text we hand back is one line of at most SMTP_TEXT_MAX bytes. */
int text_set(stralloc *sa, const char *a, const char *b, const char *c, const char *d)
{
  const char *parts[4] = {a, b, c, d};

  sa->len = 0;
  for (size_t k = 0; k < 4; ++k) {
    if (parts[k] == NULL) continue;
    for (const char *p = parts[k]; *p != '\0' && sa->len < SMTP_TEXT_MAX; ++p) {
      char ch = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
      if (!stralloc_append(sa, &ch)) return -1;
    }
  }
  return 0;
}

/* "HOST [IP]"; a host that is an address literal ([192.0.2.1]) says it alone */
const char *host_label(const struct conn *cn)
{
  static char label[sizeof cn->host_name + IP_FMT_MAX + 4];
  size_t n = 0;

  n += fmt_str(label + n, cn->host_name);
  if (cn->host_name[0] == '[') {
    label[n] = '\0';
    return label;
  }
  n += fmt_str(label + n, " [");
  n += fmt_str(label + n, cn->ip_text);
  n += fmt_str(label + n, "]");
  label[n] = '\0';
  return label;
}

/* failtext = "STATUS HOST [IP]: what[: detail]" */
void fail_local(struct conn *cn, const char *status, const char *what, const char *detail)
{
  stralloc tail = {0};

  if (text_set(&tail, what, detail != NULL ? ": " : NULL, detail, NULL) == -1) tail.len = 0;
  if (!stralloc_0(&tail)) {
    stralloc_free(&tail);
    text_set(&cn->failtext, status, " out of memory", NULL, NULL);
    return;
  }
  text_set(&cn->failtext, status, " ", host_label(cn), ": ");
  for (size_t k = 0; tail.s[k] != '\0' && cn->failtext.len < SMTP_TEXT_MAX; ++k)
    if (!stralloc_append(&cn->failtext, tail.s + k)) break;
  stralloc_free(&tail);
}

/* failtext = "HOST [IP] said: REPLY" */
void fail_reply(struct conn *cn)
{
  if (!stralloc_0(&cn->reply)) return;
  --cn->reply.len;
  text_set(&cn->failtext, host_label(cn), " said: ", cn->reply.s, NULL);
}

void fail_net(struct conn *cn)
{
  fail_local(cn, "4.4.2", "connection lost", errno == 0 ? "end of file" : strerror(errno));
}

/* ---- the connection ---- */

/* libowfat calls a buffer's op with the buffer itself as the cookie
 * (buffer_feed, buffer_flush), bflush with b->cookie, which wire_attach
 * sets to the buffer too: either way the op finds its connection. */
static struct conn *conn_of(void *cookie, size_t offset)
{
  return (struct conn *)(void *)((char *)cookie - offset);
}

/* Waits until fd is ready for events. 0, or -1 with the connection
 * broken (errno ETIMEDOUT after cn->timeout seconds). */
static int ready_wait(struct conn *cn, int fd, short events)
{
  int w = net_wait(fd, events, cn->timeout);

  if (w == 1) return 0;
  if (w == 0) errno = ETIMEDOUT;
  cn->broken = 1;
  return -1;
}

static ssize_t net_read(int fd, char *buf, size_t len, void *cookie)
{
  struct conn *cn = conn_of(cookie, offsetof(struct conn, in));

  if (cn->broken) return -1;
  if (bflush(&cn->out) == -1) {
    cn->broken = 1;
    return -1;
  }
  for (;;) {
    ssize_t r;

    if (ready_wait(cn, fd, POLLIN) == -1) return -1;
    r = read(fd, buf, len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      if (r == 0) errno = 0;
      cn->broken = 1;
    }
    return r;
  }
}

static ssize_t net_write(int fd, const char *buf, size_t len, void *cookie)
{
  struct conn *cn = conn_of(cookie, offsetof(struct conn, out));

  if (cn->broken) return -1;
  for (;;) {
    ssize_t r;

    if (ready_wait(cn, fd, POLLOUT) == -1) return -1;
    r = send(fd, buf, len, MSG_NOSIGNAL);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == -1) cn->broken = 1;
    return r;
  }
}

void wire_attach(struct conn *cn, int fd)
{
  cn->fd = fd;
  cn->broken = 0;
  buffer_init(&cn->in, net_read, fd, cn->in_space, sizeof cn->in_space);
  buffer_init(&cn->out, net_write, fd, cn->out_space, sizeof cn->out_space);
  cn->in.cookie = &cn->in;
  cn->out.cookie = &cn->out;
}

void wire_close(struct conn *cn)
{
  if (cn->fd != -1) close(cn->fd);
  cn->fd = -1;
  cn->tls = 0;
  if (cn->tls_pid != -1) {
    int status;
    int waited = 0;

    /* qtls-client sends close_notify and exits once the server closes */
    while (waitpid(cn->tls_pid, &status, WNOHANG) == 0) {
      if (waited++ == HELPER_EXIT_WAIT) {
        kill(cn->tls_pid, SIGTERM);
        while (waitpid(cn->tls_pid, &status, 0) == -1 && errno == EINTR) {}
        break;
      }
      poll(NULL, 0, 100);
    }
    cn->tls_pid = -1;
  }
}

void wire_put(struct conn *cn, const char *s, size_t len)
{
  if (buffer_put(&cn->out, s, len) == -1) cn->broken = 1;
}

void wire_puts(struct conn *cn, const char *s)
{
  wire_put(cn, s, strlen(s));
}

int wire_flush(struct conn *cn)
{
  if (cn->broken || bflush(&cn->out) == -1) {
    cn->broken = 1;
    return -1;
  }
  return 0;
}

/* Reads one reply. Its code (200...599), or -1: the connection is broken
 * (errno) or the server spoke nonsense (errno EPROTO). */
int wire_reply(struct conn *cn)
{
  int code = smtp_reply_read(&cn->in, &cn->reply, &cn->reply_lines);

  if (code == -1) cn->broken = 1;
  return code;
}

/* Sends a command and reads its reply. */
int wire_command(struct conn *cn, const char *s)
{
  wire_puts(cn, s);
  wire_puts(cn, "\r\n");
  return wire_reply(cn);
}
