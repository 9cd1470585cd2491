/*
 * cdbmap_start: begin writing map FINAL through "FINAL.tmp". A stale temp
 * file (from a crash) is removed first; the new one is created O_EXCL so
 * that two writers at once fail instead of mixing their records.
 * Opened for reading too: cdbmap_finish reads the file back for its
 * checksum and checks it before it takes the final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cdbmap.h"

int cdbmap_start(struct cdbmap_writer *w, const char *final, int mode)
{
  size_t n = strlen(final);
  int e;

  w->fd = -1;
  memset(&w->cm, 0, sizeof w->cm);
  w->tmp = (stralloc){0};
  w->final = (stralloc){0};

  if (!stralloc_copyb(&w->final, final, n) || !stralloc_0(&w->final) ||
      !stralloc_copyb(&w->tmp, final, n) || !stralloc_catb(&w->tmp, ".tmp", 4) ||
      !stralloc_0(&w->tmp)) {
    errno = ENOMEM;
    goto fail;
  }

  if (unlink(w->tmp.s) == -1 && errno != ENOENT) goto fail;
  w->fd = open(w->tmp.s, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (w->fd == -1) goto fail;
  if (fchmod(w->fd, (mode_t)mode) == -1) goto fail_unlink;
  if (cdb_make_start(&w->cm, w->fd) == -1) goto fail_unlink;
  return 0;

fail_unlink:
  e = errno;
  close(w->fd);
  w->fd = -1;
  unlink(w->tmp.s);
  errno = e;
fail:
  e = errno;
  stralloc_free(&w->tmp);
  stralloc_free(&w->final);
  errno = e;
  return -1;
}
