/*
 * cdbmap_finish: write the hash tables, fsync and close the temp file,
 * rename it onto the final name, fsync the directory. On failure the temp
 * file is removed and the old map stays. The writer is released either way.
 */
#include <errno.h>
#include <unistd.h>
#include "cdbmap.h"
#include "durable.h"

int cdbmap_finish(struct cdbmap_writer *w)
{
  int fd = w->fd;
  int e;

  errno = 0;
  if (cdb_make_finish(&w->cm) == -1) {
    if (errno == 0) errno = EIO;
    goto fail;
  }
  cdbmake_free(&w->cm);
  if (fsync(fd) == -1) goto fail;
  w->fd = -1;
  if (close(fd) == -1) goto fail;
  if (durable_rename(w->tmp.s, w->final.s) == -1) goto fail;
  stralloc_free(&w->tmp);
  stralloc_free(&w->final);
  return 0;

fail:
  e = errno;
  cdbmap_abort(w);
  errno = e;
  return -1;
}
