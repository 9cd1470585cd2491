/*
 * bflush: write out a buffer's pending output, reporting failures (bflush.h).
 */
#include <errno.h>
#include <unistd.h>

#include "bflush.h"

typedef ssize_t (*write_op)(int fd, const char *buf, size_t len, void *cookie);

int bflush(buffer *b)
{
  write_op op = (write_op)b->op;
  size_t len = b->p;
  size_t done = 0;

  b->p = 0;
  while (done < len) {
    ssize_t w = op(b->fd, b->x + done, len - done, b->cookie);
    if (w == -1 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EPIPE;
      return -1;
    }
    done += (size_t)w;
  }
  return 0;
}
