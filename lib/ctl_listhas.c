/* ctl_listhas: whether a list from ctl_readlist holds s, ASCII case ignored. */
#include <string.h>
#include <strings.h>
#include "ctl.h"

int ctl_listhas(const stralloc *list, const char *s, size_t len)
{
  size_t i = 0;

  while (i < list->len) {
    const char *e = list->s + i;
    const char *z = memchr(e, '\0', list->len - i);
    size_t elen = (z != NULL) ? (size_t)(z - e) : list->len - i;

    if (elen == len && strncasecmp(e, s, len) == 0) return 1;
    i += elen + 1;
  }
  return 0;
}
