/* queue_abort: drop the queue file being written; nothing stays behind. */
#include <errno.h>
#include <unistd.h>
#include "queue.h"

void queue_abort(struct queue_writer *w)
{
  int e = errno;

  if (w->fd != -1) {
    close(w->fd);
    w->fd = -1;
  }
  if (w->tmpname[0] != '\0') {
    unlink(w->tmpname);
    w->tmpname[0] = '\0';
  }
  w->buflen = 0;
  errno = e;
}
