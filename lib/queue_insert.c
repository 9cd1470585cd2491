/*
 * queue_insert: header fields put before the first byte of the message
 * being written (qsmtpd and qinject prepend what qdkimd answers: the
 * DKIM-Signature or Authentication-Results fields, which are known only
 * once the whole message is there).
 *
 * While nothing has left the writer's buffer and the bytes fit, it is a
 * memmove in w->buf. Otherwise the buffer is written out and the
 * message's bytes in the file are moved up by len (queue_splice with
 * nothing cut), and s goes in at QUEUE_HDRLEN. The file is not committed
 * yet, so a failure half-way harms nothing: the caller aborts it. ENOSPC
 * and EDQUOT get queue_pool_relief as every write does.
 */
#include <errno.h>
#include <string.h>

#include "queue.h"

int queue_insert(struct queue_writer *w, const char *s, size_t len)
{
  unsigned long long before = w->msglen;
  unsigned long long total;
  unsigned long long end;

  if (w->fd == -1 || w->in_envelope) {
    errno = EINVAL;
    return -1;
  }
  if (len == 0) return 0;
  if (__builtin_add_overflow(before, (unsigned long long)len, &total) ||
      __builtin_add_overflow(total, (unsigned long long)QUEUE_HDRLEN, &end) ||
      end > (unsigned long long)((~0ULL) >> 1)) { /* must fit an off_t */
    errno = EFBIG;
    return -1;
  }

  /* all of it still in the buffer: header place, then the message */
  if (w->buflen == QUEUE_HDRLEN + before && len <= sizeof w->buf - w->buflen) {
    memmove(w->buf + QUEUE_HDRLEN + len, w->buf + QUEUE_HDRLEN, (size_t)before);
    memcpy(w->buf + QUEUE_HDRLEN, s, len);
    w->buflen += len;
    w->msglen = total;
    return 0;
  }

  return queue_splice(w, 0, s, len); /* in the file: the message moves up */
}
