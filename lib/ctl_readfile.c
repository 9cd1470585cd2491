/*
 * ctl_readfile: a whole control file into sa. A missing file is not an
 * error (0): the caller uses its default. Bounded by CTL_FILE_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "ctl.h"

int ctl_readfile(stralloc *sa, const char *fn)
{
  int fd;

  sa->len = 0;
  fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd == -1) return (errno == ENOENT) ? 0 : -1;

  for (;;) {
    ssize_t r;

    if (sa->len >= CTL_FILE_MAX) {
      close(fd);
      errno = EFBIG;
      return -1;
    }
    /* small first, then doubling: a control file is mostly a few bytes,
     * and a small allocation stays in the heap (no mapping to undo) */
    if (!stralloc_readyplus(sa, sa->len < 256 ? 256 : sa->len)) {
      close(fd);
      errno = ENOMEM;
      return -1;
    }
    r = read(fd, sa->s + sa->len, sa->a - sa->len);
    if (r == -1) {
      int e = errno;
      if (e == EINTR) continue;
      close(fd);
      errno = e;
      return -1;
    }
    if (r == 0) break;
    sa->len += (size_t)r;
  }
  close(fd);
  return 1;
}
