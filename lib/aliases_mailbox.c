/*
 * aliases_mailbox: does a target of an alias mean a mailbox itself, with
 * no further aliasing (lib/aliases.h)? "\name" and "\name@domain" do
 * (sendmail's backslash), and so does the alias's own address among its
 * targets ("dl: dl, lee", a keep-a-copy alias). A bare name takes the
 * domain of the address the alias was looked up for.
 */
#include <string.h>
#include <strings.h>

#include "aliases.h"

static int is_address(const char *t)
{
  return t[0] != '\0' && t[0] != '|' && t[0] != '/' && strncasecmp(t, ":include:", 9) != 0 &&
         strncasecmp(t, "error:", 6) != 0;
}

int aliases_mailbox(const char *t, const char *rcpt, size_t rlen, stralloc *out)
{
  const char *at = memchr(rcpt, '@', rlen);
  int backslash = t[0] == '\\';

  if (at == NULL) return 0;
  at = memrchr(rcpt, '@', rlen);
  if (backslash) t++;
  if (!is_address(t)) return 0;
  out->len = 0;
  if (!stralloc_cats(out, t)) return -1;
  if (strchr(t, '@') == NULL && !stralloc_catb(out, at, rlen - (size_t)(at - rcpt))) return -1;
  if (backslash) return 1;
  return out->len == rlen && strncasecmp(out->s, rcpt, rlen) == 0;
}
