/* addr_domain: the domain of an internal address (after the last '@'). */
#include <string.h>
#include "addr.h"

const char *addr_domain(const char *s, size_t len, size_t *dlen)
{
  const char *at = memrchr(s, '@', len);

  if (at == NULL) {
    *dlen = 0;
    return "";
  }
  *dlen = len - (size_t)(at - s) - 1;
  return at + 1;
}
