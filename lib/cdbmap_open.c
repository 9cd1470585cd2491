/* cdbmap_open: open a CDB map for lookups; a missing map is not an error.
 * libowfat's cdb_init first calls cdb_free, which unmaps whatever c->map
 * holds: the struct must be cleared before, or garbage gets unmapped. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "cdbmap.h"

int cdbmap_open(struct cdbmap *m, const char *fn)
{
  memset(&m->c, 0, sizeof m->c);
  m->fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (m->fd == -1) return (errno == ENOENT) ? 0 : -1;
  cdb_init(&m->c, m->fd);
  return 1;
}
