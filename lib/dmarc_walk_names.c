/*
 * dmarc_walk_names: the names a DNS tree walk asks (RFC 9989).
 * libc only (dmarc.h). Library code.
 */
#include <string.h>

#include "dmarc.h"

#define JUMP_LABELS 7 /* a longer name is cut to this many labels after its own query */

int dmarc_walk_names(const char *domain, const char *names[DMARC_WALK_MAX])
{
  const char *label[DMARC_DOMAIN_MAX / 2 + 2]; /* where each label starts */
  size_t labels = 0;
  size_t next;
  int count = 0;
  const char *p;

  if (domain[0] == '\0') return 0;
  label[labels++] = domain;
  for (p = domain; *p != '\0' && labels < sizeof label / sizeof label[0]; p++)
    if (*p == '.' && p[1] != '\0') label[labels++] = p + 1;

  names[count++] = domain;
  /* x labels: x < 8 drops the leftmost one, x >= 8 keeps the last 7 */
  next = labels >= JUMP_LABELS + 1 ? labels - JUMP_LABELS : 1;
  for (; next < labels && count < DMARC_WALK_MAX; next++) names[count++] = label[next];
  return count;
}
