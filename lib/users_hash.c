/*
 * users_hash: the password hash of a virtual user, from
 * control/passwords.cdb (readable by the password checkers only). The
 * value is "HASH\0"; anything else is a broken map (EINVAL).
 */
#include <errno.h>
#include <string.h>
#include "cdbmap.h"
#include "users.h"

int users_hash(stralloc *hash, const char *key, size_t len)
{
  int r;

  r = cdbmap_lookup(PASSWORDS_CDB, key, len, hash);
  if (r != 1) return r;
  if (hash->len < 2 || memchr(hash->s, '\0', hash->len) != hash->s + hash->len - 1) {
    errno = EINVAL;
    return -1;
  }
  hash->len--;
  return 1;
}
