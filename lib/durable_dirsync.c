/*
 * durable_dirsync: fsync a directory, so that a link, rename or unlink in
 * it survives a crash (ext4 does not promise that otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "durable.h"

int durable_dirsync(const char *dir)
{
  int fd;
  int e;

  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) return -1;
  if (fsync(fd) == -1) {
    e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (close(fd) == -1) return -1;
  return 0;
}
