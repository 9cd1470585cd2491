/* queue_envelope: raw envelope records after the message (see queue.h). */
#include <errno.h>
#include <string.h>
#include "queue.h"

int queue_envelope(struct queue_writer *w, const char *env, size_t len)
{
  if (w->fd == -1) {
    errno = EINVAL;
    return -1;
  }
  w->in_envelope = 1;

  if (len > sizeof w->buf - w->buflen) {
    if (queue_flush(w) == -1) return -1;
    if (len >= sizeof w->buf) return queue_write(w, env, len);
  }
  memcpy(w->buf + w->buflen, env, len);
  w->buflen += len;
  return 0;
}
