/*
 * maps_users: control/users -> control/users.cdb ("MAILBOX\0") and
 * control/passwords.cdb ("HASH\0"), both keyed "user@domain" in
 * lowercase (lib/users.h). A new passwords.cdb is mode 0640, and on a
 * root instance of group qmta-auth, the account of qauthd; later
 * compiles keep the owner and mode of each map.
 */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "maps.h"
#include "users.h"

/* Starts passwords.cdb; a new one gets the group of qauthd's account. */
static int passwords_start(struct cdbmap_writer *w)
{
  struct stat st;
  struct group *gr;
  int fresh = stat(PASSWORDS_CDB, &st) == -1 && errno == ENOENT;

  if (maps_writer_start(w, PASSWORDS_CDB, 0640) == -1) return -1;
  if (fresh && geteuid() == 0 && (gr = getgrnam(ACCT_AUTH)) != NULL &&
      fchown(w->fd, (uid_t)-1, gr->gr_gid) == -1) {
    int e = errno;
    cdbmap_abort(w);
    errno = e;
    return -1;
  }
  return 0;
}

int maps_users(void)
{
  struct maps_src src;
  struct cdbmap_writer w;
  struct cdbmap_writer pw;
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
  if (maps_writer_start(&w, USERS_CDB, 0644) == -1) {
    e = errno;
    maps_close(&src);
    errno = e;
    return -1;
  }
  if (passwords_start(&pw) == -1) {
    e = errno;
    cdbmap_abort(&w);
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
    if (src.errors > 0) continue;
    if (!stralloc_copyb(&val, u.mailbox.s, u.mailbox.len) || !stralloc_0(&val)) goto nomem;
    if (cdbmap_add(&w, u.key.s, u.key.len, val.s, val.len) == -1) goto fail;
    if (cdbmap_add(&pw, u.key.s, u.key.len, u.hash.s, u.hash.len + 1) == -1) goto fail;
  }
  if (r == -1) goto fail;

  maps_entries = seen.count;
  maps_close(&src);
  users_free(&u);
  stralloc_free(&val);
  maps_keyset_free(&seen);
  if (src.errors > 0) {
    cdbmap_abort(&pw);
    cdbmap_abort(&w);
    return 1;
  }
  /* the hashes first: a user in users.cdb always has its hash */
  if (cdbmap_finish(&pw) == -1) {
    e = errno;
    cdbmap_abort(&w);
    errno = e;
    return -1;
  }
  return cdbmap_finish(&w);

nomem:
  errno = ENOMEM;
fail:
  e = errno;
  cdbmap_abort(&pw);
  cdbmap_abort(&w);
  maps_close(&src);
  users_free(&u);
  stralloc_free(&val);
  maps_keyset_free(&seen);
  errno = e;
  return -1;
}
