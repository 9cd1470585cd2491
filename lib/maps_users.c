/*
 * maps_users: control/users -> control/users.cdb (lib/users.h).
 * key "user@domain" lowercase; value "HASH\0MAILBOX\0". A new users.cdb
 * is mode 0640: it holds password hashes (qsetup gives it the group of
 * the accounts that check passwords; later compiles keep owner and mode).
 */
#include <errno.h>
#include <string.h>

#include "maps.h"
#include "users.h"

int maps_users(void)
{
  struct maps_src src;
  struct cdbmap_writer w;
  struct maps_keyset seen = {0};
  struct user u = {0};
  stralloc val = {0};
  char line[MAPS_LINE_MAX];
  size_t len;
  int r;
  int e;

  maps_entries = 0;
  r = maps_open(&src, USERS_TEXT);
  if (r != 1) return r;
  if (maps_writer_start(&w, USERS_CDB, 0640) == -1) {
    e = errno;
    maps_close(&src);
    errno = e;
    return -1;
  }

  while ((r = maps_line(&src, line, sizeof line, &len)) == 1) {
    int p = users_parseline(&u, line, len);
    if (p == 0) continue;
    if (p == -1) {
      maps_error(&src, "bad line (want user@domain:HASH[:MAILBOX])", NULL);
      continue;
    }
    if (u.hash.s[0] != '$' && strcmp(u.hash.s, "!") != 0 && strcmp(u.hash.s, "*") != 0) {
      maps_error(&src, "not a crypt(3) hash (set passwords with qpasswd) for ", u.key.s);
      continue;
    }
    r = maps_keyset_add(&seen, u.key.s, u.key.len);
    if (r == -1) goto nomem;
    if (r == 0) {
      maps_error(&src, "duplicate user ", u.key.s);
      continue;
    }
    if (!stralloc_copyb(&val, u.hash.s, u.hash.len) || !stralloc_0(&val) ||
        !stralloc_catb(&val, u.mailbox.s, u.mailbox.len) || !stralloc_0(&val))
      goto nomem;
    if (src.errors == 0 && cdbmap_add(&w, u.key.s, u.key.len, val.s, val.len) == -1) goto fail;
  }
  if (r == -1) goto fail;

  maps_entries = seen.count;
  maps_close(&src);
  users_free(&u);
  stralloc_free(&val);
  maps_keyset_free(&seen);
  if (src.errors > 0) {
    cdbmap_abort(&w);
    return 1;
  }
  return cdbmap_finish(&w);

nomem:
  errno = ENOMEM;
fail:
  e = errno;
  cdbmap_abort(&w);
  maps_close(&src);
  users_free(&u);
  stralloc_free(&val);
  maps_keyset_free(&seen);
  errno = e;
  return -1;
}
