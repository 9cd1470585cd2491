/*
 * qmtasts: fetches a domain's MTA-STS policy (RFC 8461 3.3) over HTTPS,
 * checks it, and prints it in a normal form.
 *
 *   qmtasts [-C cafile] [-a ip:port] [-t timeout] domain
 *
 * GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt, the server's
 * certificate verified against the system's store (or -C) and the name
 * mta-sts.DOMAIN; the answer must be 200 with media type text/plain and
 * at most 64 KiB (chunked or not); redirects are not followed. -a
 * connects to that address instead of looking the host up (tests, or a
 * proxy in front). On success, stdout gets
 *     mode MODE
 *     max_age SECONDS
 *     mx PATTERN          (one line each)
 * Exit: 0 a valid policy; 100 usage, or a policy that was fetched but is
 * not valid (RFC 8461 3.3: treated as no policy); 111 the fetch failed
 * (DNS, connection, TLS or certificate, HTTP status, time).
 * Plain POSIX and OpenSSL only: never libowfat (see qtls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "qtls_ssl.h"
#include "qtls_sts.h"

#define USAGE "qmtasts [-C cafile] [-a ip:port] [-t timeout] domain"
#define HEAD_MAX 8192               /* the status line and headers */
#define RESPONSE_MAX (HEAD_MAX + STS_BODY_MAX + 16384) /* chunk framing besides */
#define DEFAULT_TIMEOUT 60

static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

static void on_alarm(int sig)
{
  (void)sig;
  qtls_die(111, "timed out");
}

/* host into an address for connect: -a "ip:port" or "[ip6]:port". */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
  char ip[64];
  const char *colon;
  const char *end;
  unsigned int port;
  size_t n;

  if (s[0] == '[') {
    end = strchr(s, ']');
    if (end == NULL || end[1] != ':') return -1;
    colon = end + 1;
    s++;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) return -1;
    end = colon;
  }
  n = (size_t)(end - s);
  if (n == 0 || n >= sizeof ip || qtls_scan_uint(colon + 1, &port) == -1 || port > 65535)
    return -1;
  memcpy(ip, s, n);
  ip[n] = '\0';
  memset(ss, 0, sizeof *ss);
  if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)ss)->sin_port = htons((unsigned short)port);
    *len = sizeof(struct sockaddr_in);
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((unsigned short)port);
    *len = sizeof(struct sockaddr_in6);
    return 0;
  }
  return -1;
}

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd == -1) return -1;
  if (connect(fd, sa, len) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* A TCP connection to host:443, or to -a. */
static int open_conn(const char *host, const char *addr)
{
  struct addrinfo hints;
  struct addrinfo *res;
  struct addrinfo *ai;
  int fd = -1;
  int r;

  if (addr != NULL) {
    struct sockaddr_storage ss;
    socklen_t len;

    if (parse_addr(addr, &ss, &len) == -1) die_usage();
    fd = connect_to((struct sockaddr *)&ss, len);
    if (fd == -1) qtls_die_sys(111, "unable to connect to ", addr);
    return fd;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  r = getaddrinfo(host, "443", &hints, &res);
  if (r != 0) qtls_die(111, "unable to look up ", host, ": ", gai_strerror(r));
  for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
    fd = connect_to(ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(res);
  if (fd == -1) qtls_die_sys(111, "unable to connect to ", host);
  return fd;
}

static SSL *tls_open(int fd, const char *host, const char *cafile, unsigned int timeout)
{
  char err[QTLS_TEXT_MAX];
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl;

  if (ctx == NULL || qtls_ctx_setup(ctx, 0) == -1) {
    qtls_liberr(err, sizeof err);
    qtls_die(111, "unable to set up TLS: ", err);
  }
  if (cafile != NULL ? SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1
                     : qtls_ca_default(ctx) == -1) {
    qtls_liberr(err, sizeof err);
    qtls_die(111, "unable to load the trusted certificates: ", err);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  ssl = SSL_new(ctx);
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
    qtls_liberr(err, sizeof err);
    qtls_die(111, "unable to start TLS: ", err);
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) {
    qtls_liberr(err, sizeof err);
    qtls_die(111, "unable to set the host name: ", err);
  }
  if (qtls_nonblock(fd, 1) == -1) qtls_die_sys(111, "unable to use the socket");
  if (qtls_handshake(ssl, fd, fd, 0, timeout, err, sizeof err) == -1) {
    long v = SSL_get_verify_result(ssl);

    if (v != X509_V_OK)
      qtls_die(111, "certificate of ", host, " not valid: ", X509_verify_cert_error_string(v));
    qtls_die(111, "TLS with ", host, " failed: ", err);
  }
  if (qtls_nonblock(fd, 0) == -1) qtls_die_sys(111, "unable to use the socket");
  return ssl;
}

static void tls_write_all(SSL *ssl, const char *s, size_t len)
{
  while (len > 0) {
    int r = SSL_write(ssl, s, (int)len);

    if (r <= 0) qtls_die(111, "unable to send the request");
    s += r;
    len -= (size_t)r;
  }
}

/* The whole response into buf (at most RESPONSE_MAX bytes); its length. */
static size_t read_all(SSL *ssl, char *buf)
{
  size_t got = 0;

  for (;;) {
    int r = SSL_read(ssl, buf + got, (int)(RESPONSE_MAX - got));

    if (r > 0) {
      got += (size_t)r;
      if (got == RESPONSE_MAX) qtls_die(111, "response too long");
      continue;
    }
    if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN || got > 0) return got;
    qtls_die(111, "unable to read the response");
  }
}

int main(int argc, char **argv)
{
  static char buf[RESPONSE_MAX + 1];
  char host[STS_NAME_MAX + 1];
  char request[600];
  const char *cafile = NULL;
  const char *addr = NULL;
  const char *domain;
  unsigned int timeout = DEFAULT_TIMEOUT;
  struct sts_policy p;
  const char *why;
  const char *v;
  const char *body;
  char *end;
  size_t vlen;
  size_t len;
  size_t hlen;
  long blen;
  SSL *ssl;
  int fd;
  int opt;

  qtls_prog = "qmtasts";
  qtls_in_child = 1; /* a fatal error ends with _exit: what TLS holds goes with the process */
  opterr = 0;
  while ((opt = getopt(argc, argv, "C:a:t:")) != -1) {
    switch (opt) {
      case 'C': cafile = optarg; break;
      case 'a': addr = optarg; break;
      case 't': if (qtls_scan_uint(optarg, &timeout) == -1) die_usage(); break;
      default: die_usage();
    }
  }
  if (argc - optind != 1) die_usage();
  domain = argv[optind];
  len = strlen(domain);
  if (len > 0 && domain[len - 1] == '.') len--;
  if (len == 0 || len > STS_NAME_MAX - 8 || domain[0] == '.' || domain[0] == '-') die_usage();
  for (size_t i = 0; i < len; i++) {
    char c = domain[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.'))
      die_usage();
  }
  memcpy(host, "mta-sts.", 8);
  memcpy(host + 8, domain, len);
  host[8 + len] = '\0';

  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm(timeout);
  fd = open_conn(host, addr);
  ssl = tls_open(fd, host, cafile, timeout);
  request[0] = '\0';
  qtls_cat(request, sizeof request, "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: ", host,
           "\r\nUser-Agent: qmtasts\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
  tls_write_all(ssl, request, strlen(request));
  len = read_all(ssl, buf);
  buf[len] = '\0';
  alarm(0);
  {
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);

    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
  }

  /* RFC 8461 3.3: 200, text/plain, no redirects */
  end = strstr(buf, "\r\n\r\n");
  if (end == NULL || (size_t)(end - buf) > HEAD_MAX) qtls_die(111, "malformed HTTP response");
  hlen = (size_t)(end - buf);
  body = end + 4;
  if (strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || strncmp(buf + 9, "200", 3) != 0 ||
      (buf[12] != ' ' && buf[12] != '\r')) {
    char status[4] = {0};
    if (hlen >= 12) memcpy(status, buf + 9, 3);
    qtls_die(111, "HTTP status ", status[0] != '\0' ? status : "?", " from ", host,
             " (redirects are not followed)");
  }
  v = http_header(buf, hlen, "Content-Type", &vlen);
  if (v == NULL || vlen < 10 || strncasecmp(v, "text/plain", 10) != 0 ||
      (vlen > 10 && v[10] != ';' && v[10] != ' '))
    qtls_die(111, "the policy is not text/plain");
  blen = (long)(len - (size_t)(body - buf));
  v = http_header(buf, hlen, "Transfer-Encoding", &vlen);
  if (v != NULL && vlen == 7 && strncasecmp(v, "chunked", 7) == 0) {
    blen = http_dechunk(buf + (body - buf), (size_t)blen);
    if (blen < 0) qtls_die(111, "malformed chunked body");
  } else if ((v = http_header(buf, hlen, "Content-Length", &vlen)) != NULL) {
    unsigned long cl = 0;

    for (size_t i = 0; i < vlen && i < 10; i++) {
      if (v[i] < '0' || v[i] > '9') qtls_die(111, "malformed Content-Length");
      cl = cl * 10 + (unsigned long)(v[i] - '0');
    }
    if (cl > (unsigned long)blen) qtls_die(111, "the policy was cut short");
    blen = (long)cl;
  }
  if (blen > STS_BODY_MAX) qtls_die(111, "policy longer than 64 KiB");
  if (sts_parse(&p, body, (size_t)blen, &why) == -1) qtls_die(100, "invalid policy: ", why);

  {
    char out[STS_MX_MAX * (STS_NAME_MAX + 4) + 64];
    char n[QTLS_ULONG];

    out[0] = '\0';
    qtls_cat(out, sizeof out, "mode ", sts_mode_name(p.mode), "\nmax_age ",
             qtls_ulong(n, p.max_age), "\n");
    for (size_t i = 0; i < p.mx_count; i++) qtls_cat(out, sizeof out, "mx ", p.mx[i], "\n");
    if (qtls_write_all(1, out, strlen(out)) == -1) qtls_die_sys(111, "unable to write");
  }
  return 0;
}
