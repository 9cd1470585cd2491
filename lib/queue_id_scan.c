/*
 * queue_id_scan: the inode number a queue id names (queue.h): the base-36
 * digits after the time part of an id, or the whole of an old id (a
 * message queued before ids had a time part: its decimal inode number).
 */
#include <string.h>
#include "queue.h"

static int digit36(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}

int queue_id_scan(const char *id, unsigned long long *inode)
{
  size_t len = strnlen(id, QUEUE_ID_MAX);
  unsigned long long n = 0;
  unsigned int base = 36;
  size_t i = QUEUE_ID_TIMELEN;

  if (len == 0 || len >= QUEUE_ID_MAX) return -1;
  if (len <= QUEUE_ID_TIMELEN) { /* an old id: decimal */
    base = 10;
    i = 0;
  }
  for (size_t k = 0; k < len; k++) {
    int d = digit36(id[k]);

    if (d == -1 || (unsigned int)d >= base) return -1;
    if (k < i) continue;
    if (n > (~0ULL - (unsigned int)d) / base) return -1;
    n = n * base + (unsigned int)d;
  }
  *inode = n;
  return 0;
}
