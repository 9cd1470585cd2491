/*
 * durable_writefile: fn gets exactly data, or keeps its old contents.
 * Writes "fn.tmp" (a stale one is removed first), fsyncs and closes it,
 * renames it onto fn and fsyncs the directory. The mode is set with
 * fchmod, so that the umask does not change it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "durable.h"

int durable_writefile(const char *fn, const char *data, size_t len, int mode)
{
  size_t n = strlen(fn);
  char *tmp;
  int fd;
  int e;

  tmp = malloc(n + 5);
  if (tmp == NULL) {
    errno = ENOMEM;
    return -1;
  }
  memcpy(tmp, fn, n);
  memcpy(tmp + n, ".tmp", 5);

  if (unlink(tmp) == -1 && errno != ENOENT) goto fail;
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) goto fail;
  if (fchmod(fd, (mode_t)mode) == -1 || durable_writeall(fd, data, len) == -1 ||
      fsync(fd) == -1) {
    e = errno;
    close(fd);
    errno = e;
    goto fail_unlink;
  }
  if (close(fd) == -1) goto fail_unlink;
  if (durable_rename(tmp, fn) == -1) goto fail_unlink;
  free(tmp);
  return 0;

fail_unlink:
  e = errno;
  unlink(tmp);
  errno = e;
fail:
  e = errno;
  free(tmp);
  errno = e;
  return -1;
}
