/* tests/unit/t_dnsq.c: the resolver's pieces without a network: names,
 * queries, the strict answer parser, the cache, server entries; a server
 * on loopback that never answers, and one that answers NXDOMAIN and tells
 * the source port of each query (the socket kept for a loopback server,
 * made again after a fork). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnsq.h"
#include "tap.h"

static unsigned char pkt[2048];
static size_t plen;
static unsigned char qw[DNSQ_NAME_MAX];
static size_t qwlen;

static void put(const void *b, size_t n)
{
  memcpy(pkt + plen, b, n);
  plen += n;
}

static void put16(unsigned int v)
{
  unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  put(b, 2);
}

/* header + question for name/type; flags2 holds RA/AD/rcode */
static void start(const char *name, unsigned int type, unsigned int flags2, unsigned int an,
                  unsigned int ns)
{
  plen = 0;
  qwlen = dnsq_name_wire(qw, name, strlen(name));
  put16(0x1234);
  pkt[plen++] = 0x81; /* QR RD */
  pkt[plen++] = (unsigned char)flags2;
  put16(1);
  put16(an);
  put16(ns);
  put16(0);
  put(qw, qwlen);
  put16(type);
  put16(1);
}

/* a record whose owner is a pointer to the question name (offset 12) */
static void rr(unsigned int type, unsigned long ttl, const void *rdata, size_t rdlen)
{
  put16(0xc00c);
  put16(type);
  put16(1);
  put16((unsigned int)(ttl >> 16));
  put16((unsigned int)ttl);
  put16((unsigned int)rdlen);
  put(rdata, rdlen);
}

/* datagrams waiting on fd (read and dropped) */
static int drain_count(int fd)
{
  char b[512];
  int n = 0;

  while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0) n++;
  return n;
}

/* A server that never answers: the first query tries it every round; the
 * queries after it (the servers were silent) once, until one answers.
 * Counted by the datagrams it got, not by the time they took. */
/* A UDP socket on 127.0.0.1, a free port: its fd and "127.0.0.1:PORT"
 * in list, or -1 */
static int loopback_udp(char *list, size_t size)
{
  struct sockaddr_in sin;
  socklen_t sl = sizeof sin;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
      getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
    if (fd != -1) close(fd);
    return -1;
  }
  snprintf(list, size, "127.0.0.1:%u", (unsigned int)ntohs(sin.sin_port));
  return fd;
}

static void silent_server(void)
{
  struct dnsq_answer ans;
  char list[40];
  int fd = loopback_udp(list, sizeof list);
  int r;

  if (fd == -1) {
    ok(0, "a silent server on loopback");
    return;
  }
  ok(dnsq_setservers(list) == 1, "the silent server is the one server");
  dnsq_settimeout(50, 3);
  r = dnsq_query("silent.example", DNSQ_T_TXT, &ans);
  ok(r == DNSQ_TEMP && errno == ETIMEDOUT && drain_count(fd) == 3,
     "a server that never answers: every round tried, then ETIMEDOUT");
  r = dnsq_query("silent2.example", DNSQ_T_TXT, &ans);
  ok(r == DNSQ_TEMP && errno == ETIMEDOUT && drain_count(fd) == 1,
     "the next query tries the silent server once");
  dnsq_reload();
  ok(dnsq_setservers(list) == 1 && dnsq_query("silent3.example", DNSQ_T_TXT, &ans) == DNSQ_TEMP &&
     drain_count(fd) == 3, "servers set again: every round again");
  dnsq_settimeout(DNSQ_TRY_MS, DNSQ_ROUNDS);
  dnsq_reload();
  close(fd);
}

/* A server in a child: every query answered NXDOMAIN, its source port
 * written to the pipe; ends after 10 s or when the pipe closes. */
static pid_t nx_server(int *portpipe, char *list, size_t size)
{
  int p[2];
  int fd = loopback_udp(list, size);
  pid_t pid;

  if (fd == -1 || pipe(p) == -1) return -1;
  pid = fork();
  if (pid == 0) {
    unsigned char b[512];

    close(p[0]);
    alarm(10);
    for (;;) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
      unsigned short port;

      if (n < 12) continue;
      b[2] |= 0x80;               /* QR */
      b[3] = (b[3] & 0xf0) | 3;   /* NXDOMAIN */
      port = ntohs(from.sin_port);
      if (write(p[1], &port, sizeof port) != sizeof port) _exit(0);
      sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
  }
  close(fd);
  close(p[1]);
  *portpipe = p[0];
  return pid;
}

static unsigned short port_of_query(int portpipe)
{
  unsigned short port = 0;

  if (read(portpipe, &port, sizeof port) != sizeof port) return 0;
  return port;
}

static void kept_socket(void)
{
  struct dnsq_answer ans;
  char list[40];
  int pp;
  pid_t srv = nx_server(&pp, list, sizeof list);
  pid_t child;
  unsigned short p1;
  unsigned short p2;
  unsigned short pc;
  unsigned short p3;
  int st = -1;

  if (srv == -1) {
    ok(0, "a server on loopback");
    return;
  }
  ok(dnsq_setservers(list) == 1, "the answering server is the one server");
  ok(dnsq_query("one.example", DNSQ_T_TXT, &ans) == DNSQ_NXDOMAIN, "NXDOMAIN from loopback");
  dnsq_free(&ans);
  p1 = port_of_query(pp);
  ok(dnsq_query("two.example", DNSQ_T_TXT, &ans) == DNSQ_NXDOMAIN, "a second name");
  dnsq_free(&ans);
  p2 = port_of_query(pp);
  ok(p1 != 0 && p1 == p2, "a loopback server: both queries from one kept socket");
  child = fork();
  if (child == 0) _exit(dnsq_query("three.example", DNSQ_T_TXT, &ans) == DNSQ_NXDOMAIN ? 0 : 1);
  pc = port_of_query(pp);
  waitpid(child, &st, 0);
  ok(st == 0 && pc != 0 && pc != p1, "a forked child asks from a socket of its own");
  ok(dnsq_query("four.example", DNSQ_T_TXT, &ans) == DNSQ_NXDOMAIN &&
     (p3 = port_of_query(pp)) == p1, "the parent keeps its own");
  dnsq_free(&ans);
  kill(srv, SIGTERM);
  waitpid(srv, NULL, 0);
  close(pp);
  dnsq_reload();
}

int main(void)
{
  struct dnsq_answer ans;
  struct dnsq_answer copy;
  unsigned char w[DNSQ_NAME_MAX];
  unsigned char q[12 + DNSQ_NAME_MAX + 4 + 11];
  struct sockaddr_storage sa;
  char long_label[80];

  plan(49);

  /* names */
  ok(dnsq_name_wire(w, "example.org", 11) == 13 && memcmp(w, "\7example\3org\0", 13) == 0,
     "name in wire form");
  ok(dnsq_name_wire(w, "example.org.", 12) == 13, "final dot ignored");
  ok(dnsq_name_wire(w, "a..b", 4) == 0, "empty label refused");
  memset(long_label, 'a', 64);
  memcpy(long_label + 64, ".org", 5);
  ok(dnsq_name_wire(w, long_label, 68) == 0, "label of 64 bytes refused");
  ok(dnsq_name_wire(w, long_label + 1, 67) == 69, "label of 63 bytes taken");

  /* query */
  qwlen = dnsq_name_wire(qw, "example.org", 11);
  ok(dnsq_build(q, 0xabcd, qw, qwlen, DNSQ_T_TXT, 1) == 12 + 13 + 4 + 11, "query with OPT");
  ok(q[0] == 0xab && q[1] == 0xcd && q[2] == 0x01 && q[3] == 0x20 && q[11] == 1,
     "id, RD, AD, ARCOUNT 1");
  ok(q[29] == 0 && q[31] == DNSQ_T_OPT && q[32] == (DNSQ_UDP_PAYLOAD >> 8) &&
     q[33] == (DNSQ_UDP_PAYLOAD & 0xff), "OPT announces 1232 bytes");
  ok(dnsq_build(q, 1, qw, qwlen, DNSQ_T_A, 0) == 12 + 13 + 4 && q[11] == 0, "query without OPT");

  /* TXT: strings of one record joined, records apart, AD read */
  start("example.org", DNSQ_T_TXT, 0xa0, 2, 0);
  rr(DNSQ_T_TXT, 300, "\6v=spf1\4 -all", 12);
  rr(DNSQ_T_TXT, 60, "\3abc", 4);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_OK, "TXT answer");
  ok(ans.count == 2 && ans.rr[0].len == 10 && memcmp(ans.rr[0].data, "v=spf1 -all", 10) == 0,
     "strings of one record joined");
  ok(ans.rr[1].len == 3 && strcmp(ans.rr[1].data, "abc") == 0, "second record apart");
  ok(ans.ad == 1 && ans.ttl == 60, "AD bit and smallest TTL");
  ok(dnsq_copy(&copy, &ans) == 0 && copy.count == 2 &&
     strcmp(copy.rr[1].data, "abc") == 0 && copy.rr[1].data != ans.rr[1].data, "copy rebased");
  dnsq_free(&copy);
  dnsq_cache_put(qw, qwlen, DNSQ_T_TXT, &ans);
  dnsq_free(&ans);
  qwlen = dnsq_name_wire(w, "EXAMPLE.org", 11);
  ok(dnsq_cache_get(w, qwlen, DNSQ_T_TXT, &ans) == 1 && ans.count == 2, "cache hit, any case");
  dnsq_free(&ans);
  ok(dnsq_cache_get(w, qwlen, DNSQ_T_A, &ans) == 0, "cache miss for another type");
  dnsq_cache_clear();
  ok(dnsq_cache_get(w, qwlen, DNSQ_T_TXT, &ans) == 0, "cache cleared");

  /* TXT string running past its record */
  start("example.org", DNSQ_T_TXT, 0x80, 1, 0);
  rr(DNSQ_T_TXT, 300, "\7abc", 4);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP && errno == EPROTO,
     "string past the record: malformed");
  /* RDLENGTH past the packet */
  start("example.org", DNSQ_T_TXT, 0x80, 1, 0);
  rr(DNSQ_T_TXT, 300, "\3abc", 4);
  ok(dnsq_parse(pkt, plen - 1, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP && errno == EPROTO,
     "record past the packet: malformed");
  /* more records announced than present */
  start("example.org", DNSQ_T_TXT, 0x80, 2, 0);
  rr(DNSQ_T_TXT, 300, "\3abc", 4);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP, "missing record");

  /* compression: a pointer onto itself, a pointer forwards */
  start("example.org", DNSQ_T_PTR, 0x80, 1, 0);
  {
    size_t at = plen;
    put16(0xc000 | (unsigned int)at); /* owner points at itself */
    put16(DNSQ_T_PTR);
    put16(1);
    put16(0);
    put16(60);
    put16(2);
    put16(0xc00c);
  }
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_PTR, &ans) == DNSQ_TEMP && errno == EPROTO,
     "pointer loop refused");
  start("example.org", DNSQ_T_PTR, 0x80, 1, 0);
  rr(DNSQ_T_PTR, 60, "\xc0\x30", 2);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_PTR, &ans) == DNSQ_TEMP, "forward pointer refused");
  start("example.org", DNSQ_T_PTR, 0x80, 1, 0);
  rr(DNSQ_T_PTR, 60, "\4mail\xc0\x0c", 7);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_PTR, &ans) == DNSQ_OK &&
     strcmp(ans.rr[0].data, "mail.example.org") == 0, "PTR name through a pointer");
  dnsq_free(&ans);

  /* MX, A, AAAA */
  start("example.org", DNSQ_T_MX, 0x80, 1, 0);
  rr(DNSQ_T_MX, 60, "\0\12\2mx\xc0\x0c", 7);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_MX, &ans) == DNSQ_OK && ans.rr[0].pref == 10 &&
     strcmp(ans.rr[0].data, "mx.example.org") == 0, "MX preference and name");
  dnsq_free(&ans);
  start("example.org", DNSQ_T_A, 0x80, 1, 0);
  rr(DNSQ_T_A, 60, "\300\0\2\1", 4);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_A, &ans) == DNSQ_OK && ans.rr[0].len == 4 &&
     memcmp(ans.rr[0].data, "\300\0\2\1", 4) == 0 && ans.ad == 0, "A record");
  dnsq_free(&ans);
  start("example.org", DNSQ_T_A, 0x80, 1, 0);
  rr(DNSQ_T_A, 60, "\300\0\2", 3);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_A, &ans) == DNSQ_TEMP, "A of 3 bytes refused");
  start("example.org", DNSQ_T_TLSA, 0x80, 1, 0);
  rr(DNSQ_T_TLSA, 60, "\3\1\1\xaa\xbb", 5);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TLSA, &ans) == DNSQ_OK && ans.rr[0].len == 5 &&
     memcmp(ans.rr[0].data, "\3\1\1\xaa\xbb", 5) == 0, "TLSA as raw RDATA");
  dnsq_free(&ans);

  /* CNAME then the data at the target; a record of another owner ignored */
  start("www.example.org", DNSQ_T_A, 0x80, 3, 0);
  rr(DNSQ_T_CNAME, 60, "\4host\xc0\x10", 7);
  put16(0xc000 | 45); /* owner: host.example.org, the CNAME's RDATA */
  put16(DNSQ_T_A);
  put16(1);
  put16(0);
  put16(30);
  put16(4);
  put("\1\2\3\4", 4);
  rr(DNSQ_T_A, 60, "\5\6\7\10", 4);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_A, &ans) == DNSQ_OK && ans.count == 1 &&
     memcmp(ans.rr[0].data, "\1\2\3\4", 4) == 0 && ans.ttl == 30, "CNAME followed");
  dnsq_free(&ans);

  /* rcodes */
  start("example.org", DNSQ_T_TXT, 0x83, 0, 0);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_NXDOMAIN, "NXDOMAIN");
  dnsq_free(&ans);
  start("example.org", DNSQ_T_TXT, 0x80, 0, 1);
  put16(0xc00c);
  put16(DNSQ_T_SOA);
  put16(1);
  put16(0);
  put16(900);
  put16(2 + 20);
  put("\0\0", 2);
  put("\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\1\54", 20); /* minimum 300 */
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_NODATA && ans.ttl == 300,
     "NOERROR without data, SOA minimum as TTL");
  dnsq_free(&ans);
  start("example.org", DNSQ_T_TXT, 0x82, 0, 0);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP && errno == EAGAIN,
     "SERVFAIL is temporary");
  start("example.org", DNSQ_T_TXT, 0x81, 0, 0);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP && errno == EINVAL,
     "FORMERR told apart");
  start("example.org", DNSQ_T_TXT, 0x80, 0, 0);
  qwlen = dnsq_name_wire(qw, "example.com", 11);
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP && errno == EPROTO,
     "answer to another question refused");
  pkt[2] = 0x01;
  ok(dnsq_parse(pkt, plen, qw, qwlen, DNSQ_T_TXT, &ans) == DNSQ_TEMP, "a query is no answer");

  /* server entries */
  ok(dnsq_server_parse(&sa, sizeof sa, "127.0.0.1", 9) == sizeof(struct sockaddr_in) &&
     ntohs(((struct sockaddr_in *)&sa)->sin_port) == 53, "IPv4, port 53");
  ok(dnsq_server_parse(&sa, sizeof sa, "127.0.0.1:5353", 14) != 0 &&
     ntohs(((struct sockaddr_in *)&sa)->sin_port) == 5353, "IPv4:PORT");
  ok(dnsq_server_parse(&sa, sizeof sa, "[::1]:5353", 10) == sizeof(struct sockaddr_in6) &&
     ntohs(((struct sockaddr_in6 *)&sa)->sin6_port) == 5353, "[IPv6]:PORT");
  ok(dnsq_server_parse(&sa, sizeof sa, "2001:db8::1", 11) == sizeof(struct sockaddr_in6),
     "bare IPv6");
  ok(dnsq_server_parse(&sa, sizeof sa, "1.2.3.4:0", 9) == 0 &&
     dnsq_server_parse(&sa, sizeof sa, "host:53", 7) == 0, "bad entries refused");

  silent_server();
  kept_socket();
  return done_testing();
}
