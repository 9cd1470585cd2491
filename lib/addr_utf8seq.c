/*
 * addr_utf8seq: one well-formed UTF-8 sequence (RFC 3629, section 4). No
 * overlong forms, no surrogates, nothing above U+10FFFF, and no C1
 * control characters (U+0080..U+009F), which are as unwelcome in an
 * address as the C0 ones.
 */
#include "addr.h"

static int cont(unsigned char c, unsigned char lo, unsigned char hi)
{
  return c >= lo && c <= hi;
}

size_t addr_utf8seq(const char *s, size_t len)
{
  const unsigned char *u = (const unsigned char *)s;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t n;
  size_t i;

  if (len == 0) return 0;
  if (u[0] < 0x80) return 1;

  if (u[0] == 0xc2) {
    n = 2;
    lo = 0xa0; /* U+0080..U+009F are the C1 controls */
  } else if (u[0] >= 0xc3 && u[0] <= 0xdf) {
    n = 2;
  } else if (u[0] == 0xe0) {
    n = 3;
    lo = 0xa0;
  } else if (u[0] == 0xed) {
    n = 3;
    hi = 0x9f; /* no surrogates */
  } else if (u[0] >= 0xe1 && u[0] <= 0xef) {
    n = 3;
  } else if (u[0] == 0xf0) {
    n = 4;
    lo = 0x90;
  } else if (u[0] >= 0xf1 && u[0] <= 0xf3) {
    n = 4;
  } else if (u[0] == 0xf4) {
    n = 4;
    hi = 0x8f;
  } else {
    return 0;
  }

  if (len < n) return 0;
  if (!cont(u[1], lo, hi)) return 0;
  for (i = 2; i < n; i++)
    if (!cont(u[i], 0x80, 0xbf)) return 0;
  return n;
}
