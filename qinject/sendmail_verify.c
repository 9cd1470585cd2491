/*
 * sendmail_verify: sendmail -bv, where the maps send each recipient,
 * without sending anything. One line a recipient, sendmail's shape:
 *
 *   ann@example.org... deliverable: mailbox mail/example.org/ann/
 *   info@example.org... deliverable: alias to ann, bob@example.net
 *   x@example.net... deliverable: relayed to example.net
 *   nobody@example.org... User unknown
 *
 * The order is qlspawn's (aliases.h, "Precedence"): a virtual user first
 * (an alias of its address counts only when it names the user), then an
 * alias or catch-all ("%1" filled in), then, on the me domain, a login
 * account. An alias's targets are shown as written, not expanded further;
 * one that means a mailbox ("\\name", the alias's own address) says so.
 */
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <buffer.h>
#include <stralloc.h>

#include "accounts.h"
#include "aliases.h"
#include "ctl.h"
#include "qlog.h"
#include "sendmail.h"
#include "users.h"


static void out(const char *s)
{
  buffer_puts(buffer_1, s);
}

/* A login account for local part addr (len bytes) on a root instance
 * (QHOME is root's): its ~/Maildir/ into box, 1; else 0. */
static int login_account(const char *addr, size_t len, stralloc *box)
{
  struct passwd_entry pe;
  struct stat st;

  if (stat(".", &st) == -1 || st.st_uid != 0 || accounts_login(addr, len, &pe) != 1) return 0;
  return stralloc_copys(box, pe.home) && stralloc_cats(box, "/Maildir/") && stralloc_0(box);
}

/* One recipient (internal form): its line on fd 1; 1 deliverable, 0 not. */
static int verify_one(const char *rcpt, size_t len, const stralloc *locals, const stralloc *me)
{
  struct user u = {0};
  stralloc val = {0};
  stralloc t = {0};
  stralloc box = {0};
  const char *at = memrchr(rcpt, '@', len); /* a quoted local part may hold '@' */
  size_t local_len = at != NULL ? (size_t)(at - rcpt) : len;
  const char *dom = at != NULL ? at + 1 : "";
  size_t dlen = at != NULL ? len - local_len - 1 : 0;
  int user;
  int alias;
  int kind = 0;
  int r = 1;
  size_t i;

  buffer_put(buffer_1, rcpt, len);
  out("... ");
  if (!ctl_islocal(locals, me->s, me->len, rcpt, len)) {
    out("deliverable: relayed to ");
    buffer_put(buffer_1, dom, dlen);
    out("\n");
    return 1;
  }
  user = users_find(&u, rcpt, len);
  alias = aliases_find(rcpt, len, 1, &val, &kind);
  if (user == -1 || alias == -1) qdie_sys(111, "unable to read the maps in control/");
  /* a virtual user's alias counts only when it names the user */
  if (user == 1 && alias == 1 && (kind == 'c' || aliases_namesself(&val, rcpt, len) != 1))
    alias = 0;
  /* a catch-all that refuses this local part ("|cmd" into "%1@x") is none */
  if (alias == 1 && kind == 'c') {
    for (i = 0; alias == 1 && i < val.len; i += strlen(val.s + i) + 1) {
      t.len = 0;
      switch (aliases_subst(&t, val.s + i, rcpt, local_len)) {
        case -1: qdie_nomem();
        case 1: alias = 0;
      }
    }
  }
  if (alias == 1) {
    out(kind == 'c' ? "deliverable: catch-all to " : "deliverable: alias to ");
    for (i = 0; i < val.len; i += strlen(val.s + i) + 1) {
      t.len = 0;
      if (kind == 'c' ? aliases_subst(&t, val.s + i, rcpt, local_len) != 0
                      : !stralloc_copys(&t, val.s + i) || !stralloc_0(&t))
        qdie_nomem();
      if (i > 0) out(", ");
      out(t.s);
      switch (aliases_mailbox(t.s, rcpt, len, &box)) {
        case -1: qdie_nomem();
        case 1: out(" (a mailbox, no further aliasing)");
      }
    }
    out("\n");
  } else if (user == 1) {
    out("deliverable: mailbox ");
    out(u.mailbox.s);
    out("\n");
  } else if (dlen == me->len && strncasecmp(dom, me->s, dlen) == 0 &&
             login_account(rcpt, local_len, &t)) {
    out("deliverable: login account, ");
    out(t.s);
    out("\n");
  } else {
    out("User unknown\n");
    r = 0;
  }
  users_free(&u);
  stralloc_free(&val);
  stralloc_free(&t);
  stralloc_free(&box);
  return r;
}

void verify_rcpts(const stralloc *rcpts, const stralloc *me)
{
  stralloc locals = {0};
  size_t i;
  int all = 1;

  if (ctl_readlist(&locals, "control/locals") == -1) qdie_sys(111, "unable to read control/locals");
  for (i = 0; i < rcpts->len; i += strlen(rcpts->s + i) + 1)
    if (!verify_one(rcpts->s + i, strlen(rcpts->s + i), &locals, me)) all = 0;
  if (buffer_flush(buffer_1) == -1) qdie_sys(111, "unable to write the answer");
  stralloc_free(&locals);
  _exit(all ? 0 : 100);
}
