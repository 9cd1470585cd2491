/*
 * fuzz_dnsq: libFuzzer target for the resolver's answer parser
 * (lib/dnsq_parse.c). The first byte chooses the query type (A, AAAA, MX,
 * PTR, TXT, TLSA, CNAME), the question is example.org; the rest is the
 * answer packet. Checks beyond the sanitizers: the result is one of the
 * DNSQ_ values, a failure leaves the answer empty and says EPROTO, EAGAIN,
 * EINVAL or ENOMEM; records are of the type asked, at most DNSQ_RR_MAX,
 * A and AAAA of 4 and 16 bytes, names NUL-terminated without dots at
 * either end, every data byte inside the answer's block; a copy holds
 * the same data.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

static const unsigned int types[] = {DNSQ_T_A, DNSQ_T_AAAA, DNSQ_T_MX, DNSQ_T_PTR,
                                     DNSQ_T_TXT, DNSQ_T_TLSA, DNSQ_T_CNAME};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char qw[DNSQ_NAME_MAX];
  size_t qwlen = dnsq_name_wire(qw, "example.org", 11);
  struct dnsq_answer ans;
  struct dnsq_answer copy;
  unsigned int qtype;
  int r;

  if (size < 1) return 0;
  qtype = types[data[0] % (sizeof types / sizeof types[0])];
  r = dnsq_parse(data + 1, size - 1, qw, qwlen, qtype, &ans);
  if (r == DNSQ_TEMP) {
    if (errno != EPROTO && errno != EAGAIN && errno != EINVAL && errno != ENOMEM) abort();
    if (ans.block != NULL || ans.count != 0) abort();
    return 0;
  }
  if (r != DNSQ_OK && r != DNSQ_NODATA && r != DNSQ_NXDOMAIN) abort();
  if (r != ans.status) abort();
  if ((r == DNSQ_OK) != (ans.count > 0) || ans.count > DNSQ_RR_MAX) abort();
  for (size_t i = 0; i < ans.count; i++) {
    const struct dnsq_rr *rr = &ans.rr[i];
    const char *lo = ans.block;
    if (rr->type != qtype) abort();
    if (rr->data < lo || rr->data + rr->len >= lo + ans.blocklen) abort();
    if (qtype == DNSQ_T_A && rr->len != 4) abort();
    if (qtype == DNSQ_T_AAAA && rr->len != 16) abort();
    if (qtype == DNSQ_T_MX || qtype == DNSQ_T_PTR || qtype == DNSQ_T_CNAME) {
      if (strlen(rr->data) != rr->len || rr->len > DNSQ_TEXT_MAX) abort();
      if (rr->len > 0 && (rr->data[0] == '.' || rr->data[rr->len - 1] == '.')) abort();
    }
  }
  if (dnsq_copy(&copy, &ans) == 0) {
    if (copy.count != ans.count) abort();
    for (size_t i = 0; i < ans.count; i++)
      if (copy.rr[i].len != ans.rr[i].len ||
          memcmp(copy.rr[i].data, ans.rr[i].data, ans.rr[i].len) != 0)
        abort();
    dnsq_free(&copy);
  }
  dnsq_free(&ans);
  return 0;
}
