/* ctl_readline: the first entry of a control file, or a default. */
#include <errno.h>
#include <string.h>
#include "ctl.h"

int ctl_readline(stralloc *sa, const char *fn, const char *def)
{
  stralloc file = {0};
  size_t pos = 0;
  size_t start;
  size_t elen;
  int r;

  r = ctl_readfile(&file, fn);
  if (r == -1) {
    int e = errno;
    stralloc_free(&file);
    errno = e;
    return -1;
  }
  if (r == 1 && ctl_nextentry(file.s, file.len, &pos, &start, &elen) == 1) {
    r = stralloc_copyb(sa, file.s + start, elen);
    stralloc_free(&file);
    if (!r) {
      errno = ENOMEM;
      return -1;
    }
    return 1;
  }
  stralloc_free(&file);

  sa->len = 0;
  if (def != NULL && !stralloc_copyb(sa, def, strlen(def))) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}
