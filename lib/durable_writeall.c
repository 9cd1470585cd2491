/* durable_writeall: write(2) until every byte is out; EINTR is retried. */
#include <errno.h>
#include <unistd.h>
#include "durable.h"

int durable_writeall(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, data, len);

    if (w == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) {
      errno = EIO;
      return -1;
    }
    data += w;
    len -= (size_t)w;
  }
  return 0;
}
