/*
 * fuzz_dns: libFuzzer target for qremote's walkers of DNS answers
 * (qremote/qremote_dns.c: qdns_mx_answer, qdns_ip_answer,
 * qdns_tlsa_answer) over what lib/dnsq_parse makes of a packet (the
 * parser itself is fuzz_dnsq's). The first byte chooses the query type
 * (MX, A, AAAA, TLSA), the question is example.org; the rest is the answer
 * packet. Checks beyond the sanitizers: the result is one of the QDNS_
 * values and a failure says ENOMEM; MX hosts are non-empty lowercase names
 * of at most QR_HOST_MAX bytes, sorted by preference, no more of them than
 * records; addresses are appended in 16-byte units after what out held,
 * A records as ::ffff:a.b.c.d, and a failure leaves out as it was; TLSA
 * records come out as "USAGE SELECTOR MTYPE HEX", usages 2 and 3 only, at
 * most QR_TLSA_MAX of them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stralloc.h>

#include "dnsq.h"
#include "qremote.h"

static const unsigned int types[] = {DNSQ_T_MX, DNSQ_T_A, DNSQ_T_AAAA, DNSQ_T_TLSA};
static const char before[16] = "0123456789abcdef"; /* what out held before */

static void check_mx(const struct dnsq_answer *a)
{
  struct mx *list;
  size_t count;
  int r = qdns_mx_answer(a, &list, &count);

  if (r == QDNS_TEMP) {
    if (errno != ENOMEM) abort();
    return;
  }
  if (r == QDNS_NX || r == QDNS_NULLMX) {
    if (list != NULL || count != 0) abort();
    return;
  }
  if (r != QDNS_OK || count > a->count || (count == 0) != (list == NULL)) abort();
  for (size_t i = 0; i < count; i++) {
    size_t n = strlen(list[i].name);
    if (n == 0 || n > QR_HOST_MAX) abort();
    for (size_t k = 0; k < n; k++)
      if (list[i].name[k] >= 'A' && list[i].name[k] <= 'Z') abort();
    if (i > 0 && list[i].pref < list[i - 1].pref) abort();
  }
  free(list);
}

static void check_ip(const struct dnsq_answer *a, unsigned int type)
{
  stralloc out = {0};
  int r;

  if (!stralloc_copyb(&out, before, sizeof before)) return;
  r = qdns_ip_answer(&out, a, type);
  if (out.len < sizeof before || memcmp(out.s, before, sizeof before) != 0) abort();
  if (r == QDNS_TEMP) {
    if (errno != ENOMEM || out.len != sizeof before) abort();
  } else if (r == QDNS_NX) {
    if (out.len != sizeof before) abort();
  } else {
    if (r != QDNS_OK || (out.len - sizeof before) % 16 != 0) abort();
    if ((out.len - sizeof before) / 16 > a->count) abort();
    if (type == DNSQ_T_A)
      for (size_t k = sizeof before; k < out.len; k += 16)
        if (memcmp(out.s + k, "\0\0\0\0\0\0\0\0\0\0\377\377", 12) != 0) abort();
  }
  stralloc_free(&out);
}

static void check_tlsa(const struct dnsq_answer *a)
{
  stralloc out = {0};
  size_t count = 0;
  size_t seen = 0;
  int r = qdns_tlsa_answer(&out, &count, a);

  if (r == QDNS_TEMP) {
    if (errno != ENOMEM) abort();
  } else {
    if (r != QDNS_OK || count > QR_TLSA_MAX || count > a->count) abort();
    for (size_t k = 0; k < out.len; k += strlen(out.s + k) + 1) {
      if (out.s[k] != '2' && out.s[k] != '3') abort();
      if (out.s[k + 1] != ' ') abort();
      seen++;
    }
    if (seen != count) abort();
  }
  stralloc_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char qw[DNSQ_NAME_MAX];
  size_t qwlen = dnsq_name_wire(qw, "example.org", 11);
  struct dnsq_answer ans;
  unsigned int qtype;

  if (size < 1) return 0;
  qtype = types[data[0] % (sizeof types / sizeof types[0])];
  if (dnsq_parse(data + 1, size - 1, qw, qwlen, qtype, &ans) == DNSQ_TEMP) return 0;
  if (qtype == DNSQ_T_MX) check_mx(&ans);
  else if (qtype == DNSQ_T_TLSA) check_tlsa(&ans);
  else check_ip(&ans, qtype);
  dnsq_free(&ans);
  return 0;
}
