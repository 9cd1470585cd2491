/*
 * qsmtpd_dns: the client's host name, forward-confirmed (FCrDNS).
 *
 * The PTR record of an address is written by whoever owns the address, so
 * a name from it alone proves nothing: "mail.example.org" is only the
 * client's name when the A (IPv4) or AAAA (IPv6) records of that name
 * hold the client's address again. qsmtpd asks for it only when
 * control/access has host-name keys (access_hostkeys), at connection
 * time, before the greeting.
 *
 * The queries go through lib/dnsq, as SPF's do, under one deadline for
 * the whole lookup: each query may take what is left of it, at each
 * server in turn. The servers are DNSCACHEIP's when it is set (for this
 * lookup only: SPF keeps its own), else dnsq's (control/resolvers, else
 * /etc/resolv.conf).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dnsq.h"
#include "qsmtpd.h"

#define MAX_PTR 4         /* PTR names tried, in the order of the answer */
#define REV_MAX 74        /* "b.a.9.8.(32 nibbles)ip6.arpa" and NUL */

static long long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks for name's records of qtype within what is left until deadline.
 * As dnsq_query; DNSQ_TEMP + ETIMEDOUT once the deadline has passed. */
static int query(const char *name, unsigned int qtype, long long deadline,
                 struct dnsq_answer *ans)
{
  long long left = deadline - now_ms();
  int r;

  memset(ans, 0, sizeof *ans);
  if (left <= 0) {
    errno = ETIMEDOUT;
    return DNSQ_TEMP;
  }
  dnsq_settimeout((unsigned int)left, 1);
  r = dnsq_query(name, qtype, ans);
  dnsq_settimeout(DNSQ_TRY_MS, DNSQ_ROUNDS);
  return r;
}

/* The name of addr (alen 4 or 16) under in-addr.arpa or ip6.arpa. */
static void reverse_name(char *out, const unsigned char *addr, unsigned int alen)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  unsigned int i;

  if (alen == 4) {
    for (i = 4; i-- > 0;) {
      unsigned int v = addr[i];
      if (v >= 100) out[n++] = (char)('0' + v / 100);
      if (v >= 10) out[n++] = (char)('0' + v / 10 % 10);
      out[n++] = (char)('0' + v % 10);
      out[n++] = '.';
    }
    memcpy(out + n, "in-addr.arpa", 13);
    return;
  }
  for (i = 16; i-- > 0;) {
    out[n++] = hex[addr[i] & 15];
    out[n++] = '.';
    out[n++] = hex[addr[i] >> 4];
    out[n++] = '.';
  }
  memcpy(out + n, "ip6.arpa", 9);
}

/* A host name as it may be used: letters, digits and hyphens in labels of
 * 1 to 63 bytes, at most HOSTNAME_MAX in all, lowercased into name. */
static int clean_name(const char *s, size_t len, char *name)
{
  size_t i;
  size_t label = 0;

  if (len == 0 || len > HOSTNAME_MAX) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (label == 0) return 0;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      label++;
    } else if (c >= 'A' && c <= 'Z') {
      c = (unsigned char)(c + 32);
      label++;
    } else {
      return 0;
    }
    if (label > 63) return 0;
    name[i] = (char)c;
  }
  if (label == 0) return 0;
  name[len] = '\0';
  return 1;
}

/* The PTR names of the address, cleaned, into names: their count, or -1
 * (errno) when the query failed. */
static int ptr_names(const char *rev, char names[MAX_PTR][HOSTNAME_MAX + 1], long long deadline)
{
  struct dnsq_answer ans;
  size_t i;
  int count = 0;
  int r = query(rev, DNSQ_T_PTR, deadline, &ans);

  if (r == DNSQ_TEMP) return -1;
  if (r != DNSQ_OK) return 0; /* no such name, no PTR, or a name dnsq cannot ask */
  for (i = 0; i < ans.count && count < MAX_PTR; i++) {
    const struct dnsq_rr *rr = &ans.rr[i];
    if (rr->type == DNSQ_T_PTR && clean_name(rr->data, strlen(rr->data), names[count]))
      count++; /* escapes (\123) are no names */
  }
  dnsq_free(&ans);
  return count;
}

/* 1 the A/AAAA records of name hold addr (alen 4 or 16), 0 not, -1 error. */
static int confirm(const char *name, const unsigned char *addr, unsigned int alen,
                   long long deadline)
{
  unsigned int qtype = alen == 4 ? DNSQ_T_A : DNSQ_T_AAAA;
  struct dnsq_answer ans;
  size_t i;
  int found = 0;
  int r = query(name, qtype, deadline, &ans);

  if (r == DNSQ_TEMP) return -1;
  if (r != DNSQ_OK) return 0;
  for (i = 0; i < ans.count; i++)
    if (ans.rr[i].type == qtype && ans.rr[i].len == alen && memcmp(ans.rr[i].data, addr, alen) == 0)
      found = 1;
  dnsq_free(&ans);
  return found;
}

/* Each name in turn, until one leads back to the address: 1 (its name
 * into name), 0 none, -1 (errno) none and a query failed. */
static int confirm_any(char names[MAX_PTR][HOSTNAME_MAX + 1], int count, const unsigned char *addr,
                       unsigned int alen, long long deadline, char *name)
{
  int failed = 0;
  int e = 0;
  int i;

  for (i = 0; i < count; i++) {
    int r = confirm(names[i], addr, alen, deadline);
    if (r == 1) {
      memcpy(name, names[i], strlen(names[i]) + 1);
      return 1;
    }
    if (r == -1) {
      failed = 1;
      e = errno;
    }
  }
  if (failed) {
    errno = e;
    return -1;
  }
  return 0;
}

int fcrdns_lookup(const char *ip, char *name, unsigned int seconds)
{
  unsigned char addr[16];
  char text[64];
  char rev[REV_MAX];
  char names[MAX_PTR][HOSTNAME_MAX + 1];
  const char *env = getenv("DNSCACHEIP");
  long long deadline = now_ms() + (long long)seconds * 1000;
  size_t iplen = strlen(ip);
  unsigned int alen;
  int count;
  int r;

  /* the address: IPv4, an IPv4 client on an IPv6 socket, or IPv6 */
  if (iplen >= sizeof text) return 0;
  memcpy(text, ip, iplen + 1);
  if (strncasecmp(text, "::ffff:", 7) == 0 && strchr(text + 7, '.') != NULL)
    memmove(text, text + 7, iplen - 7 + 1);
  if (inet_pton(AF_INET, text, addr) == 1)
    alen = 4;
  else if (inet_pton(AF_INET6, text, addr) == 1)
    alen = 16;
  else
    return 0;
  reverse_name(rev, addr, alen);

  if (env != NULL && env[0] != '\0') dnsq_setservers(env);
  /* the PTR names (RFC 2317's CNAMEs are followed by the resolver) */
  count = ptr_names(rev, names, deadline);
  r = count <= 0 ? count : confirm_any(names, count, addr, alen, deadline, name);
  if (env != NULL && env[0] != '\0') {
    int e = errno;
    dnsq_reload(); /* SPF's queries read the configuration again */
    errno = e;
  }
  return r;
}
