/*
 * queue_pool_relief: a writer that found no space (ENOSPC, EDQUOT) frees
 * what queue/pool holds, once per message, and says whether that freed
 * anything worth another try. The pool only caches space for messages to
 * come: it must never be the reason a message is refused.
 */
#include <errno.h>
#include "queue.h"

int queue_pool_relief(struct queue_writer *w, int e)
{
  if ((e != ENOSPC && e != EDQUOT) || w->drained) return 0;
  w->drained = 1;
  return queue_pool_drain() > 0;
}
