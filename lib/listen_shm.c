/*
 * listen_shm: the session program's side of qlisten's shared table
 * (listenproto.h): its slot's progress and the stress flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "listenproto.h"

static struct listen_shm *table;
static struct listen_slot *mine;

/* A decimal descriptor or slot number from the environment; -1 if absent or bad. */
static long env_number(const char *name)
{
  const char *v = getenv(name);
  long n = 0;
  size_t i;

  if (v == NULL || v[0] == '\0') return -1;
  for (i = 0; v[i] != '\0'; i++) {
    if (v[i] < '0' || v[i] > '9' || i >= 9) return -1;
    n = n * 10 + (v[i] - '0');
  }
  return n;
}

static int attach_slot(void *p, const struct stat *st, long slot)
{
  table = p;
  if ((uint32_t)slot >= table->slots) {
    munmap(p, (size_t)st->st_size);
    table = NULL;
    errno = EINVAL;
    return -1;
  }
  mine = &table->slot[slot];
  return 1;
}

int listen_attach(int keep)
{
  long fd = env_number("QLISTENSHM");
  long slot = env_number("QLISTENSLOT");
  struct stat st;
  void *p;

  if (fd < 3 || slot < 0) return 0;
  if (fstat((int)fd, &st) == -1) return -1;
  if ((size_t)st.st_size < sizeof *table + ((size_t)slot + 1) * sizeof(struct listen_slot)) {
    close((int)fd);
    errno = EINVAL;
    return -1;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
  if (keep) return p == MAP_FAILED ? -1 : attach_slot(p, &st, slot);
  close((int)fd);
  if (p == MAP_FAILED) return -1;
  unsetenv("QLISTENSHM"); /* never to a child: the descriptor is gone */
  unsetenv("QLISTENSLOT");
  return attach_slot(p, &st, slot);
}

void listen_progress(void)
{
  struct timespec now;

  if (mine == NULL) return;
  clock_gettime(CLOCK_MONOTONIC, &now);
  mine->progress = (uint32_t)now.tv_sec;
}

int listen_stress(void)
{
  return table != NULL && table->stress != 0;
}
