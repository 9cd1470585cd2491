/*
 * ctl_nextentry: the next entry of a control file's text. '#' starts a
 * comment to the end of the line; spaces, tabs and a CR are trimmed on
 * both sides; empty lines are skipped. A NUL byte ends a line too.
 */
#include "ctl.h"

static int ctl_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int ctl_nextentry(const char *s, size_t len, size_t *pos, size_t *start, size_t *elen)
{
  size_t i = *pos;

  while (i < len) {
    size_t b = i;
    size_t e;
    size_t next;

    while (i < len && s[i] != '\n' && s[i] != '\0') i++;
    next = (i < len) ? i + 1 : i;
    e = i;
    for (i = b; i < e; i++)
      if (s[i] == '#') break;
    e = i;
    while (b < e && ctl_blank(s[b])) b++;
    while (e > b && ctl_blank(s[e - 1])) e--;
    i = next;
    if (e > b) {
      *pos = next;
      *start = b;
      *elen = e - b;
      return 1;
    }
  }
  *pos = len;
  return 0;
}
