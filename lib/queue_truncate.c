/*
 * queue_truncate: cuts the message being written back to its first len
 * bytes, so that what follows is written again (qsmtpd: a milter replaced
 * the body). Only before queue_envelope; the file is not committed yet,
 * so a failure harms nothing: the caller aborts it.
 */
#include <errno.h>
#include <unistd.h>

#include "queue.h"

int queue_truncate(struct queue_writer *w, unsigned long long len)
{
  if (w->fd == -1 || w->in_envelope || len > w->msglen) {
    errno = EINVAL;
    return -1;
  }
  if (queue_flush(w) == -1) return -1;
  if (ftruncate(w->fd, (off_t)(QUEUE_HDRLEN + len)) == -1) return -1;
  if (lseek(w->fd, (off_t)(QUEUE_HDRLEN + len), SEEK_SET) == -1) return -1;
  w->msglen = len;
  return 0;
}
