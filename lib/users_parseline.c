/*
 * users_parseline: one line of control/users, "user@domain:HASH[:MAILBOX]".
 * The address is lowercased; the user part must be a dot-atom without '/'
 * and the domain a host name, because the default mailbox
 * "mail/DOMAIN/USER/" is a path made of them ("../x" must never be one).
 * Blanks around the line are trimmed; a line starting with '#' is a comment.
 */
#include <string.h>
#include "addr.h"
#include "users.h"

static int blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static int printable(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 32 || c == 127) return 0;
  }
  return 1;
}

static int put(stralloc *sa, const char *s, size_t len)
{
  if (!stralloc_copyb(sa, s, len) || !stralloc_0(sa)) return 0;
  sa->len--;
  return 1;
}

int users_parseline(struct user *u, const char *line, size_t len)
{
  struct addr a;
  const char *c1;
  const char *c2;
  const char *hash;
  size_t hlen;
  size_t klen;
  size_t i;

  while (len > 0 && blank(line[0])) {
    line++;
    len--;
  }
  while (len > 0 && blank(line[len - 1])) len--;
  if (len == 0 || line[0] == '#') return 0;
  if (!printable(line, len)) return -1;

  c1 = memchr(line, ':', len);
  if (c1 == NULL) return -1;
  klen = (size_t)(c1 - line);
  hash = c1 + 1;
  c2 = memchr(hash, ':', len - klen - 1);
  hlen = (c2 != NULL) ? (size_t)(c2 - hash) : len - klen - 1;
  if (hlen == 0) return -1;

  if (addr_set(&a, line, klen) != 1 || a.null || a.at == a.len || a.literal) return -1;
  if (!addr_isdotatom(a.s, a.at) || memchr(a.s, '/', a.at) != NULL) return -1;
  for (i = 0; i < a.len; i++)
    if (a.s[i] >= 'A' && a.s[i] <= 'Z') a.s[i] = (char)(a.s[i] + 32);

  if (!put(&u->key, a.s, a.len) || !put(&u->hash, hash, hlen)) return -1;

  if (c2 != NULL && (size_t)(line + len - (c2 + 1)) > 0) {
    if (!put(&u->mailbox, c2 + 1, (size_t)(line + len - (c2 + 1)))) return -1;
  } else {
    /* mail/DOMAIN/USER/ */
    if (!stralloc_copyb(&u->mailbox, "mail/", 5) ||
        !stralloc_catb(&u->mailbox, a.s + a.at + 1, a.len - a.at - 1) ||
        !stralloc_catb(&u->mailbox, "/", 1) || !stralloc_catb(&u->mailbox, a.s, a.at) ||
        !stralloc_catb(&u->mailbox, "/", 1) || !stralloc_0(&u->mailbox))
      return -1;
    u->mailbox.len--;
  }
  return 1;
}
