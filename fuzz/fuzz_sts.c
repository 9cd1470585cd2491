/*
 * fuzz_sts: what an MTA-STS server sends qmtasts (qtls/qtls_sts.h): the
 * header lines, the chunked body and the policy file. A policy that
 * parses has a known mode, a max_age in range and patterns that match
 * themselves (unless they are wildcards).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtls_sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char buf[STS_BODY_MAX + 16];
  struct sts_policy p;
  const char *why;
  size_t vlen;
  const char *v;

  if (size > STS_BODY_MAX) return 0;
  memcpy(buf, data, size);
  v = http_header(buf, size, "Content-Type", &vlen);
  if (v != NULL && (v < buf || v + vlen > buf + size)) abort();
  if (http_dechunk(buf, size) > (long)size) abort();

  memcpy(buf, data, size);
  if (sts_parse(&p, buf, size, &why) == 0) {
    if (p.mode != STS_NONE && p.mode != STS_TESTING && p.mode != STS_ENFORCE) abort();
    if (p.max_age > STS_MAX_AGE || p.mx_count > STS_MX_MAX) abort();
    if (p.mode != STS_NONE && p.mx_count == 0) abort();
    for (size_t i = 0; i < p.mx_count; i++)
      if (p.mx[i][0] != '*' && !sts_mx_match(&p, p.mx[i])) abort();
  } else if (why == NULL) {
    abort();
  }
  return 0;
}
