/*
 * queue_write: bytes into the queue file being written, all of them.
 * A write that fails for want of space (ENOSPC, EDQUOT) first empties
 * queue/pool, which holds space for messages yet to come, and is tried
 * again: once per message (w->drained), so a disk that is really full
 * still fails at once. A short write before the error is kept: the retry
 * goes on from there.
 * A failure is final for the message (w->failed): what the failed call
 * wrote is in the file, so a caller that went on (or wrote its buffer
 * again) would commit a message whose bytes do not match its header.
 */
#include <errno.h>
#include <unistd.h>
#include "queue.h"

int queue_write(struct queue_writer *w, const char *s, size_t len)
{
  if (w->failed) {
    errno = w->failed;
    return -1;
  }
  while (len > 0) {
    ssize_t r = write(w->fd, s, len);

    if (r == -1) {
      if (errno == EINTR || queue_pool_relief(w, errno)) continue;
      w->failed = errno;
      return -1;
    }
    if (r == 0) {
      errno = w->failed = EIO;
      return -1;
    }
    s += r;
    len -= (size_t)r;
  }
  return 0;
}
