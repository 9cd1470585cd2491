/* cdbmap_lookup: one lookup in map fn, kept open (cdbmap_get). */
#include "cdbmap.h"

int cdbmap_lookup(const char *fn, const char *key, size_t len, stralloc *val)
{
  struct cdbmap *m;
  int r = cdbmap_get(&m, fn);

  if (r != 1) return r;
  return cdbmap_find(m, key, len, val);
}
