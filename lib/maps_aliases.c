/*
 * maps_aliases: control/aliases -> control/aliases.cdb (lib/aliases.h).
 *
 *   name: target, target, ...      a blank at the start of a line continues
 *                                  the entry; '#' at the start: a comment
 *   user@domain<blanks>target      sendmail's virtusertable form (a name with
 *                                  '@', no ':' after it), the same as with ':' 
 * name: a local part, user@domain or @domain. Targets are separated by
 * commas; a target in double quotes may hold commas and blanks (the quotes
 * are removed); "error:" takes the rest of the entry. Checked here: the
 * name, each target's form, %1 only in a catch-all, duplicates.
 * postmaster and mailer-daemon are added (to postmaster@ME) when missing.
 * An alias of a virtual user's address (users.cdb, compiled first) that
 * does not name the user among its targets is shadowed by the user: a
 * warning through maps_warn, not an error.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "aliases.h"
#include "ctl.h"
#include "maps.h"
#include "users.h"

struct entry {
  stralloc text;          /* the logical line: first line and continuations */
  unsigned long lineno;   /* where it started */
};

static int blank(char c) { return c == ' ' || c == '\t'; }

static int isstatus(const char *s, size_t len, size_t *used)
{
  /* x.y.z: class 4 or 5, then 1-3 digits, 1-3 digits (RFC 3463) */
  size_t i = 0;
  int part;

  if (len < 5 || (s[0] != '4' && s[0] != '5') || s[1] != '.') return 0;
  i = 2;
  for (part = 0; part < 2; part++) {
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) i++;
    if (i == start) return 0;
    if (part == 0) {
      if (i >= len || s[i] != '.') return 0;
      i++;
    }
  }
  if (i < len && !blank(s[i])) return 0;
  *used = i;
  return 1;
}

/* What follows "error:", in sendmail's forms: "5.1.1 text",
 * "5.7.0:550 text", "550 text" or a text alone (550 5.7.1). A code that is
 * there must be whole, so that a typo is not taken for the text. NULL ok,
 * or what is wrong. */
static const char *check_error(const char *s, size_t len)
{
  size_t used;
  size_t w = 0;
  char class;

  while (len > 0 && blank(s[0])) { s++; len--; }
  if (len == 0) return "error: needs a status code 4.x.x or 5.x.x, or a text";
  if (!(s[0] >= '0' && s[0] <= '9')) return NULL; /* a text alone */
  class = s[0];
  while (w < len && !blank(s[w]) && s[w] != ':') w++;
  if (isstatus(s, w, &used) && used == w) {
    if (w == len || blank(s[w])) return NULL;
    /* x.y.z:nnn, as in sendmail's virtusertable */
    s += w + 1;
    len -= w + 1;
    if (len >= 3 && s[0] == class && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
        s[2] <= '9' && (len == 3 || blank(s[3])))
      return NULL;
    return "error: x.y.z:nnn needs a reply code of the same class after the colon";
  }
  if (w == 3 && (s[0] == '4' || s[0] == '5') && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
      s[2] <= '9' && (w == len || blank(s[w])))
    return NULL;
  return "error: needs a status code 4.x.x or 5.x.x, or a text";
}

/* Checks one target (quotes already removed). NULL ok, or what is wrong. */
static const char *check_target(const char *t, size_t len, int catchall)
{
  size_t i;
  const char *at;

  if (len == 0) return "empty target";
  for (i = 0; i < len; i++)
    if ((unsigned char)t[i] < 32 || t[i] == 127) return "control character in target";
  if (t[0] == '|') return len > 1 ? NULL : "empty command";
  if (t[0] == '\\') {
    /* "\\name": that mailbox, no further aliasing (sendmail's backslash) */
    t++;
    len--;
    if (len == 0 || t[0] == '|' || t[0] == '/' || t[0] == ':' || t[0] == '\\')
      return "a backslash needs a user name after it";
  }
  if (t[0] == '/') return NULL;
  if (len >= 9 && strncasecmp(t, ":include:", 9) == 0)
    return (len > 9 && t[9] == '/') ? NULL : ":include: needs an absolute path";
  if (len >= 6 && strncasecmp(t, "error:", 6) == 0) return check_error(t + 6, len - 6);
  /* an address: local or local@domain, %1 standing for a local part */
  if (memmem(t, len, "%1", 2) != NULL && !catchall) return "%1 outside a catch-all (@domain)";
  at = memrchr(t, '@', len);
  for (i = 0; i < len; i++)
    if (blank(t[i]) || t[i] == ',' || t[i] == ':' || t[i] == '"') return "bad address";
  if (at == NULL) return maps_islocal(t, len) ? NULL : "bad local part";
  if (at == t || !maps_islocal(t, (size_t)(at - t)) ||
      !maps_isdomain(at + 1, len - (size_t)(at - t) - 1))
    return "bad address";
  return NULL;
}

/* The name before ':' (lowercased in place). NULL ok, or what is wrong. */
static const char *check_name(char *n, size_t len, int *catchall)
{
  char *at = memrchr(n, '@', len);

  *catchall = 0;
  maps_lower(n, len);
  if (at == NULL) return maps_islocal(n, len) ? NULL : "bad alias name";
  if (!maps_isdomain(at + 1, len - (size_t)(at - n) - 1)) return "bad domain in alias name";
  if (at == n) {
    *catchall = 1;
    return NULL;
  }
  return maps_islocal(n, (size_t)(at - n)) ? NULL : "bad alias name";
}

void (*maps_warn)(const char *fn, unsigned long lineno, const char *what, const char *what2);

/* Warns when the alias name (n, nlen bytes; not a catch-all) is the
 * address of a virtual user in a domain of domains (each NUL-terminated)
 * and does not name that user. 0, -1 + errno. */
static int check_shadow(struct maps_src *src, unsigned long lineno, const char *n, size_t nlen,
                        const stralloc *val, const stralloc *domains)
{
  struct user u = {0};
  stralloc addr = {0};
  size_t i = 0;
  int r = 0;
  const char *at = memchr(n, '@', nlen);

  while (r == 0 && (at != NULL ? i == 0 : i < domains->len)) {
    if (!stralloc_copyb(&addr, n, nlen)) goto nomem;
    if (at == NULL) {
      if (!stralloc_append(&addr, "@") || !stralloc_cats(&addr, domains->s + i)) goto nomem;
      i += strlen(domains->s + i) + 1;
    } else {
      i = 1;
    }
    r = users_find(&u, addr.s, addr.len);
    if (r == -1) {
      r = 0; /* no users.cdb to compare with: nothing to say */
      break;
    }
    if (r == 1) {
      r = aliases_namesself(val, addr.s, addr.len);
      if (r == -1) goto nomem;
      if (r == 0 && maps_warn != NULL) {
        if (!stralloc_0(&addr)) goto nomem;
        maps_warn(src->fn, lineno, "the alias is shadowed by the user ", addr.s);
      }
      r = 0;
    }
  }
  users_free(&u);
  stralloc_free(&addr);
  return 0;
nomem:
  users_free(&u);
  stralloc_free(&addr);
  errno = ENOMEM;
  return -1;
}

/* Parses one entry; adds it unless errors were seen. 0, -1 + errno. */
static int do_entry(struct maps_src *src, struct entry *e, struct cdbmap_writer *w,
                    struct maps_keyset *seen, stralloc *val, const stralloc *domains)
{
  char *s = e->text.s;
  size_t len = e->text.len;
  char *colon = memchr(s, ':', len);
  size_t k = 0;
  size_t nlen;
  size_t i;
  int catchall;
  int r;
  const char *why;

  /* sendmail's virtusertable form, "user@domain<blanks>target" (or
   * "@domain"): an address for a name, then blanks, and no ':' next */
  while (k < len && s[k] != ':' && !blank(s[k])) k++;
  if (k < len && blank(s[k]) && memchr(s, '@', k) != NULL) {
    size_t j = k;
    while (j < len && blank(s[j])) j++;
    if (j < len && s[j] != ':') colon = s + k; /* the blank takes the colon's place */
  }
  if (colon == NULL) {
    maps_error_at(src, e->lineno, "missing ':' after the alias name", NULL);
    return 0;
  }
  nlen = (size_t)(colon - s);
  while (nlen > 0 && blank(s[nlen - 1])) nlen--;
  why = check_name(s, nlen, &catchall);
  if (why != NULL) {
    maps_error_at(src, e->lineno, why, NULL);
    return 0;
  }

  val->len = 0;
  i = (size_t)(colon - s) + 1;
  for (;;) {
    size_t start;
    size_t tlen;
    while (i < len && blank(s[i])) i++;
    if (i >= len) break;
    if (s[i] == '"') {
      char *q = memchr(s + i + 1, '"', len - i - 1);
      if (q == NULL) {
        maps_error_at(src, e->lineno, "unterminated quote", NULL);
        return 0;
      }
      start = i + 1;
      tlen = (size_t)(q - s) - start;
      i = (size_t)(q - s) + 1;
      while (i < len && blank(s[i])) i++;
      if (i < len && s[i] != ',') {
        maps_error_at(src, e->lineno, "text after a quoted target", NULL);
        return 0;
      }
    } else {
      start = i;
      if (len - i >= 6 && strncasecmp(s + i, "error:", 6) == 0) {
        i = len; /* the text may hold commas */
      } else {
        while (i < len && s[i] != ',') i++;
      }
      tlen = i - start;
      while (tlen > 0 && blank(s[start + tlen - 1])) tlen--;
    }
    if (i < len) i++; /* the comma */
    why = check_target(s + start, tlen, catchall);
    if (why != NULL) {
      maps_error_at(src, e->lineno, why, NULL);
      return 0;
    }
    if (!stralloc_catb(val, s + start, tlen) || !stralloc_0(val)) goto nomem;
  }
  if (val->len == 0) {
    maps_error_at(src, e->lineno, "no target", NULL);
    return 0;
  }

  r = maps_keyset_add(seen, s, nlen);
  if (r == -1) goto nomem;
  if (r == 0) {
    s[nlen] = '\0';
    maps_error_at(src, e->lineno, "duplicate alias ", s);
    return 0;
  }
  if (src->errors == 0 && cdbmap_add(w, s, nlen, val->s, val->len) == -1) return -1;
  if (!catchall && check_shadow(src, e->lineno, s, nlen, val, domains) == -1) return -1;
  return 0;

nomem:
  errno = ENOMEM;
  return -1;
}

/* postmaster and mailer-daemon exist even when the file forgets them. */
static int add_defaults(struct cdbmap_writer *w, struct maps_keyset *seen)
{
  static const char *const names[] = {"postmaster", "mailer-daemon"};
  stralloc me = {0};
  stralloc target = {0};
  size_t i;
  int r;

  r = ctl_readline(&me, "control/me", NULL);
  if (r != 1) {
    stralloc_free(&me);
    return r;
  }
  maps_lower(me.s, me.len);
  if (!stralloc_copys(&target, "postmaster@") || !stralloc_cat(&target, &me) ||
      !stralloc_0(&target))
    goto nomem;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    r = maps_keyset_add(seen, names[i], strlen(names[i]));
    if (r == -1) goto nomem;
    if (r == 1 && cdbmap_add(w, names[i], strlen(names[i]), target.s, target.len) == -1) {
      r = -1;
      goto out;
    }
  }
  r = 0;
  goto out;
nomem:
  errno = ENOMEM;
  r = -1;
out:
  {
    int e = errno;
    stralloc_free(&me);
    stralloc_free(&target);
    errno = e;
  }
  return r;
}

/* The domains a bare alias name covers, for check_shadow: me and each
 * entry of control/locals (not the ".sub.domain" patterns), each followed
 * by '\0', lowercase. 0, -1 + errno. */
static int local_domains(stralloc *out)
{
  stralloc me = {0};
  stralloc locals = {0};
  size_t i;
  int r;

  r = ctl_readline(&me, "control/me", NULL);
  if (r == -1 || ctl_readlist(&locals, "control/locals") == -1) goto fail;
  out->len = 0;
  if (r == 1 && (!stralloc_catb(out, me.s, me.len) || !stralloc_0(out))) goto nomem;
  for (i = 0; i < locals.len; i += strlen(locals.s + i) + 1) {
    size_t n = strlen(locals.s + i);
    if (locals.s[i] == '.' || (me.len == n && strncasecmp(me.s, locals.s + i, n) == 0)) continue;
    if (!stralloc_catb(out, locals.s + i, n + 1)) goto nomem;
  }
  maps_lower(out->s, out->len);
  stralloc_free(&me);
  stralloc_free(&locals);
  return 0;
nomem:
  errno = ENOMEM;
fail:
  r = errno;
  stralloc_free(&me);
  stralloc_free(&locals);
  errno = r;
  return -1;
}

struct aliases_state {
  struct entry e;   /* the entry being gathered */
  int have;         /* e holds one */
  stralloc val;     /* scratch for do_entry */
  stralloc domains; /* local_domains */
};

static int aliases_begin(struct maps_job *job)
{
  struct aliases_state *st = job->state;

  return local_domains(&st->domains);
}

/* Ends the entry gathered so far, if any. 0, -1 + errno. */
static int aliases_flush(struct maps_job *job)
{
  struct aliases_state *st = job->state;

  if (!st->have) return 0;
  st->have = 0;
  return do_entry(&job->src, &st->e, &job->w, &job->seen, &st->val, &st->domains);
}

/* One physical line: a comment, a continuation of the entry, or a new one. */
static int aliases_line(struct maps_job *job, char *line, size_t len)
{
  struct aliases_state *st = job->state;

  if (len > 0 && line[0] == '#') return 0;
  if (len > 0 && blank(line[0])) {
    size_t i = 0;
    while (i < len && blank(line[i])) i++;
    if (i == len) return 0; /* a blank line */
    if (!st->have) {
      maps_error(&job->src, "continuation line without an entry", NULL);
      return 0;
    }
    if (st->e.text.len + len > MAPS_ENTRY_MAX) {
      maps_error(&job->src, "entry too long", NULL);
      return 0;
    }
    if (!stralloc_catb(&st->e.text, " ", 1) || !stralloc_catb(&st->e.text, line + i, len - i)) {
      errno = ENOMEM;
      return -1;
    }
    return 0;
  }
  /* a new entry: the previous one is complete */
  if (aliases_flush(job) == -1) return -1;
  if (len == 0) return 0;
  if (!stralloc_copyb(&st->e.text, line, len)) {
    errno = ENOMEM;
    return -1;
  }
  st->e.lineno = job->src.lineno;
  st->have = 1;
  return 0;
}

static int aliases_end(struct maps_job *job)
{
  if (aliases_flush(job) == -1) return -1;
  if (job->src.errors == 0 && add_defaults(&job->w, &job->seen) == -1) return -1;
  maps_entries = job->seen.count;
  return 0;
}

static void aliases_done(struct maps_job *job, int ok)
{
  struct aliases_state *st = job->state;

  (void)ok;
  stralloc_free(&st->e.text);
  stralloc_free(&st->val);
  stralloc_free(&st->domains);
}

static const struct maps_parser aliases = {
  .text = ALIASES_TEXT, .cdb = ALIASES_CDB, .begin = aliases_begin, .line = aliases_line,
  .end = aliases_end, .done = aliases_done,
};

int maps_aliases(void)
{
  struct aliases_state st = {{{0}, 0}, 0, {0}, {0}};

  maps_entries = 0;
  return maps_run(&aliases, &st);
}
