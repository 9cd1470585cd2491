/*
 * ctl_domainmatch: whether domain d is in a list (locals, rcpthosts).
 * "example.org" matches only itself; ".example.org" matches every
 * subdomain of example.org, but not example.org itself (as in qmail's
 * rcpthosts). Case and one trailing dot (on either side) are ignored.
 */
#include <string.h>
#include <strings.h>
#include "ctl.h"

int ctl_domainmatch(const stralloc *list, const char *d, size_t len)
{
  size_t i = 0;

  if (len > 0 && d[len - 1] == '.') len--;
  if (len == 0) return 0;

  while (i < list->len) {
    const char *e = list->s + i;
    const char *z = memchr(e, '\0', list->len - i);
    size_t elen = (z != NULL) ? (size_t)(z - e) : list->len - i;
    size_t next = i + elen + 1;

    if (elen > 0 && e[elen - 1] == '.') elen--;
    if (elen > 1 && e[0] == '.') {
      /* wildcard: d must end in ".example.org" with something before it */
      if (len > elen && strncasecmp(d + len - elen, e, elen) == 0) return 1;
    } else if (elen > 0 && elen == len && strncasecmp(e, d, len) == 0) {
      return 1;
    }
    i = next;
  }
  return 0;
}
