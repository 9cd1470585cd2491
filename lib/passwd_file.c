/*
 * passwd_file: an account of /etc/passwd found by name, read directly
 * (accounts.h). The programs started per message or connection are linked
 * statically, where glibc's getpwnam would need its shared NSS modules at
 * run time; so they read the file, as musl's getpwnam does.
 */
#include <string.h>

#include <openreadclose.h>
#include <scan.h>
#include <stralloc.h>

#include "accounts.h"

#define PASSWD_FILE "/etc/passwd"

/* Field k (0-based) of line s (len bytes, no '\n'): *f and its length. */
static size_t field(const char *s, size_t len, int k, const char **f)
{
  size_t i = 0;
  size_t n;

  while (k-- > 0) {
    const char *c = memchr(s + i, ':', len - i);
    if (c == NULL) return (size_t)-1;
    i = (size_t)(c - s) + 1;
  }
  *f = s + i;
  for (n = 0; i + n < len && s[i + n] != ':'; n++) {}
  return n;
}

static int number(const char *s, size_t len, int k, unsigned long *v)
{
  const char *f;
  size_t n = field(s, len, k, &f);

  return n != (size_t)-1 && n > 0 && scan_ulong(f, v) == n;
}

int passwd_file(const char *name, size_t len, struct passwd_entry *e)
{
  stralloc sa = {0};
  size_t i;
  int found = 0;

  if (len == 0 || memchr(name, ':', len) != NULL) return 0;
  if (openreadclose(PASSWD_FILE, &sa, 4096) != 1) {
    stralloc_free(&sa);
    return -1;
  }
  for (i = 0; i < sa.len && !found;) {
    const char *line = sa.s + i;
    const char *nl = memchr(line, '\n', sa.len - i);
    size_t l = nl != NULL ? (size_t)(nl - line) : sa.len - i;
    const char *home;
    size_t hlen;

    if (l > len && memcmp(line, name, len) == 0 && line[len] == ':' &&
        number(line, l, 2, &e->uid) && number(line, l, 3, &e->gid) &&
        (hlen = field(line, l, 5, &home)) != (size_t)-1 && hlen < sizeof e->home) {
      memcpy(e->home, home, hlen);
      e->home[hlen] = '\0';
      found = 1;
    }
    i += l + 1;
  }
  stralloc_free(&sa);
  return found;
}
