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
 * libowfat's dns_name4 and dns_ip4 block for up to two minutes against a
 * dead server, so the queries go out with dns_transmit_* and our own
 * iopause loop under one deadline for the whole lookup. The servers are
 * libowfat's (dns_resolvconfip: DNSCACHEIP, else /etc/resolv.conf).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <dns.h>
#include <iopause.h>
#include <stralloc.h>
#include <taia.h>

#include "qsmtpd.h"

#define MAX_PTR 4              /* PTR names tried, in the order of the answer */
#define DNS_HEADER 12          /* RFC 1035 4.1.1 */
#define DNS_RR_FIXED 10        /* type, class, TTL, data length: RFC 1035 4.1.3 */

static const char any_local[16]; /* let the kernel choose the source address */

/* A 16-bit number in network order, from any alignment. */
static unsigned int get16(const char *s)
{
  return ((unsigned int)(unsigned char)s[0] << 8) | (unsigned char)s[1];
}

/* Sends q (wire form) of type and waits for the answer until deadline.
 * 0 answered (NOERROR or NXDOMAIN; the packet in tx), -1 error + errno
 * (ETIMEDOUT when the deadline passed). */
static int query(struct dns_transmit *tx, const char *servers, const char *q,
                 const char type[2], const struct taia *deadline)
{
  iopause_fd x[1];
  struct taia now;
  struct taia wake;
  int r;
  int e;

  if (dns_transmit_start(tx, servers, 1, q, type, any_local) == -1) {
    e = errno;
    dns_transmit_free(tx);
    errno = e;
    return -1;
  }
  for (;;) {
    taia_now(&now);
    if (!taia_less(&now, deadline)) {
      dns_transmit_free(tx);
      errno = ETIMEDOUT;
      return -1;
    }
    wake = *deadline;
    dns_transmit_io(tx, x, &wake); /* wake: the earlier of ours and its retry time */
    iopause(x, 1, &wake, &now);
    taia_now(&now);
    r = dns_transmit_get(tx, x, &now);
    if (r == -1) {
      e = errno;
      dns_transmit_free(tx);
      errno = e;
      return -1;
    }
    if (r == 1) return 0;
  }
}

/* Walks the answer section: the next record of type (class IN) after
 * *pos, *left answers still to read. 1 found (data at *data, *dlen bytes),
 * 0 no more, -1 malformed packet. */
static int next_answer(const char *buf, unsigned int len, const char type[2], unsigned int *pos,
                       unsigned int *left, unsigned int *data, unsigned int *dlen)
{
  char rr[DNS_RR_FIXED];
  unsigned int p = *pos;
  unsigned int n;

  while (*left > 0) {
    (*left)--;
    p = dns_packet_skipname(buf, len, p);
    if (p == 0) return -1;
    p = dns_packet_copy(buf, len, p, rr, sizeof rr);
    if (p == 0) return -1;
    n = get16(rr + 8);
    if (n > len - p) return -1;
    *pos = p + n;
    if (memcmp(rr, type, 2) == 0 && memcmp(rr + 2, DNS_C_IN, 2) == 0) {
      *data = p;
      *dlen = n;
      return 1;
    }
    p += n;
  }
  return 0;
}

/* The offset of the first answer and the number of answers. 0, or -1. */
static int first_answer(const char *buf, unsigned int len, unsigned int *pos,
                        unsigned int *count)
{
  char header[DNS_HEADER];
  unsigned int p;

  p = dns_packet_copy(buf, len, 0, header, sizeof header);
  if (p == 0) return -1;
  p = dns_packet_skipname(buf, len, p); /* the question */
  if (p == 0 || len - p < 4) return -1;
  *pos = p + 4;
  *count = get16(header + 6);
  return 0;
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

/* 1 the A/AAAA records of name hold ip (alen 4 or 16), 0 not, -1 error. */
static int confirm(const char *servers, const char *name, const char *ip, unsigned int alen,
                   const struct taia *deadline)
{
  struct dns_transmit tx = {0};
  char *q = NULL;
  unsigned int pos;
  unsigned int left;
  unsigned int data;
  unsigned int dlen;
  int found = 0;
  int r;

  if (!dns_domain_fromdot(&q, name, strlen(name))) {
    errno = ENOMEM;
    return -1;
  }
  r = query(&tx, servers, q, alen == 4 ? DNS_T_A : DNS_T_AAAA, deadline);
  dns_domain_free(&q);
  if (r == -1) return -1;
  if (first_answer(tx.packet, tx.packetlen, &pos, &left) == -1) {
    dns_transmit_free(&tx);
    errno = EPROTO;
    return -1;
  }
  while ((r = next_answer(tx.packet, tx.packetlen, alen == 4 ? DNS_T_A : DNS_T_AAAA, &pos,
                          &left, &data, &dlen)) == 1)
    if (dlen == alen && memcmp(tx.packet + data, ip, alen) == 0) found = 1;
  dns_transmit_free(&tx);
  if (r == -1 && !found) {
    errno = EPROTO;
    return -1;
  }
  return found;
}

int fcrdns_lookup(const char *ip, char *name, unsigned int seconds)
{
  static int seeded;
  char servers[256];
  char addr[16];
  char text[64];
  char rev[DNS_NAME6_DOMAIN];
  char names[MAX_PTR][HOSTNAME_MAX + 1];
  struct dns_transmit tx = {0};
  struct taia deadline;
  struct taia now;
  stralloc dot = {0};
  unsigned int alen;
  unsigned int pos;
  unsigned int left;
  unsigned int data;
  unsigned int dlen;
  size_t iplen = strlen(ip);
  int count = 0;
  int failed = 0;
  int e = 0;
  int r;
  int i;

  /* the address: IPv4, an IPv4 client on an IPv6 socket, or IPv6 */
  if (iplen >= sizeof text) return 0;
  memcpy(text, ip, iplen + 1);
  if (strncasecmp(text, "::ffff:", 7) == 0 && strchr(text + 7, '.') != NULL)
    memmove(text, text + 7, iplen - 7 + 1);
  if (inet_pton(AF_INET, text, addr) == 1) {
    alen = 4;
    dns_name4_domain(rev, addr);
  } else if (inet_pton(AF_INET6, text, addr) == 1) {
    alen = 16;
    dns_name6_domain(rev, addr);
  } else {
    return 0;
  }

  if (!seeded) {
    char seed[128];
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
      memset(seed, 0, sizeof seed); /* dns_random_init also mixes in time and pid */
    dns_random_init(seed);
    seeded = 1;
  }
  if (dns_resolvconfip(servers) == -1) return -1;
  taia_now(&now);
  taia_uint(&deadline, seconds);
  taia_add(&deadline, &deadline, &now);

  /* the PTR names (RFC 2317's CNAMEs are followed by the resolver) */
  if (query(&tx, servers, rev, DNS_T_PTR, &deadline) == -1) return -1;
  if (first_answer(tx.packet, tx.packetlen, &pos, &left) == -1) {
    dns_transmit_free(&tx);
    errno = EPROTO;
    return -1;
  }
  while (count < MAX_PTR &&
         (r = next_answer(tx.packet, tx.packetlen, DNS_T_PTR, &pos, &left, &data, &dlen)) == 1) {
    char *dn = NULL;
    if (dns_packet_getname(tx.packet, tx.packetlen, data, &dn) == 0) break;
    dot.len = 0;
    r = dns_domain_todot_cat(&dot, dn);
    dns_domain_free(&dn);
    if (!r) {
      e = ENOMEM;
      break;
    }
    if (clean_name(dot.s, dot.len, names[count])) count++; /* escapes (\123) are no names */
  }
  dns_transmit_free(&tx);
  stralloc_free(&dot);
  if (e != 0 && count == 0) {
    errno = e;
    return -1;
  }

  /* each name, until one leads back to the address */
  for (i = 0; i < count; i++) {
    r = confirm(servers, names[i], addr, alen, &deadline);
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
