/*
 * fuzz_dns: libFuzzer target for qremote's DNS answer walkers
 * (qremote/qremote_dns.c dnsq_mx_packet, dnsq_ip_packet, with libowfat's
 * dns_packet functions under them). The first byte chooses the query type
 * (MX, A, AAAA); the rest is the answer packet as dns_resolve hands it over.
 * Checks beyond the sanitizers: the result is one of the DNSQ_ values and a
 * failure says EPROTO or ENOMEM; MX hosts are non-empty lowercase names of
 * at most QR_HOST_MAX bytes without the trailing dot, sorted by preference,
 * no more of them than records fit in the packet; addresses are appended
 * in 16-byte units after what out held, A records as ::ffff:a.b.c.d, and a
 * failure leaves out as it was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <byte.h>
#include <dns.h>
#include <stralloc.h>

#include "qremote.h"

#define PACKET_MAX 65535 /* RFC 1035 4.2.2: a TCP answer's length is 16 bits */
#define RR_MIN 11        /* the smallest resource record */

static const char before[16] = "0123456789abcdef"; /* what out held before */

static void check_mx(const char *packet, unsigned int len)
{
  struct mx *list;
  size_t count;
  int r = dnsq_mx_packet(packet, len, &list, &count);

  if (r == DNSQ_TEMP) {
    if (errno != EPROTO && errno != ENOMEM) abort();
    if (list != NULL || count != 0) abort();
    return;
  }
  if (r == DNSQ_NX || r == DNSQ_NULLMX) {
    if (list != NULL || count != 0) abort();
    return;
  }
  if (r != DNSQ_OK) abort();
  if (count > len / RR_MIN) abort();
  if (count > 0 && list == NULL) abort();
  for (size_t i = 0; i < count; ++i) {
    size_t n = strnlen(list[i].name, sizeof list[i].name);

    if (n == 0 || n > QR_HOST_MAX || list[i].name[n - 1] == '.') abort();
    for (size_t k = 0; k < n; ++k)
      if (list[i].name[k] >= 'A' && list[i].name[k] <= 'Z') abort();
    if (list[i].pref > 65535) abort();
    if (i > 0 && list[i].pref < list[i - 1].pref) abort();
  }
  free(list);
}

static void check_ip(const char *packet, unsigned int len, const char type[2])
{
  static stralloc out;
  int r;

  if (!stralloc_copyb(&out, before, sizeof before)) abort();
  r = dnsq_ip_packet(&out, packet, len, type);
  if (out.len < sizeof before || memcmp(out.s, before, sizeof before) != 0) abort();
  if (r == DNSQ_TEMP) {
    if (errno != EPROTO && errno != ENOMEM) abort();
    if (out.len != sizeof before) abort();
    return;
  }
  if (r == DNSQ_NX) {
    if (out.len != sizeof before) abort();
    return;
  }
  if (r != DNSQ_OK) abort();
  if (out.len % 16 != 0 || (out.len - sizeof before) / 16 > len / RR_MIN) abort();
  if (byte_equal(type, 2, DNS_T_A))
    for (size_t k = sizeof before; k < out.len; k += 16)
      if (memcmp(out.s + k, "\0\0\0\0\0\0\0\0\0\0\377\377", 12) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *packet = (const char *)data + 1;
  unsigned int len;

  if (size < 1 || size - 1 > PACKET_MAX) return 0;
  len = (unsigned int)(size - 1);
  switch (data[0] % 3) {
    case 0: check_mx(packet, len); break;
    case 1: check_ip(packet, len, DNS_T_A); break;
    default: check_ip(packet, len, DNS_T_AAAA); break;
  }
  return 0;
}
