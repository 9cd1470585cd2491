/*
 * queue_write: bytes into the queue file being written, all of them.
 * A write that fails for want of space (ENOSPC, EDQUOT) first empties
 * queue/pool, which holds space for messages yet to come, and is tried
 * again: once per message (w->drained), so a disk that is really full
 * still fails at once. A short write before the error is kept: the retry
 * goes on from there.
 */
#include <errno.h>
#include <unistd.h>
#include "queue.h"

int queue_write(struct queue_writer *w, const char *s, size_t len)
{
  while (len > 0) {
    ssize_t r = write(w->fd, s, len);

    if (r == -1) {
      if (errno == EINTR || queue_pool_relief(w, errno)) continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    s += r;
    len -= (size_t)r;
  }
  return 0;
}
