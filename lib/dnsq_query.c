/*
 * dnsq_query: asks the configured servers (dnsq.h) over UDP with EDNS0,
 * over TCP when the answer is truncated, with a timeout per try, and keeps
 * the answers in the cache. Library code; libc only.
 * A query to a server on this host (127/8, ::1: a local resolver, the
 * setup qmta-admin(7) advises) goes over a UDP socket kept for it: no one
 * off the host can send from there, so a fixed source port risks nothing,
 * and the socket, connect and close of each query are saved (a verified
 * message asks five names). A process that forked makes its own. Any
 * other server gets a fresh socket a query: a random source port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dnsq.h"

#define RESOLVERS "control/resolvers"
#define RESOLV_CONF "/etc/resolv.conf"
#define CONF_MAX 8192         /* bytes read of either file */
#define QUERY_MAX (12 + DNSQ_NAME_MAX + 4 + 11)
#define UDP_MAX 65535
#define TCP_MAX 65535

static struct sockaddr_storage servers[DNSQ_SERVERS_MAX];
static socklen_t server_len[DNSQ_SERVERS_MAX];
static size_t server_count;
static int loaded;
static unsigned int timeout_ms = DNSQ_TRY_MS;
static unsigned int rounds = DNSQ_ROUNDS;
static unsigned int try_ms = DNSQ_TRY_MS; /* this query's per-try timeout */
static long long quiet_until;             /* ms: the servers said nothing lately */
static unsigned char packet[UDP_MAX > TCP_MAX ? UDP_MAX : TCP_MAX];
static int kept_fd[DNSQ_SERVERS_MAX]; /* the socket kept for a loopback server, + 1 */
static pid_t kept_pid;                /* the process that made them */

static void kept_drop(void)
{
  for (size_t i = 0; i < DNSQ_SERVERS_MAX; i++) {
    if (kept_fd[i] != 0) close(kept_fd[i] - 1);
    kept_fd[i] = 0;
  }
}

void dnsq_settimeout(unsigned int ms, unsigned int r)
{
  if (ms != 0) timeout_ms = ms;
  if (r != 0) rounds = r;
}

void dnsq_reload(void)
{
  kept_drop();
  loaded = 0;
  server_count = 0;
  quiet_until = 0;
}

/* ---- configuration ---- */

static size_t read_conf(const char *fn, char *buf, size_t size)
{
  int fd = open(fn, O_RDONLY | O_CLOEXEC);
  size_t n = 0;

  if (fd == -1) return 0;
  while (n < size) {
    ssize_t r = read(fd, buf + n, size - n);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  return n;
}

static void add_server(const char *s, size_t len)
{
  if (server_count == DNSQ_SERVERS_MAX) return;
  size_t l = dnsq_server_parse(&servers[server_count], sizeof servers[0], s, len);
  if (l == 0) return;
  server_len[server_count++] = (socklen_t)l;
}

static int blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* each line of buf: comment cut, trimmed; resolv.conf wants "nameserver X" */
static void read_servers(const char *buf, size_t len, int resolv)
{
  size_t pos = 0;

  while (pos < len) {
    size_t end = pos;
    size_t a = pos;
    size_t b;

    while (end < len && buf[end] != '\n') end++;
    b = end;
    for (size_t i = a; i < b; i++)
      if (buf[i] == '#' || (resolv && buf[i] == ';')) { b = i; break; }
    while (a < b && blank(buf[a])) a++;
    while (b > a && blank(buf[b - 1])) b--;
    if (resolv) {
      if (b - a > 11 && memcmp(buf + a, "nameserver", 10) == 0 && blank(buf[a + 10])) {
        a += 10;
        while (a < b && blank(buf[a])) a++;
        add_server(buf + a, b - a);
      }
    } else if (b > a) {
      add_server(buf + a, b - a);
    }
    pos = end + 1;
  }
}

static void load(void)
{
  char buf[CONF_MAX];
  size_t n;

  if (loaded) return;
  server_count = 0;
  n = read_conf(RESOLVERS, buf, sizeof buf);
  read_servers(buf, n, 0);
  if (server_count == 0) {
    n = read_conf(RESOLV_CONF, buf, sizeof buf);
    read_servers(buf, n, 1);
  }
  if (server_count == 0) add_server("127.0.0.1", 9);
  loaded = 1;
}

size_t dnsq_setservers(const char *list)
{
  size_t pos = 0;
  size_t len = strlen(list);

  kept_drop();
  server_count = 0;
  while (pos < len) {
    size_t end = pos;

    while (end < len && list[end] != ',' && !blank(list[end]) && list[end] != '\n') end++;
    if (end > pos) add_server(list + pos, end - pos);
    pos = end + 1;
  }
  loaded = server_count > 0;
  return server_count;
}

/* ---- transport ---- */

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline. 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
  struct pollfd p;

  for (;;) {
    long long left = deadline - now_ms();
    int r;

    if (left <= 0) return 0;
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return r;
    return 1;
  }
}

static int answer_id_ok(const unsigned char *p, size_t n, unsigned int id)
{
  return n >= 12 && (((unsigned int)p[0] << 8) | p[1]) == id;
}

/* 1 if sa is an address of this host only: 127/8, ::1, ::ffff:127/104 */
static int loopback(const struct sockaddr_storage *sa)
{
  static const unsigned char one[16] = {[15] = 1};
  static const unsigned char v4mapped[12] = {[10] = 0xff, [11] = 0xff};

  if (sa->ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->ss_family == AF_INET6) {
    const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    return memcmp(a, one, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
  }
  return 0;
}

/* A UDP socket connected to server s: the kept one of a loopback server
 * (*kept = 1), else a new one. -1 + errno. */
static int udp_socket(size_t s, int *kept)
{
  int fd;

  *kept = loopback(&servers[s]);
  if (*kept) {
    pid_t me = getpid();
    if (kept_pid != me) { /* forked: the parent's sockets are the parent's */
      kept_drop();
      kept_pid = me;
    }
    if (kept_fd[s] != 0) return kept_fd[s] - 1;
  }
  fd = socket(servers[s].ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1) return -1;
  if (connect(fd, (struct sockaddr *)&servers[s], server_len[s]) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (*kept) kept_fd[s] = fd + 1;
  return fd;
}

/* One try over UDP. Length of the answer in packet, 0 timed out,
 * -1 error + errno. A late answer to an earlier try that comes on a kept
 * socket is passed over (its id). */
static ssize_t try_udp(size_t s, const unsigned char *q, size_t qlen, unsigned int id)
{
  long long deadline = now_ms() + try_ms;
  int kept;
  int fd = udp_socket(s, &kept);
  ssize_t r = -1;

  if (fd == -1) return -1;
  if (send(fd, q, qlen, 0) != (ssize_t)qlen) goto done;
  for (;;) {
    int w = wait_fd(fd, POLLIN, deadline);
    if (w <= 0) {
      r = w;
      goto done;
    }
    r = recv(fd, packet, sizeof packet, 0);
    if (r == -1) {
      if (errno == EAGAIN || errno == EINTR) continue;
      goto done; /* ECONNREFUSED: nothing listens there */
    }
    if (answer_id_ok(packet, (size_t)r, id)) goto done;
  }
done:
  if (!kept || r == -1) { /* an error: the kept one is made again next time */
    int e = errno;
    close(fd);
    if (kept) kept_fd[s] = 0;
    errno = e;
  }
  return r;
}

/* all n bytes of b written to fd (writing) or read from it; 0, or -1 + errno */
static int transfer(int fd, unsigned char *b, size_t n, long long deadline, int writing)
{
  while (n > 0) {
    ssize_t r;
    int ready = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
    if (ready == 0) errno = ETIMEDOUT;
    if (ready != 1) return -1;
    r = writing ? write(fd, b, n) : read(fd, b, n);
    if (r == -1 && (errno == EAGAIN || errno == EINTR)) continue;
    if (r == 0) errno = EPROTO; /* closed before the whole answer */
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One try over TCP (RFC 7766): length-prefixed query and answer. */
static ssize_t try_tcp(size_t s, const unsigned char *q, size_t qlen, unsigned int id)
{
  long long deadline = now_ms() + try_ms;
  unsigned char len2[2];
  unsigned char query[2 + QUERY_MAX];
  size_t n;
  int fd = socket(servers[s].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ssize_t r = -1;

  if (fd == -1) return -1;
  if (connect(fd, (struct sockaddr *)&servers[s], server_len[s]) == -1 &&
      errno != EINPROGRESS)
    goto done;
  len2[0] = (unsigned char)(qlen >> 8);
  len2[1] = (unsigned char)qlen;
  memcpy(query, len2, 2);
  memcpy(query + 2, q, qlen);
  if (transfer(fd, query, qlen + 2, deadline, 1) == -1) goto done;
  if (transfer(fd, len2, 2, deadline, 0) == -1) goto done;
  n = ((size_t)len2[0] << 8) | len2[1];
  if (transfer(fd, packet, n, deadline, 0) == -1) goto done;
  if (!answer_id_ok(packet, n, id)) {
    errno = EPROTO;
    goto done;
  }
  r = (ssize_t)n;
done:
  close(fd);
  return r;
}

static unsigned int new_id(void)
{
  unsigned char b[2] = {0, 0};
  if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned int)(ts.tv_nsec ^ getpid()) & 0xffff;
  }
  return ((unsigned int)b[0] << 8) | b[1];
}

/* One server, one try: DNSQ_OK.. or DNSQ_TEMP + errno. */
static int ask(size_t s, const unsigned char *qwire, size_t qwirelen, unsigned int qtype,
               struct dnsq_answer *ans)
{
  unsigned char q[QUERY_MAX];
  int edns = 1;

  for (;;) {
    unsigned int id = new_id();
    size_t qlen = dnsq_build(q, id, qwire, qwirelen, qtype, edns);
    ssize_t n = try_udp(s, q, qlen, id);

    if (n == 0) {
      errno = ETIMEDOUT;
      return DNSQ_TEMP;
    }
    if (n == -1) return DNSQ_TEMP;
    if (packet[2] & 0x02) { /* TC: the whole answer over TCP */
      n = try_tcp(s, q, qlen, id);
      if (n == -1) return DNSQ_TEMP;
    }
    int r = dnsq_parse(packet, (size_t)n, qwire, qwirelen, qtype, ans);
    if (r == DNSQ_TEMP && errno == EINVAL && edns) { /* FORMERR: a server without EDNS0 */
      edns = 0;
      continue;
    }
    return r;
  }
}

int dnsq_query(const char *name, unsigned int qtype, struct dnsq_answer *ans)
{
  unsigned char qwire[DNSQ_NAME_MAX];
  size_t qwirelen = dnsq_name_wire(qwire, name, strlen(name));
  int r;
  int e = ETIMEDOUT;

  memset(ans, 0, sizeof *ans);
  if (qwirelen == 0) return DNSQ_BADNAME;
  r = dnsq_cache_get(qwire, qwirelen, qtype, ans);
  if (r == 1) return ans->status;
  if (r == -1) return DNSQ_TEMP;
  load();
  /* servers that let a whole query time out lately are asked once, briefly
   * (DNSQ_QUIET_TRY_MS), until one answers: a dead resolver costs the
   * first query its full timeouts, not every query after it */
  int quiet = now_ms() < quiet_until;
  unsigned int n = quiet ? 1 : rounds;
  int silent = 1; /* every try timed out */
  try_ms = quiet && timeout_ms > DNSQ_QUIET_TRY_MS ? DNSQ_QUIET_TRY_MS : timeout_ms;
  for (unsigned int round = 0; round < n; round++) {
    for (size_t s = 0; s < server_count; s++) {
      r = ask(s, qwire, qwirelen, qtype, ans);
      if (r != DNSQ_TEMP) {
        quiet_until = 0;
        dnsq_cache_put(qwire, qwirelen, qtype, ans);
        return r;
      }
      e = errno;
      if (e == ENOMEM) return DNSQ_TEMP;
      if (e != ETIMEDOUT) silent = 0;
    }
  }
  if (silent && server_count > 0) quiet_until = now_ms() + DNSQ_QUIET_MS;
  else if (!silent) quiet_until = 0; /* a server is there (SERVFAIL, refused...) */
  errno = e;
  return DNSQ_TEMP;
}

size_t dnsq_server_parse(void *sa, size_t sasize, const char *s, size_t len)
{
  char host[INET6_ADDRSTRLEN + 1];
  const char *port = NULL;
  size_t portlen = 0;
  size_t hostlen;
  unsigned long p = 53;

  if (len == 0) return 0;
  if (s[0] == '[') { /* [IPv6]:PORT or [IPv6] */
    const char *close_br = memchr(s, ']', len);
    if (close_br == NULL) return 0;
    hostlen = (size_t)(close_br - s) - 1;
    if (hostlen < sizeof host) memcpy(host, s + 1, hostlen);
    size_t rest = len - (size_t)(close_br - s) - 1;
    if (rest > 0) {
      if (close_br[1] != ':') return 0;
      port = close_br + 2;
      portlen = rest - 1;
    }
  } else {
    const char *colon = memchr(s, ':', len);
    hostlen = len;
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
      hostlen = (size_t)(colon - s); /* IPv4:PORT; two colons or more: bare IPv6 */
      port = colon + 1;
      portlen = len - hostlen - 1;
    }
    if (hostlen < sizeof host) memcpy(host, s, hostlen);
  }
  if (hostlen == 0 || hostlen >= sizeof host) return 0;
  host[hostlen] = 0;
  if (port != NULL) {
    if (portlen == 0 || portlen > 5) return 0;
    p = 0;
    for (size_t i = 0; i < portlen; i++) {
      if (port[i] < '0' || port[i] > '9') return 0;
      p = p * 10 + (unsigned long)(port[i] - '0');
    }
    if (p == 0 || p > 65535) return 0;
  }
  if (memchr(host, ':', hostlen) != NULL) {
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((unsigned short)p);
    if (inet_pton(AF_INET6, host, &a6.sin6_addr) != 1 || sasize < sizeof a6) return 0;
    memcpy(sa, &a6, sizeof a6);
    return sizeof a6;
  }
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons((unsigned short)p);
  if (inet_pton(AF_INET, host, &a4.sin_addr) != 1 || sasize < sizeof a4) return 0;
  memcpy(sa, &a4, sizeof a4);
  return sizeof a4;
}
