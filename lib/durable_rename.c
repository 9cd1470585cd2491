/* durable_rename: durable_replace with the directory taken from final. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "durable.h"

int durable_rename(const char *tmp, const char *final)
{
  const char *slash = strrchr(final, '/');
  char *dir;
  int r;
  int e;

  if (slash == NULL) return durable_replace(".", tmp, final);
  if (slash == final) return durable_replace("/", tmp, final);

  dir = strndup(final, (size_t)(slash - final));
  if (dir == NULL) {
    errno = ENOMEM;
    return -1;
  }
  r = durable_replace(dir, tmp, final);
  e = errno;
  free(dir);
  errno = e;
  return r;
}
