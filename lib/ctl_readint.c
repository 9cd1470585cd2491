/* ctl_readint: the first entry of a control file as a decimal number. */
#include <errno.h>
#include <limits.h>
#include "ctl.h"

int ctl_readint(unsigned long *val, const char *fn, unsigned long def)
{
  stralloc sa = {0};
  unsigned long n = 0;
  size_t i;
  int r;

  r = ctl_readline(&sa, fn, NULL);
  if (r == -1) {
    int e = errno;
    stralloc_free(&sa);
    errno = e;
    return -1;
  }
  if (r == 0) {
    stralloc_free(&sa);
    *val = def;
    return 0;
  }

  for (i = 0; i < sa.len; i++) {
    unsigned char c = (unsigned char)sa.s[i];
    if (c < '0' || c > '9') {
      stralloc_free(&sa);
      errno = EINVAL;
      return -1;
    }
    if (n > (ULONG_MAX - (c - '0')) / 10) {
      stralloc_free(&sa);
      errno = ERANGE;
      return -1;
    }
    n = n * 10 + (c - '0');
  }
  stralloc_free(&sa);
  *val = n;
  return 1;
}
