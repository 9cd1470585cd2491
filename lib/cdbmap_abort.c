/* cdbmap_abort: give up writing; the temp file goes, the old map stays. */
#include <errno.h>
#include <unistd.h>
#include "cdbmap.h"

void cdbmap_abort(struct cdbmap_writer *w)
{
  int e = errno;

  cdbmake_free(&w->cm);
  if (w->fd != -1) {
    close(w->fd);
    w->fd = -1;
  }
  if (w->tmp.s != NULL && w->tmp.len > 0) unlink(w->tmp.s);
  stralloc_free(&w->tmp);
  stralloc_free(&w->final);
  errno = e;
}
