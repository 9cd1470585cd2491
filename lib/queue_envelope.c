/* queue_envelope: raw envelope records after the message (see queue.h);
 * the first call puts the I record and the P record (if any) first. */
#include <errno.h>
#include <string.h>
#include "queue.h"

static int env_add(struct queue_writer *w, const char *env, size_t len)
{
  if (len > sizeof w->buf - w->buflen) {
    if (queue_flush(w) == -1) return -1;
    if (len >= sizeof w->buf) return queue_write(w, env, len);
  }
  memcpy(w->buf + w->buflen, env, len);
  w->buflen += len;
  return 0;
}

/* "TAGvalue\0" for a queue id (at most QUEUE_ID_MAX - 1 bytes) */
static int id_record(struct queue_writer *w, char tag, const char *id)
{
  char rec[QUEUE_ID_MAX + 2];
  size_t len = strnlen(id, QUEUE_ID_MAX);

  if (len == 0 || len >= QUEUE_ID_MAX) {
    errno = EINVAL;
    return -1;
  }
  rec[0] = tag;
  memcpy(rec + 1, id, len);
  rec[len + 1] = '\0';
  return env_add(w, rec, len + 2);
}

int queue_envelope(struct queue_writer *w, const char *env, size_t len)
{
  if (w->fd == -1) {
    errno = EINVAL;
    return -1;
  }
  if (!w->in_envelope) {
    w->in_envelope = 1;
    if (id_record(w, 'I', w->id) == -1) return -1;
    if (w->parent != NULL && id_record(w, 'P', w->parent) == -1) return -1;
  }
  return env_add(w, env, len);
}
