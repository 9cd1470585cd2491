/* queue_flush: write out the queue writer's buffer. */
#include <errno.h>
#include "queue.h"

int queue_flush(struct queue_writer *w)
{
  if (w->failed) {
    errno = w->failed;
    return -1;
  }
  if (w->buflen == 0) return 0;
  if (queue_write(w, w->buf, w->buflen) == -1) return -1;
  w->buflen = 0;
  return 0;
}
