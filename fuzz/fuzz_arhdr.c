/*
 * fuzz_arhdr: libFuzzer target for the header filter of local mail
 * (qinject/qinject_hdr.c), which reads what any local user writes through
 * the setgid qinject. The input, cut into chunks at the offsets its first
 * byte chooses, goes through the filter. Checks beyond the sanitizers:
 * the output is never longer than the input, and any cut gives the same
 * output as none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qinject_hdr.h"

static char got[2][8192];
static size_t gotlen[2];
static int which;

static void out(const char *s, size_t len)
{
  if (len > sizeof got[which] - gotlen[which]) abort();
  memcpy(got[which] + gotlen[which], s, len);
  gotlen[which] += len;
}

static void run(const char *s, size_t len, size_t step)
{
  static struct hdrfilter h;
  size_t i;

  gotlen[which] = 0;
  hdr_init(&h, "mx.example.org", out);
  for (i = 0; i < len; i += step) hdr_feed(&h, s + i, len - i < step ? len - i : step);
  hdr_end(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data + 1;
  size_t len;

  if (size == 0 || size > 4096) return 0;
  len = size - 1;
  which = 0;
  run(s, len, len > 0 ? len : 1);
  which = 1;
  run(s, len, (size_t)data[0] % 7 + 1);
  if (gotlen[0] > len || gotlen[0] != gotlen[1] || memcmp(got[0], got[1], gotlen[0]) != 0)
    abort();
  return 0;
}
