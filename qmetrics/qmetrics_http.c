/*
 * qmetrics_http: the smallest HTTP/1.1 server that Prometheus can scrape.
 * One process, one poll loop, no process or thread per request: at most
 * CLIENTS connections at once (more wait in the listen queue), a request
 * head of at most REQUEST_MAX bytes read within REQUEST_MS, then one
 * answer and the connection is closed ("Connection: close"). Only
 * "GET /metrics" (a query string is ignored) gets 200; another target
 * 404, another method 405, anything malformed or too long 400.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "qlog.h"
#include "qmetrics.h"

#define CLIENTS 16
#define REQUEST_MAX 4096   /* bytes of a request line and its headers */
#define REQUEST_MS 5000    /* to send them */
#define SEND_MS 5000       /* to take our answer */

struct client {
  int fd;
  size_t len;
  unsigned long long deadline;
  char buf[REQUEST_MAX];
};

static struct client clients[CLIENTS];

static unsigned long long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

int http_status(const char *head, size_t len)
{
  const char *end = memchr(head, '\n', len);
  const char *sp1;
  const char *sp2;
  size_t line;
  size_t i;

  if (end == NULL) return 400;
  line = (size_t)(end - head);
  if (line > 0 && head[line - 1] == '\r') line--;
  sp1 = memchr(head, ' ', line);
  if (sp1 == NULL || sp1 == head) return 400;
  sp2 = memchr(sp1 + 1, ' ', line - (size_t)(sp1 + 1 - head));
  if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/') return 400;
  if ((size_t)(head + line - (sp2 + 1)) != 8 ||
      (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
    return 400;
  for (i = 0; head + i < sp1; i++)
    if (head[i] < 'A' || head[i] > 'Z') return 400;
  for (i = 0; sp1 + 1 + i < sp2; i++)
    if ((unsigned char)sp1[1 + i] <= ' ' || (unsigned char)sp1[1 + i] >= 0x7f) return 400;
  if (sp1 - head != 3 || memcmp(head, "GET", 3) != 0) return 405;
  i = (size_t)(sp2 - (sp1 + 1));
  if ((i == 8 && !memcmp(sp1 + 1, "/metrics", 8)) || (i > 8 && !memcmp(sp1 + 1, "/metrics?", 9)))
    return 200;
  return 404;
}

/* the end of the head ("\r\n\r\n" or "\n\n") is in c's bytes? */
static int head_done(const struct client *c)
{
  return memmem(c->buf, c->len, "\r\n\r\n", 4) != NULL || memmem(c->buf, c->len, "\n\n", 2) != NULL;
}

static int write_all(int fd, const char *s, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n == -1 && errno == EINTR) continue;
    if (n <= 0) return -1;
    s += n;
    len -= (size_t)n;
  }
  return 0;
}

static void answer(struct client *c, int status, void (*refresh)(void))
{
  static stralloc body;
  stralloc head = {0};
  struct timeval tv = {SEND_MS / 1000, 0};
  const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" :
                       status == 405 ? "Method Not Allowed" : "Bad Request";
  char drain[4096];
  int flags = fcntl(c->fd, F_GETFL);

  if (status == 200) {
    refresh();
    expo_build(&body);
  } else {
    body.len = 0;
    cat(&body, reason);
    cat(&body, "\n");
  }
  cat(&head, "HTTP/1.1 ");
  catnum(&head, (unsigned long long)status);
  cat(&head, " ");
  cat(&head, reason);
  cat(&head, status == 200 ? "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                           : "\r\nContent-Type: text/plain; charset=utf-8\r\n");
  if (status == 405) cat(&head, "Allow: GET\r\n");
  cat(&head, "Content-Length: ");
  catnum(&head, body.len);
  cat(&head, "\r\nConnection: close\r\n\r\n");

  /* blocking now, within SEND_MS: Prometheus reads at once */
  if (flags != -1) fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  tv.tv_sec = 0;
  tv.tv_usec = 200000;
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (write_all(c->fd, head.s, head.len) == 0) write_all(c->fd, body.s, body.len);
  stralloc_free(&head);
  /* what the client sent beyond the head is read away, or closing with
   * unread bytes would reset the connection before it reads the answer */
  shutdown(c->fd, SHUT_WR);
  {
    int rounds;
    for (rounds = 0; rounds < 16 && read(c->fd, drain, sizeof drain) > 0; rounds++) {}
  }
  close(c->fd);
  c->fd = -1;
}

static void client_read(struct client *c, void (*refresh)(void))
{
  ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);

  if (n == -1 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(c->fd);
    c->fd = -1;
    return;
  }
  c->len += (size_t)n;
  if (head_done(c)) answer(c, http_status(c->buf, c->len), refresh);
  else if (c->len == sizeof c->buf) answer(c, 400, refresh); /* too long */
}

static void client_accept(int listen_fd)
{
  size_t i;
  int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

  if (fd == -1) return;
  for (i = 0; i < CLIENTS; i++)
    if (clients[i].fd == -1) break;
  if (i == CLIENTS) { /* cannot happen: the listening socket is not watched then */
    close(fd);
    return;
  }
  clients[i].fd = fd;
  clients[i].len = 0;
  clients[i].deadline = now_ms() + REQUEST_MS;
}

void http_serve(int listen_fd, int sig_fd, unsigned int tick_ms,
                void (*refresh)(void), void (*tick)(void))
{
  unsigned long long next_tick = now_ms() + tick_ms;
  size_t i;

  for (i = 0; i < CLIENTS; i++) clients[i].fd = -1;
  for (;;) {
    struct pollfd p[CLIENTS + 2];
    size_t who[CLIENTS + 2];
    nfds_t n = 0;
    unsigned long long now = now_ms();
    unsigned long long wake = next_tick;
    size_t busy = 0;
    int r;

    for (i = 0; i < CLIENTS; i++) {
      if (clients[i].fd == -1) continue;
      busy++;
      if (clients[i].deadline <= now) { /* too slow: no answer */
        close(clients[i].fd);
        clients[i].fd = -1;
        busy--;
        continue;
      }
      if (clients[i].deadline < wake) wake = clients[i].deadline;
      p[n].fd = clients[i].fd;
      p[n].events = POLLIN;
      who[n++] = i;
    }
    p[n].fd = sig_fd;
    p[n].events = POLLIN;
    who[n++] = CLIENTS;
    if (busy < CLIENTS) {
      p[n].fd = listen_fd;
      p[n].events = POLLIN;
      who[n++] = CLIENTS + 1;
    }
    r = poll(p, n, wake > now ? (int)(wake - now) : 0);
    if (r == -1 && errno != EINTR) qdie_sys(111, "unable to wait for events");
    for (i = 0; r > 0 && i < n; i++) {
      if (p[i].revents == 0) continue;
      if (who[i] == CLIENTS) return; /* SIGTERM */
      if (who[i] == CLIENTS + 1) client_accept(listen_fd);
      else client_read(&clients[who[i]], refresh);
    }
    if (now_ms() >= next_tick) {
      tick();
      next_tick = now_ms() + tick_ms;
    }
  }
}
