/* queue_path: "queue/WHICH/NN/ID" (NN = ID % QUEUE_SPLIT) or "queue/new/ID". */
#include <fmt.h>
#include <string.h>
#include "queue.h"

char *queue_path(char *buf, const char *which, unsigned long id)
{
  size_t w = strnlen(which, 16);
  size_t o = 0;

  memcpy(buf, "queue/", 6);
  o = 6;
  memcpy(buf + o, which, w);
  o += w;
  buf[o++] = '/';
  if (!(w == 3 && memcmp(which, "new", 3) == 0)) {
    o += fmt_ulong(buf + o, id % QUEUE_SPLIT);
    buf[o++] = '/';
  }
  o += fmt_ulong(buf + o, id);
  buf[o] = '\0';
  return buf;
}
