/* cdbmap_close: release a map opened by cdbmap_open. */
#include <unistd.h>
#include "cdbmap.h"

void cdbmap_close(struct cdbmap *m)
{
  if (m->fd == -1) return;
  cdb_free(&m->c);
  close(m->fd);
  m->fd = -1;
}
