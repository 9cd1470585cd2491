/*
 * addr_set: check an address in internal form ("local@domain", decoded
 * local part) that came from the queue, a map or another program, and
 * fill a. The local part may hold any printable ASCII byte and UTF-8 (it
 * was decoded from a quoted-string) but no control character and no NUL;
 * the domain must be what addr_parse produces. "" is the null address,
 * "postmaster" (any case) the bare one.
 */
#include <string.h>
#include <strings.h>
#include "addr.h"

int addr_set(struct addr *a, const char *s, size_t len)
{
  const char *at;
  size_t i;
  size_t n;
  size_t dlen;
  int u8 = 0;

  a->s[0] = '\0';
  a->len = 0;
  a->at = 0;
  a->null = 0;
  a->utf8 = 0;
  a->literal = 0;
  a->quoted = 0;
  a->routed = 0;

  if (len == 0) {
    a->null = 1;
    return 1;
  }
  if (len > ADDR_MAX) return 0;

  at = memrchr(s, '@', len);
  if (at == NULL) {
    if (len != 10 || strncasecmp(s, "postmaster", 10) != 0) return 0;
    memcpy(a->s, "postmaster", 11);
    a->len = a->at = 10;
    return 1;
  }

  a->at = (size_t)(at - s);
  if (a->at == 0 || a->at > ADDR_MAX_LOCAL) return 0;
  for (i = 0; i < a->at; i += n) {
    unsigned char c = (unsigned char)s[i];

    n = 1;
    if (c >= 0x80) {
      n = addr_utf8seq(s + i, a->at - i);
      if (n == 0) return 0;
      a->utf8 = 1;
    } else if (c < 32 || c > 126) {
      return 0;
    }
  }
  memcpy(a->s, s, a->at);
  a->s[a->at] = '@';
  a->quoted = !addr_isdotatom(s, a->at);

  n = addr_scandomain(s + a->at + 1, len - a->at - 1, ADDR_ALLOW_UTF8, a->s + a->at + 1, &dlen,
                      &a->literal, &u8);
  if (n == 0 || n != len - a->at - 1) {
    a->s[0] = '\0';
    a->at = 0;
    a->utf8 = a->literal = a->quoted = 0;
    return 0;
  }
  if (u8) a->utf8 = 1;
  a->len = a->at + 1 + dlen;
  a->s[a->len] = '\0';
  return 1;
}
