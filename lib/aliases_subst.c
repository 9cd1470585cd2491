/*
 * aliases_subst: a catch-all's target with "%1" replaced by the local part
 * (lib/aliases.h).
 */
#include "aliases.h"

int aliases_subst(stralloc *out, const char *t, const char *local, size_t local_len)
{
  size_t i;

  for (i = 0; t[i] != '\0'; i++) {
    if (t[i] == '%' && t[i + 1] == '1') {
      if (!stralloc_catb(out, local, local_len)) return -1;
      i++;
      continue;
    }
    if (!stralloc_append(out, t + i)) return -1;
  }
  return stralloc_0(out) ? 0 : -1;
}
