/*
 * fuzz_addr: libFuzzer target for lib/addr_parse (RFC 5321 paths). The
 * first byte chooses the flags, the rest is the path. Checks beyond the
 * sanitizers: the bytes used are within the input; a parsed address is
 * NUL-terminated at len, fits ADDR_MAX, has no uppercase domain name, and
 * survives addr_quote and a second parse unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct addr a;
  struct addr b;
  char wire[ADDR_QUOTED_MAX + 3];
  size_t used;
  size_t i;
  size_t q;
  int flags;

  if (size < 1 || size > 1024) return 0;
  flags = data[0] & 15;
  used = addr_parse(&a, (const char *)data + 1, size - 1, flags);
  if (used == 0) return 0;
  if (used > size - 1) abort();
  if (a.len > ADDR_MAX || a.s[a.len] != '\0' || strlen(a.s) != a.len) abort();
  if (a.at > a.len) abort();
  for (i = a.at; i < a.len && !a.literal; i++) /* "[IPv6:...]" keeps its tag */
    if (a.s[i] >= 'A' && a.s[i] <= 'Z') abort();
  if (a.null || a.at == a.len) return 0;
  /* the wire form parses back to the same internal form */
  q = addr_quote(NULL, a.s, a.len);
  if (q > ADDR_QUOTED_MAX) abort();
  wire[0] = '<';
  if (addr_quote(wire + 1, a.s, a.len) != q) abort();
  wire[q + 1] = '>';
  if (addr_parse(&b, wire, q + 2, flags | ADDR_ALLOW_UTF8) != q + 2) abort();
  if (b.len != a.len || memcmp(a.s, b.s, a.len) != 0) abort();
  return 0;
}
