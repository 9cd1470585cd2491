/* ctl_readlist: every entry of a control file, each followed by '\0'. */
#include <errno.h>
#include "ctl.h"

int ctl_readlist(stralloc *sa, const char *fn)
{
  stralloc file = {0};
  size_t pos = 0;
  size_t start;
  size_t elen;
  int r;

  sa->len = 0;
  r = ctl_readfile(&file, fn);
  if (r != 1) {
    int e = errno;
    stralloc_free(&file);
    errno = e;
    return r;
  }
  while (ctl_nextentry(file.s, file.len, &pos, &start, &elen) == 1) {
    if (!stralloc_catb(sa, file.s + start, elen) || !stralloc_0(sa)) {
      stralloc_free(&file);
      sa->len = 0;
      errno = ENOMEM;
      return -1;
    }
  }
  stralloc_free(&file);
  return 1;
}
