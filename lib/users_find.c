/*
 * users_find: a virtual user in control/users.cdb. The value is
 * "MAILBOX\0"; "HASH\0MAILBOX\0", the layout before the hashes moved to
 * passwords.cdb, is read too (its hash ignored) until qnewmaps runs.
 * Anything else is a broken map (EINVAL).
 */
#include <errno.h>
#include <string.h>
#include "cdbmap.h"
#include "users.h"

int users_find(struct user *u, const char *s, size_t len)
{
  stralloc val = {0};
  const char *z;
  const char *mbox;
  size_t i;
  int r;

  if (!stralloc_copyb(&u->key, s, len) || !stralloc_0(&u->key) || !stralloc_copys(&u->hash, "") ||
      !stralloc_0(&u->hash)) {
    errno = ENOMEM;
    return -1;
  }
  u->key.len--;
  u->hash.len--;
  for (i = 0; i < len; i++)
    if (u->key.s[i] >= 'A' && u->key.s[i] <= 'Z') u->key.s[i] = (char)(u->key.s[i] + 32);

  r = cdbmap_lookup(USERS_CDB, u->key.s, u->key.len, &val);
  if (r != 1) {
    int e = errno;
    stralloc_free(&val);
    errno = e;
    return r;
  }

  /* one NUL, at the end; or two, the first not at the start nor the end */
  z = val.len > 0 ? memchr(val.s, '\0', val.len) : NULL;
  mbox = val.s;
  if (z != NULL && z != val.s + val.len - 1 && z != val.s) mbox = z + 1;
  if (z == NULL || val.s[val.len - 1] != '\0' || mbox == val.s + val.len - 1 ||
      memchr(mbox, '\0', val.len - (size_t)(mbox - val.s)) != val.s + val.len - 1) {
    stralloc_free(&val);
    errno = EINVAL;
    return -1;
  }
  if (!stralloc_copyb(&u->mailbox, mbox, val.len - (size_t)(mbox - val.s))) {
    stralloc_free(&val);
    errno = ENOMEM;
    return -1;
  }
  u->mailbox.len--;
  stralloc_free(&val);
  return 1;
}
