/*
 * aliases_subst: a catch-all's target with "%1" replaced by the local part
 * (lib/aliases.h). The local part comes from the sender of the mail, so
 * it may never change what the target is: an address stays an address
 * (a local part "|cmd" or "/path" in "%1@example.org" would make a
 * command or a file of it), and a command, file, include or error target
 * takes only a plain local part (letters, digits, "._+=-", not starting
 * with '.' or '-'), since no quoting is safe for every shell and path.
 */
#include <string.h>
#include <strings.h>

#include "aliases.h"

/* The kind of target t, as qlocal tells them apart: 'p' command, 'f'
 * file, 'i' include, 'e' error, 'b' a "\name", 'a' an address. */
static char kind(const char *t)
{
  if (t[0] == '|') return 'p';
  if (t[0] == '/') return 'f';
  if (strncasecmp(t, ":include:", 9) == 0) return 'i';
  if (strncasecmp(t, "error:", 6) == 0) return 'e';
  if (t[0] == '\\') return 'b';
  return 'a';
}

static int plain(const char *s, size_t len)
{
  size_t i;

  if (len == 0 || s[0] == '.' || s[0] == '-') return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("._+=-", c) != NULL))
      return 0;
  }
  return 1;
}

int aliases_subst(stralloc *out, const char *t, const char *local, size_t local_len)
{
  size_t start = out->len;
  const char *res;
  char k = kind(t);
  size_t i;

  if (k != 'a' && k != 'b' && strstr(t, "%1") != NULL && !plain(local, local_len)) return 1;
  /* a quoted local part "x@else.example" would make "%1" an address elsewhere: a relay */
  if (strstr(t, "%1") != NULL && memchr(local, '@', local_len) != NULL) return 1;
  for (i = 0; t[i] != '\0'; i++) {
    if (t[i] == '%' && t[i + 1] == '1') {
      if (!stralloc_catb(out, local, local_len)) return -1;
      i++;
      continue;
    }
    if (!stralloc_append(out, t + i)) return -1;
  }
  if (!stralloc_0(out)) return -1;
  res = out->s + start;
  /* an address (or a "\name") must still be one, after the backslash too */
  if (k == 'a' || k == 'b') {
    if (kind(res) != k || (k == 'b' && kind(res + 1) != kind(t + 1)) || res[0] == '"' ||
        res[0] == ':' || (k == 'b' && (res[1] == '"' || res[1] == ':'))) {
      out->len = start;
      return 1;
    }
  }
  return 0;
}
