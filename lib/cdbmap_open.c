/*
 * cdbmap_open: open a CDB map for lookups and check it (cdbmap_check); a
 * missing map is not an error, a damaged one is (EPROTO, m->why). The
 * file's identity (device, inode, size, times) is kept in m either way,
 * for cdbmap_get.
 * libowfat's cdb_init first calls cdb_free, which unmaps whatever c->map
 * holds: the struct must be cleared before, or garbage gets unmapped.
 * cdb_init maps the file; when it cannot, libowfat would read through
 * the descriptor, but the check needs the mapping: that is an error
 * (ENOMEM), not damage.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cdbmap.h"

static int fail(struct cdbmap *m, int e)
{
  cdb_free(&m->c);
  close(m->fd);
  m->fd = -1;
  errno = e;
  return -1;
}

int cdbmap_open(struct cdbmap *m, const char *fn)
{
  struct stat st;

  memset(&m->c, 0, sizeof m->c);
  m->why = NULL;
  /* O_NONBLOCK: a FIFO in its place cannot hang the reader */
  m->fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (m->fd == -1) return (errno == ENOENT) ? 0 : -1;
  if (fstat(m->fd, &st) == -1) return fail(m, errno);
  m->dev = st.st_dev;
  m->ino = st.st_ino;
  m->size = st.st_size;
  m->mtime = st.st_mtim;
  m->ctime = st.st_ctim;
  if (S_ISDIR(st.st_mode)) return fail(m, EISDIR);
  if (!S_ISREG(st.st_mode)) {
    m->why = "not a regular file";
    return fail(m, EPROTO);
  }
  if (st.st_size < CDBMAP_HEADER || (unsigned long long)st.st_size > 0xffffffffULL) {
    m->why = st.st_size < CDBMAP_HEADER ? "shorter than the 2048-byte header"
                                        : "larger than 4 GiB";
    return fail(m, EPROTO);
  }

  cdb_init(&m->c, m->fd);
  if (m->c.map == NULL) return fail(m, ENOMEM);
  if (cdbmap_check(m->c.map, m->c.size, &m->why) == -1) return fail(m, EPROTO);
  return 1;
}
