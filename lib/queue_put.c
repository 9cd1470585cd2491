/* queue_put: message bytes into the queue file being written. */
#include <errno.h>
#include <string.h>
#include "queue.h"

int queue_put(struct queue_writer *w, const char *s, size_t len)
{
  if (w->fd == -1 || w->in_envelope) {
    errno = EINVAL;
    return -1;
  }
  /* 20 digits in the header hold any unsigned long long */
  if (__builtin_add_overflow(w->msglen, (unsigned long long)len, &w->msglen)) {
    errno = EFBIG;
    return -1;
  }

  if (len > sizeof w->buf - w->buflen) {
    if (queue_flush(w) == -1) return -1;
    if (len >= sizeof w->buf) return queue_write(w, s, len);
  }
  memcpy(w->buf + w->buflen, s, len);
  w->buflen += len;
  return 0;
}
