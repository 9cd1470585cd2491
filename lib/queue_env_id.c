/*
 * queue_env_id: the id of a queue file from its I record, if that record
 * is a well-formed id naming this very file (its inode); else the id of
 * that inode with a time part of zeros. So no writer can give its message
 * another message's id, and every id has the one form.
 */
#include <string.h>
#include "queue.h"

size_t queue_env_id(const struct queue_env *e, unsigned long long inode, char *dest)
{
  if (e->qid != (size_t)-1) {
    const char *id = queue_env_str(e, e->qid);
    size_t len = strnlen(id, QUEUE_ID_MAX);
    unsigned long long named;

    if (len > QUEUE_ID_TIMELEN && len < QUEUE_ID_MAX && queue_id_scan(id, &named) == 0 &&
        named == inode) {
      memcpy(dest, id, len + 1);
      return len;
    }
  }
  return queue_id_fmt(dest, 0, inode);
}
