/*
 * aliases_namesself: does an alias name the address it was looked up for
 * among its targets (lib/aliases.h)?
 */
#include <string.h>
#include <strings.h>

#include "aliases.h"

int aliases_namesself(const stralloc *val, const char *rcpt, size_t rlen)
{
  stralloc box = {0};
  size_t i;
  int r = 0;

  for (i = 0; i < val->len && r == 0; i += strlen(val->s + i) + 1) {
    r = aliases_mailbox(val->s + i, rcpt, rlen, &box);
    if (r == 1 && (box.len != rlen || strncasecmp(box.s, rcpt, rlen) != 0)) r = 0;
  }
  stralloc_free(&box);
  return r;
}
