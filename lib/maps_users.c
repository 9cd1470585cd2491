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

struct users_state {
  struct cdbmap_writer pw; /* passwords.cdb, beside users.cdb (job.w) */
  int pw_open;
  struct user u;
  stralloc val;
};

static int users_begin(struct maps_job *job)
{
  struct users_state *st = job->state;

  if (passwords_start(&st->pw) == -1) return -1;
  st->pw_open = 1;
  return 0;
}

/* One line: "user@domain:HASH[:MAILBOX]", or a comment, or blank. */
static int users_line(struct maps_job *job, char *line, size_t len)
{
  struct users_state *st = job->state;
  struct user *u = &st->u;
  int p = users_parseline(u, line, len);
  int r;

  if (p == 0) return 0;
  if (p == -1) {
    maps_error(&job->src, "bad line (want user@domain:HASH[:MAILBOX])", NULL);
    return 0;
  }
  if (u->hash.s[0] != '$' && strcmp(u->hash.s, "!") != 0 && strcmp(u->hash.s, "*") != 0) {
    maps_error(&job->src, "not a crypt(3) hash (set passwords with qpasswd) for ", u->key.s);
    return 0;
  }
  r = maps_keyset_add(&job->seen, u->key.s, u->key.len);
  if (r == -1) {
    errno = ENOMEM;
    return -1;
  }
  if (r == 0) {
    maps_error(&job->src, "duplicate user ", u->key.s);
    return 0;
  }
  if (job->src.errors > 0) return 0;
  if (!stralloc_copyb(&st->val, u->mailbox.s, u->mailbox.len) || !stralloc_0(&st->val)) {
    errno = ENOMEM;
    return -1;
  }
  if (cdbmap_add(&job->w, u->key.s, u->key.len, st->val.s, st->val.len) == -1) return -1;
  return cdbmap_add(&st->pw, u->key.s, u->key.len, u->hash.s, u->hash.len + 1);
}

static int users_end(struct maps_job *job)
{
  maps_entries = job->seen.count;
  return 0;
}

/* The hashes first: a user in users.cdb always has its hash. */
static int users_finish(struct maps_job *job)
{
  struct users_state *st = job->state;

  st->pw_open = 0;
  if (cdbmap_finish(&st->pw) == -1) {
    int e = errno;
    cdbmap_abort(&job->w);
    errno = e;
    return -1;
  }
  return cdbmap_finish(&job->w);
}

static void users_done(struct maps_job *job, int ok)
{
  struct users_state *st = job->state;

  (void)ok;
  if (st->pw_open) cdbmap_abort(&st->pw);
  st->pw_open = 0;
  users_free(&st->u);
  stralloc_free(&st->val);
}

static const struct maps_parser users = {
  .text = USERS_TEXT, .cdb = USERS_CDB, .begin = users_begin, .line = users_line,
  .end = users_end, .finish = users_finish, .done = users_done,
};

int maps_users(void)
{
  struct users_state st = {0};

  maps_entries = 0;
  return maps_run(&users, &st);
}
