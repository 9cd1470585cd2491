/* queue_env_free: release what queue_env_read allocated; e is zero after. */
#include <stdlib.h>
#include "queue.h"

void queue_env_free(struct queue_env *e)
{
  stralloc_free(&e->env);
  e->env.s = NULL;
  e->env.len = e->env.a = 0;
  free(e->rcpt);
  e->rcpt = NULL;
  e->rcpt_count = e->rcpt_alloc = 0;
  e->arrival = e->msglen = 0;
  e->sender = e->ret = e->envid = 0;
}
