/*
 * queue_pool_relief: a writer that found no space (ENOSPC, EDQUOT) frees
 * what queue/pool holds, once per message, and says whether that freed
 * anything worth another try. The pool only caches space for messages to
 * come: it must never be the reason a message is refused.
 * The pool is sticky (qsetup): a writer removes only its own files. When
 * others' remain, it asks qsend (their remover: the pool is its directory)
 * through the trigger and waits for them to go, RELIEF_WAIT_STEPS times
 * RELIEF_WAIT_STEP_NS at most.
 */
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include "queue.h"

#define RELIEF_WAIT_STEPS 40
#define RELIEF_WAIT_STEP_NS 50000000L /* 40 x 50 ms: qsend reads the trigger at once */

/* 1 if queue/pool holds no plain file (what holds space); 0 otherwise or unknown */
static int pool_empty(void)
{
  DIR *dir = opendir("queue/pool");
  struct dirent *d;
  int empty = 1;

  if (dir == NULL) return 0;
  while (empty && (d = readdir(dir)) != NULL)
    if (d->d_name[0] != '.' && (d->d_type == DT_REG || d->d_type == DT_UNKNOWN)) empty = 0;
  closedir(dir);
  return empty;
}

int queue_pool_relief(struct queue_writer *w, int e)
{
  int freed;
  int i;

  if ((e != ENOSPC && e != EDQUOT) || w->drained) return 0;
  w->drained = 1;
  freed = queue_pool_drain() > 0;
  if (pool_empty()) return freed;
  /* files of other owners (the sticky bit keeps them from us): qsend's */
  queue_trigger_drain();
  for (i = 0; i < RELIEF_WAIT_STEPS; i++) {
    struct timespec step = {0, RELIEF_WAIT_STEP_NS};

    nanosleep(&step, NULL);
    if (pool_empty()) return 1;
  }
  errno = e;
  return freed;
}
