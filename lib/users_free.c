/* users_free: release a struct user; it is zero afterwards. */
#include "users.h"

void users_free(struct user *u)
{
  stralloc_free(&u->key);
  stralloc_free(&u->hash);
  stralloc_free(&u->mailbox);
  u->key = (stralloc){0};
  u->hash = (stralloc){0};
  u->mailbox = (stralloc){0};
}
