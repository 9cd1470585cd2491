/* cdbmap_add: one record into the map being written. */
#include <errno.h>
#include "cdbmap.h"

int cdbmap_add(struct cdbmap_writer *w, const char *key, size_t klen,
               const char *val, size_t vlen)
{
  /* a CDB is limited to 4 GB; libowfat's sums are 32-bit */
  if (klen > 0xffffffffUL - 8 || vlen > 0xffffffffUL - 8 - klen) {
    errno = EFBIG;
    return -1;
  }
  if (cdb_make_add(&w->cm, (const unsigned char *)key, klen,
                   (const unsigned char *)val, vlen) == -1) {
    if (errno == 0) errno = ENOMEM;
    return -1;
  }
  return 0;
}
