/*
 * users_find: a virtual user in control/users.cdb. The value is
 * "HASH\0MAILBOX\0"; anything else is a broken map (EINVAL).
 */
#include <errno.h>
#include <string.h>
#include "cdbmap.h"
#include "users.h"

int users_find(struct user *u, const char *s, size_t len)
{
  stralloc val = {0};
  const char *z;
  size_t i;
  size_t hlen;
  int r;

  if (!stralloc_copyb(&u->key, s, len) || !stralloc_0(&u->key)) {
    errno = ENOMEM;
    return -1;
  }
  u->key.len--;
  for (i = 0; i < len; i++)
    if (u->key.s[i] >= 'A' && u->key.s[i] <= 'Z') u->key.s[i] = (char)(u->key.s[i] + 32);

  r = cdbmap_lookup(USERS_CDB, u->key.s, u->key.len, &val);
  if (r != 1) {
    int e = errno;
    stralloc_free(&val);
    errno = e;
    return r;
  }

  z = (val.len > 0) ? memchr(val.s, '\0', val.len) : NULL;
  if (z == NULL || val.s[val.len - 1] != '\0' || z == val.s + val.len - 1 ||
      memchr(z + 1, '\0', val.len - (size_t)(z + 1 - val.s) - 1) != NULL) {
    stralloc_free(&val);
    errno = EINVAL;
    return -1;
  }
  hlen = (size_t)(z - val.s);
  if (!stralloc_copyb(&u->hash, val.s, hlen + 1) ||
      !stralloc_copyb(&u->mailbox, z + 1, val.len - hlen - 1)) {
    stralloc_free(&val);
    errno = ENOMEM;
    return -1;
  }
  u->hash.len--;
  u->mailbox.len--;
  stralloc_free(&val);
  return 1;
}
