/*
 * smtpload: an SMTP load generator for bench/smtp-bench.sh and
 * bench/auth-bench.sh.
 *   smtpload [-n messages] [-c connections] [-s bytes] [-p] [-1] [-m file]
 *            [-f from] [-t rcpt] host port
 * Opens c connections (one process each) and sends n messages in all,
 * each of about s bytes, one transaction after another on each
 * connection. With -p the client pipelines MAIL, RCPT and DATA in one
 * write (RFC 2920). With -1 each of the c clients opens a new connection
 * for every message (EHLO, one transaction, QUIT), as most MTAs send to
 * an MX. With -m every message is the content of file (LF or CRLF line
 * ends; sent with CRLF and dot-stuffed, nothing added: a DKIM-signed
 * message arrives as signed), instead of the generated one with its
 * Message-ID (-s is then ignored). Prints one line: messages accepted,
 * refused, seconds and messages per second. Exit 0 if every message got
 * 250, 1 if not, 100 on misuse, 111 if it cannot connect or read file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "smtpload [-n messages] [-c connections] [-s bytes] [-p] [-1] [-m file] " \
              "[-f from] [-t rcpt] host port"
#define MAX_CONN 1000
#define REPLY_MAX 4096
#define FILE_MAX (64L << 20) /* bytes of a -m file */

static const char *opt_from = "load@bench.example";
static const char *opt_to = "bob@test.example";
static int opt_pipe;
static int opt_one;       /* -1: a connection per message */
static int opt_file;      /* -m: the body is the file, as it is */

struct conn {
  int fd;
  char buf[REPLY_MAX];
  size_t len;
};

static void die_usage(void)
{
  fprintf(stderr, "smtpload: usage: %s\n", USAGE);
  exit(100);
}

static int write_all(int fd, const char *s, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, s, len);
    if (w == -1 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Reads one reply (the last line of a multi-line one); its code, -1 on error. */
static int get_reply(struct conn *c)
{
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl != NULL) {
      size_t n = (size_t)(nl - c->buf) + 1;
      int code = -1;
      int last = n >= 4 && c->buf[3] != '-';
      if (n >= 3) code = atoi(c->buf);
      memmove(c->buf, c->buf + n, c->len - n);
      c->len -= n;
      if (last) return code;
      continue;
    }
    if (c->len == sizeof c->buf) return -1;
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c->len += (size_t)r;
  }
}

static int connect_to(const char *host, const char *port)
{
  struct addrinfo hints;
  struct addrinfo *res;
  struct addrinfo *ai;
  int fd = -1;

  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      /* our writes come in pieces: no Nagle delay before the server sees them */
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      break;
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

/* Opens a connection and says EHLO: 0, or -1 */
static int session_open(struct conn *c, const char *host, const char *port, int id)
{
  char cmd[128];
  int n;

  c->len = 0;
  c->fd = connect_to(host, port);
  if (c->fd == -1) return -1;
  n = snprintf(cmd, sizeof cmd, "EHLO load%d.bench.example\r\n", id);
  if (get_reply(c) != 220 || write_all(c->fd, cmd, (size_t)n) == -1 || get_reply(c) != 250) {
    close(c->fd);
    return -1;
  }
  return 0;
}

static void session_close(struct conn *c)
{
  write_all(c->fd, "QUIT\r\n", 6);
  get_reply(c);
  close(c->fd);
}

/* One transaction: the final reply's code, or -1 when the connection broke */
static int transaction(struct conn *c, const char *body, size_t bodylen, int id, long i)
{
  char cmd[1024];
  int n;

  n = snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", opt_from, opt_to);
  if (n < 0 || (size_t)n >= sizeof cmd) return -1;
  if (opt_pipe) {
    if (write_all(c->fd, cmd, (size_t)n) == -1) return -1;
    if (get_reply(c) != 250 || get_reply(c) != 250 || get_reply(c) != 354) return -1;
  } else {
    char *rcpt = strstr(cmd, "RCPT");
    char *data = strstr(cmd, "DATA");
    if (write_all(c->fd, cmd, (size_t)(rcpt - cmd)) == -1 || get_reply(c) != 250) return -1;
    if (write_all(c->fd, rcpt, (size_t)(data - rcpt)) == -1 || get_reply(c) != 250) return -1;
    if (write_all(c->fd, data, 6) == -1 || get_reply(c) != 354) return -1;
  }
  if (!opt_file) {
    n = snprintf(cmd, sizeof cmd, "Message-ID: <%d.%ld@bench.example>\r\n", id, i);
    if (write_all(c->fd, cmd, (size_t)n) == -1) return -1;
  }
  if (write_all(c->fd, body, bodylen) == -1) return -1;
  return get_reply(c);
}

/* One client sending count messages, over one connection or (-1) one
 * connection each; returns the number accepted, -1 if it never got in. */
static long worker(const char *host, const char *port, long count, const char *body,
                   size_t bodylen, int id)
{
  struct conn c;
  long ok = 0;
  long i;

  if (session_open(&c, host, port, id) == -1) return -1;
  for (i = 0; i < count; i++) {
    int code;

    if (opt_one && i > 0 && session_open(&c, host, port, id) == -1) break;
    code = transaction(&c, body, bodylen, id, i);
    if (code == 250) ok++;
    if (code == -1) {
      close(c.fd);
      return ok;
    }
    if (opt_one) session_close(&c);
  }
  if (!opt_one) session_close(&c);
  return ok;
}

/* The file as DATA: CRLF line ends, dot-stuffed, the final ".\r\n".
 * NULL on error (message on fd 2). */
static char *load_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  struct stat st;
  char *out;
  size_t n = 0;
  int at_bol = 1;
  int ch;

  if (f == NULL || fstat(fileno(f), &st) == -1) {
    perror("smtpload: fatal: unable to read the message file");
    if (f != NULL) fclose(f);
    return NULL;
  }
  if (st.st_size > FILE_MAX) {
    fprintf(stderr, "smtpload: fatal: the message file is too long\n");
    fclose(f);
    return NULL;
  }
  /* each byte gives at most 3 (a lone "." line without LF: "..\r\n"),
   * then ".\r\n" */
  out = malloc((size_t)st.st_size * 3 + 8);
  if (out == NULL) {
    fclose(f);
    return NULL;
  }
  while ((ch = getc(f)) != EOF && n < (size_t)st.st_size * 3) {
    if (at_bol && ch == '.') out[n++] = '.';
    if (ch == '\r') continue; /* CRLF or LF in: CRLF out */
    if (ch == '\n') out[n++] = '\r';
    out[n++] = (char)ch;
    at_bol = ch == '\n';
  }
  fclose(f);
  if (!at_bol) {
    out[n++] = '\r';
    out[n++] = '\n';
  }
  memcpy(out + n, ".\r\n", 3);
  *len = n + 3;
  return out;
}

int main(int argc, char **argv)
{
  long messages = 1000;
  long conns = 10;
  long size = 4096;
  int opt;
  char *body;
  size_t bodylen;
  const char *file = NULL;
  long i;
  long accepted = 0;
  int failed = 0;
  struct timespec t0;
  struct timespec t1;
  double secs;
  int pfd[2];

  while ((opt = getopt(argc, argv, "n:c:s:p1m:f:t:")) != -1) {
    switch (opt) {
      case 'n': messages = atol(optarg); break;
      case 'c': conns = atol(optarg); break;
      case 's': size = atol(optarg); break;
      case 'p': opt_pipe = 1; break;
      case '1': opt_one = 1; break;
      case 'm': file = optarg; break;
      case 'f': opt_from = optarg; break;
      case 't': opt_to = optarg; break;
      default: die_usage();
    }
  }
  if (argc - optind != 2 || messages < 1 || conns < 1 || conns > MAX_CONN || size < 64 ||
      size > 100000000)
    die_usage();
  if (conns > messages) conns = messages;

  if (file != NULL) {
    opt_file = 1;
    body = load_file(file, &bodylen);
    if (body == NULL) return 111;
  } else {
    /* the body: header lines, then 76-character lines to about size bytes */
    body = malloc((size_t)size + 200);
    if (body == NULL) return 111;
    strcpy(body, "From: load@bench.example\r\nTo: bob@test.example\r\nSubject: load\r\n\r\n");
    while ((long)strlen(body) + 78 < size)
      strcat(body, "0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n");
    strcat(body, ".\r\n");
    bodylen = strlen(body);
  }

  if (pipe(pfd) == -1) return 111;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (i = 0; i < conns; i++) {
    long share = messages / conns + (i < messages % conns ? 1 : 0);
    pid_t pid = fork();
    if (pid == -1) return 111;
    if (pid == 0) {
      long got = worker(argv[optind], argv[optind + 1], share, body, bodylen, (int)i);
      char line[64];
      int n = snprintf(line, sizeof line, "%ld %ld\n", got, share);
      write_all(pfd[1], line, (size_t)n);
      _exit(0);
    }
  }
  close(pfd[1]);
  {
    FILE *f = fdopen(pfd[0], "r");
    long got;
    long share;
    while (f != NULL && fscanf(f, "%ld %ld", &got, &share) == 2) {
      if (got < 0) failed = 1;
      else accepted += got;
    }
  }
  while (wait(NULL) > 0) {}
  clock_gettime(CLOCK_MONOTONIC, &t1);
  secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("smtpload: accepted=%ld refused=%ld connections=%ld size=%ld pipelining=%s "
         "per_connection=%s seconds=%.3f rate=%.1f/s\n",
         accepted, messages - accepted, conns, opt_file ? (long)bodylen : size,
         opt_pipe ? "yes" : "no", opt_one ? "1" : "all", secs,
         secs > 0 ? (double)accepted / secs : 0.0);
  free(body);
  if (failed) return 111;
  return accepted == messages ? 0 : 1;
}
