/* tests/unit/t_users.c: control/users lines and users.cdb lookups. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "tmpdir.h"
#include "cdbmap.h"
#include "users.h"

#define LINE(u, s) users_parseline(u, s, sizeof(s) - 1)

static int is(const stralloc *sa, const char *s)
{
  return sa->len == strlen(s) && memcmp(sa->s, s, sa->len + 1) == 0;
}

int main(void)
{
  struct user u = {0};
  struct cdbmap_writer w;

  plan(43);
  if (chdir(tmpdir_make()) == -1) return 1;
  mkdir("control", 0755);

  ok(LINE(&u, "ann@example.org:$6$salt$hash") == 1 && is(&u.key, "ann@example.org") &&
     is(&u.hash, "$6$salt$hash") && is(&u.mailbox, "mail/example.org/ann/"),
     "line without mailbox: default");
  ok(LINE(&u, "Bob@Example.ORG:$y$j9T$x$y:/var/mail/bob") == 1 && is(&u.key, "bob@example.org") &&
     is(&u.hash, "$y$j9T$x$y") && is(&u.mailbox, "/var/mail/bob"), "mailbox given, key lowercased");
  ok(LINE(&u, "c@x.org:!:mail/x.org/c/") == 1 && is(&u.hash, "!") && is(&u.mailbox, "mail/x.org/c/"),
     "no-password hash");
  ok(LINE(&u, "d@x.org:*:") == 1 && is(&u.mailbox, "mail/x.org/d/"), "empty mailbox: default");
  ok(LINE(&u, "e@x.org:*:C:/odd:path") == 1 && is(&u.mailbox, "C:/odd:path"),
     "mailbox keeps its colons");
  ok(LINE(&u, "  f.g@x.org:*  \r") == 1 && is(&u.key, "f.g@x.org") && is(&u.hash, "*"),
     "blanks and CR trimmed");
  ok(u.key.s[u.key.len] == '\0' && u.hash.s[u.hash.len] == '\0' &&
     u.mailbox.s[u.mailbox.len] == '\0', "NUL-terminated, NUL not counted");

  ok(LINE(&u, "") == 0, "empty line");
  ok(LINE(&u, "   ") == 0, "blank line");
  ok(LINE(&u, "# ann@example.org:x") == 0, "comment");
  ok(LINE(&u, "ann@example.org") == -1, "no hash");
  ok(LINE(&u, "ann@example.org:") == -1, "empty hash");
  ok(LINE(&u, "ann@example.org::mbox") == -1, "empty hash with mailbox");
  ok(LINE(&u, "ann:x") == -1, "no domain");
  ok(LINE(&u, "@example.org:x") == -1, "no user");
  ok(LINE(&u, "postmaster:x") == -1, "bare postmaster is not a virtual user");
  ok(LINE(&u, "a/b@example.org:x") == -1, "slash in the user refused");
  ok(LINE(&u, "../x@example.org:x") == -1, "dot-dot in the user refused");
  ok(LINE(&u, ".x@example.org:x") == -1, "leading dot refused");
  ok(LINE(&u, "a b@example.org:x") == -1, "space in the user refused");
  ok(LINE(&u, "a@ex/ample.org:x") == -1, "slash in the domain refused");
  ok(LINE(&u, "a@..:x") == -1, "dots as the domain refused");
  ok(LINE(&u, "a@[1.2.3.4]:x") == -1, "literal domain refused");
  ok(LINE(&u, "a@x.org:ha\tsh") == -1, "control byte refused");
  ok(users_parseline(&u, "a@x.org:h\0x", 11) == -1, "NUL refused");

  /* users.cdb as qnewmaps writes it, and as it wrote it before the
   * hashes moved to passwords.cdb */
  cdbmap_start(&w, USERS_CDB, 0640);
  cdbmap_add(&w, "ann@example.org", 15, "mail/example.org/ann/\0", 22);
  cdbmap_add(&w, "old@example.org", 15, "$6$s$h\0mail/example.org/old/\0", 29);
  cdbmap_add(&w, "bad1@example.org", 16, "nonul", 5);
  cdbmap_add(&w, "bad2@example.org", 16, "\0mbox\0", 6);
  cdbmap_add(&w, "bad3@example.org", 16, "a\0b\0c\0", 6);
  cdbmap_add(&w, "bad4@example.org", 16, "", 0);
  cdbmap_add(&w, "bad5@example.org", 16, "\0", 1);
  cdbmap_add(&w, "bad6@example.org", 16, "h\0\0", 3);
  ok(cdbmap_finish(&w) == 0, "users.cdb written");

  ok(users_find(&u, "ann@example.org", 15) == 1 && is(&u.hash, "") &&
     is(&u.mailbox, "mail/example.org/ann/"), "find");
  ok(users_find(&u, "old@example.org", 15) == 1 && is(&u.hash, "") &&
     is(&u.mailbox, "mail/example.org/old/"), "find in the old layout: the mailbox, no hash");
  ok(users_find(&u, "ANN@Example.Org", 15) == 1 && is(&u.key, "ann@example.org"), "find: any case");
  ok(users_find(&u, "nobody@example.org", 18) == 0, "find: not a user");
  ok(users_find(&u, "bad1@example.org", 16) == -1 && errno == EINVAL, "broken value: no NUL");
  ok(users_find(&u, "bad2@example.org", 16) == -1 && errno == EINVAL, "broken value: empty first field");
  ok(users_find(&u, "bad3@example.org", 16) == -1 && errno == EINVAL, "broken value: three fields");
  ok(users_find(&u, "bad4@example.org", 16) == -1 && errno == EINVAL, "broken value: empty");
  ok(users_find(&u, "bad5@example.org", 16) == -1 && errno == EINVAL, "broken value: empty mailbox");
  ok(users_find(&u, "bad6@example.org", 16) == -1 && errno == EINVAL, "broken value: empty second field");
  unlink(USERS_CDB);
  ok(users_find(&u, "ann@example.org", 15) == 0, "no users.cdb: not a user");

  /* passwords.cdb */
  {
    stralloc h = {0};
    cdbmap_start(&w, PASSWORDS_CDB, 0640);
    cdbmap_add(&w, "ann@example.org", 15, "$6$s$h\0", 7);
    cdbmap_add(&w, "bad1@example.org", 16, "nonul", 5);
    cdbmap_add(&w, "bad2@example.org", 16, "a\0b\0", 4);
    cdbmap_add(&w, "bad3@example.org", 16, "\0", 1);
    ok(cdbmap_finish(&w) == 0, "passwords.cdb written");
    ok(users_hash(&h, "ann@example.org", 15) == 1 && is(&h, "$6$s$h"), "hash found");
    ok(users_hash(&h, "nobody@example.org", 18) == 0, "hash: not a user");
    ok(users_hash(&h, "bad1@example.org", 16) == -1 && errno == EINVAL, "broken hash: no NUL");
    ok(users_hash(&h, "bad2@example.org", 16) == -1 && errno == EINVAL, "broken hash: two fields");
    ok(users_hash(&h, "bad3@example.org", 16) == -1 && errno == EINVAL, "broken hash: empty");
    unlink(PASSWORDS_CDB);
    stralloc_free(&h);
  }

  users_free(&u);
  tmpdir_remove();
  return done_testing();
}
