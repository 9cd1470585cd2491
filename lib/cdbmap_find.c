/* cdbmap_find: the value of key in an open map, copied into val. */
#include <errno.h>
#include "cdbmap.h"

int cdbmap_find(struct cdbmap *m, const char *key, size_t len, stralloc *val)
{
  uint32 dlen;
  int r;

  r = cdb_find(&m->c, (const unsigned char *)key, len);
  if (r == -1) return -1;
  if (r == 0) return 0;

  dlen = cdb_datalen(&m->c);
  if (!stralloc_ready(val, dlen ? dlen : 1)) {
    errno = ENOMEM;
    return -1;
  }
  if (cdb_read(&m->c, (unsigned char *)val->s, dlen, cdb_datapos(&m->c)) == -1) return -1;
  val->len = dlen;
  return 1;
}
