/* cdbmap_open: open a CDB map for lookups; a missing map is not an error. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "cdbmap.h"

int cdbmap_open(struct cdbmap *m, const char *fn)
{
  m->fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (m->fd == -1) return (errno == ENOENT) ? 0 : -1;
  cdb_init(&m->c, m->fd);
  return 1;
}
