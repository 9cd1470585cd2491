/*
 * addr_quote: the wire form of an internal address. A local part that is
 * not a Dot-string goes out as a Quoted-string, with '"' and '\' escaped
 * (RFC 5321 4.1.2); the domain is copied. dest NULL only measures.
 */
#include <string.h>
#include "addr.h"

size_t addr_quote(char *dest, const char *s, size_t len)
{
  const char *at;
  size_t local;
  size_t o = 0;
  size_t i;

  if (len > ADDR_MAX) return 0;
  at = memrchr(s, '@', len);
  local = (at != NULL) ? (size_t)(at - s) : len;

  if (local == 0 || addr_isdotatom(s, local)) {
    if (dest != NULL) memcpy(dest, s, len);
    return len;
  }

  if (dest != NULL) dest[o] = '"';
  o++;
  for (i = 0; i < local; i++) {
    if (s[i] == '"' || s[i] == '\\') {
      if (dest != NULL) dest[o] = '\\';
      o++;
    }
    if (dest != NULL) dest[o] = s[i];
    o++;
  }
  if (dest != NULL) dest[o] = '"';
  o++;
  if (dest != NULL) memcpy(dest + o, s + local, len - local);
  return o + len - local;
}
