/*
 * addr_isdotatom: RFC 5321 4.1.2 Dot-string = Atom *("." Atom), Atom =
 * 1*atext (RFC 5322 3.2.3); RFC 6531 adds UTF-8 to atext. Anything else
 * must travel as a Quoted-string.
 */
#include <string.h>
#include "addr.h"

int addr_isdotatom(const char *s, size_t len)
{
  static const char specials[] = "!#$%&'*+-/=?^_`{|}~";
  size_t i = 0;
  int atom = 0; /* bytes in the current atom */

  if (len == 0) return 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];

    if (c == '.') {
      if (atom == 0) return 0;
      atom = 0;
      i++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = addr_utf8seq(s + i, len - i);
      if (n == 0) return 0;
      i += n;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c != '\0' && memchr(specials, c, sizeof specials - 1) != NULL)) {
      i++;
    } else {
      return 0;
    }
    atom = 1;
  }
  return atom;
}
