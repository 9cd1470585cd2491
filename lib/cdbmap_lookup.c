/* cdbmap_lookup: open, find, close: one lookup in map fn. */
#include <errno.h>
#include "cdbmap.h"

int cdbmap_lookup(const char *fn, const char *key, size_t len, stralloc *val)
{
  struct cdbmap m;
  int r;
  int e;

  r = cdbmap_open(&m, fn);
  if (r != 1) return r;
  r = cdbmap_find(&m, key, len, val);
  e = errno;
  cdbmap_close(&m);
  errno = e;
  return r;
}
