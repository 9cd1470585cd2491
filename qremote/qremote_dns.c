/*
 * qremote_dns: MX, A and AAAA lookups with the answer's rcode.
 *
 * libowfat's dns_mx and dns_ip6 return an empty list both for NXDOMAIN and
 * for "no such record", and dns_ip6 hides a failed query when the other
 * one worked. So we send the queries ourselves with dns_resolve (which
 * honours DNSCACHEIP, else /etc/resolv.conf, and only accepts NOERROR or
 * NXDOMAIN answers: SERVFAIL, REFUSED and silence end as -1 after its
 * retries) and read the packet with libowfat's dns_packet functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <byte.h>
#include <dns.h>
#include <stralloc.h>

#include "qremote.h"

#define RCODE_NXDOMAIN 3 /* RFC 1035 4.1.1 */

/* A 16-bit number in network order (libowfat's uint16_unpack_big reads
 * unaligned, which UBSan rightly refuses). */
static unsigned int get16(const char *s)
{
  return ((unsigned int)(unsigned char)s[0] << 8) | (unsigned char)s[1];
}

void dnsq_init(void)
{
  char seed[128];

  if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
    memset(seed, 0, sizeof seed); /* dns_random_init also mixes in time and pid */
  dns_random_init(seed);
}

unsigned int dnsq_random(unsigned int n)
{
  return dns_random(n);
}

/* Sends the query: 0 with the answer in dns_resolve_tx.packet (free it
 * with dns_transmit_free), or DNSQ_TEMP + errno. */
static int query(const char *name, const char type[2])
{
  char *q = NULL;

  if (!dns_domain_fromdot(&q, name, strlen(name))) {
    errno = ENOMEM;
    return DNSQ_TEMP;
  }
  if (dns_resolve(q, type) == -1) {
    int e = errno;

    dns_domain_free(&q);
    errno = e ? e : EAGAIN;
    return DNSQ_TEMP;
  }
  dns_domain_free(&q);
  return 0;
}

/* RFC 1035 4.1: each resource record takes at least its name (one byte
 * for the root, two for a pointer) and ten bytes of type, class, TTL and
 * rdata length */
#define RR_MIN 11

/* Reads the header and skips the question: DNSQ_OK with *answers the
 * answer count and *pos the offset of the first answer, DNSQ_NX, or
 * DNSQ_TEMP + EPROTO. A count of answers that cannot fit is malformed. */
static int packet_start(const char *packet, unsigned int len, unsigned int *answers,
                        unsigned int *pos)
{
  char header[12];
  unsigned int count;
  unsigned int p;

  p = dns_packet_copy(packet, len, 0, header, 12);
  if (p == 0) goto malformed;
  if ((header[3] & 15) == RCODE_NXDOMAIN) return DNSQ_NX;
  count = get16(header + 6);
  p = dns_packet_skipname(packet, len, p);
  if (p == 0 || len - p < 4) goto malformed;
  p += 4; /* QTYPE, QCLASS */
  if (count > (len - p) / RR_MIN) goto malformed;
  *answers = count;
  *pos = p;
  return DNSQ_OK;

malformed:
  errno = EPROTO;
  return DNSQ_TEMP;
}

/* Moves to the next answer of the packet: its type, its rdata offset and
 * length. 0, -1 malformed. */
static int next_answer(const char *packet, unsigned int plen, unsigned int *pos, char type[2],
                       unsigned int *rdpos, unsigned int *rdlen)
{
  char rr[10];
  unsigned int len;
  unsigned int p;

  p = dns_packet_skipname(packet, plen, *pos);
  if (p == 0) return -1;
  p = dns_packet_copy(packet, plen, p, rr, 10);
  if (p == 0) return -1;
  len = get16(rr + 8);
  if (len > plen - p) return -1;
  type[0] = rr[0];
  type[1] = rr[1];
  if (!byte_equal(rr + 2, 2, DNS_C_IN)) type[0] = type[1] = 0;
  *rdpos = p;
  *rdlen = len;
  *pos = p + len;
  return 0;
}

static int mx_cmp(const void *a, const void *b)
{
  const struct mx *x = a;
  const struct mx *y = b;

  if (x->pref != y->pref) return x->pref < y->pref ? -1 : 1;
  return 0;
}

int dnsq_mx_packet(const char *packet, unsigned int len, struct mx **list, size_t *count)
{
  unsigned int answers;
  unsigned int pos;
  struct mx *mx = NULL;
  size_t n = 0;
  int nullmx = 0;
  int r;

  *list = NULL;
  *count = 0;
  r = packet_start(packet, len, &answers, &pos);
  if (r != DNSQ_OK) return r;

  if (answers > 0) {
    mx = calloc(answers, sizeof *mx);
    if (mx == NULL) goto nomem;
  }
  while (answers-- > 0) {
    char type[2];
    unsigned int rdpos;
    unsigned int rdlen;
    char pref[2];
    char *dn = NULL;
    stralloc dot = {0};

    if (next_answer(packet, len, &pos, type, &rdpos, &rdlen) == -1) goto malformed;
    if (!byte_equal(type, 2, DNS_T_MX)) continue;
    if (rdlen < 3) goto malformed;
    if (!dns_packet_copy(packet, len, rdpos, pref, 2)) goto malformed;
    if (!dns_packet_getname(packet, len, rdpos + 2, &dn)) goto malformed;
    if (dn[0] == '\0') { /* RFC 7505: "." */
      nullmx = 1;
      dns_domain_free(&dn);
      continue;
    }
    if (!dns_domain_todot_cat(&dot, dn)) {
      dns_domain_free(&dn);
      stralloc_free(&dot);
      goto nomem;
    }
    dns_domain_free(&dn);
    if (dot.len > 0 && dot.s[dot.len - 1] == '.') --dot.len;
    if (dot.len == 0 || dot.len > QR_HOST_MAX) {
      stralloc_free(&dot);
      continue;
    }
    for (size_t k = 0; k < dot.len; ++k) {
      char c = dot.s[k];
      mx[n].name[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    mx[n].name[dot.len] = '\0';
    stralloc_free(&dot);
    mx[n].pref = get16(pref);
    ++n;
  }
  if (nullmx) {
    free(mx);
    return DNSQ_NULLMX;
  }

  /* shuffle, then sort by preference only (qsort is not stable, so the
   * shuffle is redone inside each run of equal preferences) */
  if (n > 1) qsort(mx, n, sizeof *mx, mx_cmp);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;

    while (end < n && mx[end].pref == mx[start].pref) ++end;
    for (size_t k = end - start; k > 1; --k) {
      size_t j = start + dnsq_random((unsigned int)k);
      struct mx t = mx[start + k - 1];

      mx[start + k - 1] = mx[j];
      mx[j] = t;
    }
    start = end;
  }
  *list = mx;
  *count = n;
  return DNSQ_OK;

malformed:
  free(mx);
  errno = EPROTO;
  return DNSQ_TEMP;
nomem:
  free(mx);
  errno = ENOMEM;
  return DNSQ_TEMP;
}

int dnsq_mx(const char *domain, struct mx **list, size_t *count)
{
  int r;
  int e;

  *list = NULL;
  *count = 0;
  if (query(domain, DNS_T_MX) == DNSQ_TEMP) return DNSQ_TEMP;
  r = dnsq_mx_packet(dns_resolve_tx.packet, dns_resolve_tx.packetlen, list, count);
  e = errno;
  dns_transmit_free(&dns_resolve_tx);
  errno = e;
  return r;
}

int dnsq_ip_packet(stralloc *out, const char *packet, unsigned int len, const char type[2])
{
  unsigned int answers;
  unsigned int pos;
  size_t first = out->len;
  int r;

  r = packet_start(packet, len, &answers, &pos);
  if (r != DNSQ_OK) return r;
  while (answers-- > 0) {
    char rtype[2];
    unsigned int rdpos;
    unsigned int rdlen;
    char ip[16];

    if (next_answer(packet, len, &pos, rtype, &rdpos, &rdlen) == -1) {
      out->len = first; /* none of a malformed answer's addresses */
      errno = EPROTO;
      return DNSQ_TEMP;
    }
    if (!byte_equal(rtype, 2, type)) continue;
    if (byte_equal(type, 2, DNS_T_A)) {
      if (rdlen != 4) continue;
      memcpy(ip, "\0\0\0\0\0\0\0\0\0\0\377\377", 12);
      memcpy(ip + 12, packet + rdpos, 4);
    } else {
      if (rdlen != 16) continue;
      memcpy(ip, packet + rdpos, 16);
    }
    if (!stralloc_catb(out, ip, 16)) {
      out->len = first;
      errno = ENOMEM;
      return DNSQ_TEMP;
    }
  }

  for (size_t k = (out->len - first) / 16; k > 1; --k) {
    size_t j = dnsq_random((unsigned int)k);
    char t[16];

    memcpy(t, out->s + first + 16 * (k - 1), 16);
    memcpy(out->s + first + 16 * (k - 1), out->s + first + 16 * j, 16);
    memcpy(out->s + first + 16 * j, t, 16);
  }
  return DNSQ_OK;
}

/* Appends the addresses of one family (type A or AAAA), shuffled. */
static int ip_query(stralloc *out, const char *host, const char type[2])
{
  int r;
  int e;

  if (query(host, type) == DNSQ_TEMP) return DNSQ_TEMP;
  r = dnsq_ip_packet(out, dns_resolve_tx.packet, dns_resolve_tx.packetlen, type);
  e = errno;
  dns_transmit_free(&dns_resolve_tx);
  errno = e;
  return r;
}

int dnsq_ip(stralloc *out, const char *host)
{
  int r6;
  int r4;
  int e6 = 0;

  if (!stralloc_copys(out, "")) {
    errno = ENOMEM;
    return DNSQ_TEMP;
  }
  r6 = ip_query(out, host, DNS_T_AAAA);
  if (r6 == DNSQ_TEMP) e6 = errno;
  r4 = ip_query(out, host, DNS_T_A);
  if (out->len > 0) return DNSQ_OK;   /* whatever one query failed, we have addresses */
  if (r4 == DNSQ_TEMP) return DNSQ_TEMP;
  if (r6 == DNSQ_TEMP) {
    errno = e6;
    return DNSQ_TEMP;
  }
  if (r4 == DNSQ_NX || r6 == DNSQ_NX) return DNSQ_NX;
  return DNSQ_OK;
}
