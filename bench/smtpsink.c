/*
 * smtpsink: a fast SMTP sink for the relay benchmark. One process, poll(),
 * many connections; accepts every message and keeps none. It writes one
 * line per transaction to LOGFILE: "from SENDER rcpts N bytes B conn C".
 * It speaks just enough ESMTP for an MTA's client: EHLO/HELO, MAIL, RCPT,
 * DATA (dot-stuffed, CRLF.CRLF), RSET, NOOP, QUIT, with PIPELINING and
 * 8BITMIME offered (no STARTTLS, no AUTH, no BDAT). It is a benchmark
 * tool, not a server: it trusts its clients.
 *
 *   smtpsink IP PORT LOGFILE
 * Prints "ready" on stdout once listening; runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONN_MAX 1024
#define LINE_MAX_LEN 4096
#define ADDR_LEN 512

struct conn {
  int fd;
  int in_data;
  unsigned long id;
  unsigned long rcpts;
  unsigned long long bytes;
  char from[ADDR_LEN];
  char line[LINE_MAX_LEN];
  size_t len;
  char out[8192];
  size_t outlen;
};

static struct conn *conns[CONN_MAX];
static FILE *sinklog;

static void die(const char *what)
{
  fprintf(stderr, "smtpsink: fatal: %s: %s\n", what, strerror(errno));
  exit(111);
}

static void reply(struct conn *c, const char *s)
{
  size_t n = strlen(s);
  if (c->outlen + n > sizeof c->out) return; /* a client this far behind gets less */
  memcpy(c->out + c->outlen, s, n);
  c->outlen += n;
}

static void flush_out(struct conn *c)
{
  size_t off = 0;

  while (off < c->outlen) {
    ssize_t w = write(c->fd, c->out + off, c->outlen - off);
    if (w == -1) {
      if (errno == EINTR) continue;
      break;
    }
    off += (size_t)w;
  }
  c->outlen = 0;
}

static void command(struct conn *c, char *line)
{
  if (strncasecmp(line, "EHLO", 4) == 0) {
    reply(c, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n");
  } else if (strncasecmp(line, "HELO", 4) == 0) {
    reply(c, "250 sink\r\n");
  } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
    char *p = line + 10;
    char *e;
    if (*p == '<') p++;
    e = strchr(p, '>');
    if (e != NULL) *e = '\0';
    snprintf(c->from, sizeof c->from, "%s", p);
    c->rcpts = 0;
    reply(c, "250 2.1.0 ok\r\n");
  } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
    c->rcpts++;
    reply(c, "250 2.1.5 ok\r\n");
  } else if (strcasecmp(line, "DATA") == 0) {
    c->in_data = 1;
    c->bytes = 0;
    reply(c, "354 go ahead\r\n");
  } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
    reply(c, "250 2.0.0 ok\r\n");
  } else if (strcasecmp(line, "QUIT") == 0) {
    reply(c, "221 2.0.0 bye\r\n");
  } else {
    reply(c, "502 5.5.2 not here\r\n");
  }
}

/* One complete line (CRLF removed). 1 when the client said QUIT. */
static int line_done(struct conn *c, char *line, size_t len)
{
  if (c->in_data) {
    if (len == 1 && line[0] == '.') {
      c->in_data = 0;
      fprintf(sinklog, "from %s rcpts %lu bytes %llu conn %lu\n", c->from, c->rcpts, c->bytes, c->id);
      fflush(sinklog);
      reply(c, "250 2.0.0 accepted\r\n");
    } else {
      c->bytes += len + 2;
    }
    return 0;
  }
  command(c, line);
  return strcasecmp(line, "QUIT") == 0;
}

/* Reads what is there; 0 keep, -1 close. */
static int conn_read(struct conn *c)
{
  char buf[65536];
  ssize_t r = read(c->fd, buf, sizeof buf);
  ssize_t i;
  int quit = 0;

  if (r == -1 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (r <= 0) return -1;
  for (i = 0; i < r; i++) {
    if (buf[i] == '\n') {
      size_t len = c->len;
      if (len > 0 && c->line[len - 1] == '\r') len--;
      c->line[len] = '\0';
      if (line_done(c, c->line, len)) quit = 1;
      c->len = 0;
      continue;
    }
    if (c->len < sizeof c->line - 1) c->line[c->len++] = buf[i];
  }
  flush_out(c);
  return quit ? -1 : 0;
}

int main(int argc, char **argv)
{
  struct sockaddr_in sa;
  struct pollfd pfd[CONN_MAX + 1];
  int idx[CONN_MAX + 1];
  unsigned long next_id = 0;
  int lfd;
  int one = 1;

  if (argc != 4) {
    fprintf(stderr, "usage: smtpsink IP PORT LOGFILE\n");
    return 100;
  }
  signal(SIGPIPE, SIG_IGN);
  sinklog = fopen(argv[3], "a");
  if (sinklog == NULL) die("unable to open the log");
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
    fprintf(stderr, "usage: smtpsink IP PORT LOGFILE\n");
    return 100;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd == -1) die("unable to create a socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) == -1) die("unable to bind");
  if (listen(lfd, 512) == -1) die("unable to listen");
  printf("ready\n");
  fflush(stdout);

  for (;;) {
    int n = 0;
    int i;

    pfd[n].fd = lfd;
    pfd[n].events = POLLIN;
    idx[n++] = -1;
    for (i = 0; i < CONN_MAX; i++) {
      if (conns[i] == NULL) continue;
      pfd[n].fd = conns[i]->fd;
      pfd[n].events = POLLIN;
      idx[n++] = i;
    }
    if (poll(pfd, (nfds_t)n, -1) == -1) {
      if (errno == EINTR) continue;
      die("unable to poll");
    }
    for (i = 0; i < n; i++) {
      if (pfd[i].revents == 0) continue;
      if (idx[i] == -1) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        int k;
        if (fd == -1) continue;
        for (k = 0; k < CONN_MAX && conns[k] != NULL; k++) {
        }
        if (k == CONN_MAX || (conns[k] = calloc(1, sizeof **conns)) == NULL) {
          close(fd);
          continue;
        }
        conns[k]->fd = fd;
        conns[k]->id = ++next_id;
        reply(conns[k], "220 sink ESMTP\r\n");
        flush_out(conns[k]);
      } else if (conn_read(conns[idx[i]]) == -1) {
        close(conns[idx[i]]->fd);
        free(conns[idx[i]]);
        conns[idx[i]] = NULL;
      }
    }
  }
}
