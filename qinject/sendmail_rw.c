/*
 * sendmail_rw: generics and masquerading for mail sent from this host
 * (see sendmail_rw.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <case.h>
#include <stralloc.h>

#include "addr.h"
#include "cdbmap.h"
#include "ctl.h"
#include "qlog.h"
#include "sendmail_rw.h"

#define GENERICS_TEXT "control/generics"
#define GENERICS_CDB "control/generics.cdb"

int rw_init(struct rw *r)
{
  stralloc flag = {0};

  r->generics_cdb = 0;
  r->masq_envelope = 0;
  if (ctl_readlist(&r->locals, "control/locals") == -1) return -1;

  if (access(GENERICS_CDB, F_OK) == 0) {
    r->generics_cdb = 1;
    r->generics.len = 0;
  } else if (ctl_readlist(&r->generics, GENERICS_TEXT) == -1) {
    return -1;
  }

  if (ctl_readline(&r->masq, "control/masquerade", NULL) == -1) return -1;
  case_lowerb(r->masq.s, r->masq.len);
  if (r->masq.len > 0 && r->masq.s[r->masq.len - 1] == '.') r->masq.len--;
  if (ctl_readlist(&r->masq_except, "control/masquerade_exceptions") == -1) return -1;

  if (access("control/masquerade_envelope", F_OK) == 0) {
    int got = ctl_readline(&flag, "control/masquerade_envelope", NULL);
    if (got == -1) return -1;
    r->masq_envelope = !(got == 1 && flag.len == 1 && flag.s[0] == '0');
  }
  stralloc_free(&flag);
  return 0;
}

void rw_free(struct rw *r)
{
  stralloc_free(&r->locals);
  stralloc_free(&r->generics);
  stralloc_free(&r->masq);
  stralloc_free(&r->masq_except);
}

int rw_islocal(const struct rw *r, const char *d, size_t dlen)
{
  if (dlen == r->me.len && case_equalb(d, dlen, r->me.s)) return 1;
  return ctl_domainmatch(&r->locals, d, dlen);
}

static int blank(char c)
{
  return c == ' ' || c == '\t';
}

/* The text map: entries "key<blanks>value". 1 found (val), 0 not. */
static int generics_text(const struct rw *r, const char *key, size_t klen, stralloc *val)
{
  size_t i = 0;

  while (i < r->generics.len) {
    const char *e = r->generics.s + i;
    size_t elen = strlen(e);
    size_t k = 0;

    while (k < elen && !blank(e[k])) k++;
    if (k == klen && case_equalb(e, k, key)) {
      size_t v = k;
      size_t vend;

      while (v < elen && blank(e[v])) v++;
      vend = v;
      while (vend < elen && !blank(e[vend])) vend++;
      if (!stralloc_copyb(val, e + v, vend - v)) return -1;
      return 1;
    }
    i += elen + 1;
  }
  return 0;
}

static int generics_find(const struct rw *r, const char *key, size_t klen, stralloc *val)
{
  char lower[ADDR_MAX];

  if (klen > sizeof lower) return 0;
  memcpy(lower, key, klen);
  case_lowerb(lower, klen);
  if (r->generics_cdb) return cdbmap_lookup(GENERICS_CDB, lower, klen, val);
  return generics_text(r, lower, klen, val);
}

/* A map value into internal form: 1 ok, 0 invalid (warned). */
static int generics_value(const stralloc *val, stralloc *out)
{
  struct addr a;
  const char *s = val->s;
  size_t len = val->len;

  if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
    s++;
    len -= 2;
  }
  if (len == 0 || memchr(s, '@', len) == NULL ||
      addr_parse(&a, s, len, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8) != len) {
    qwarn("ignoring a bad address in control/generics");
    return 0;
  }
  if (!stralloc_copyb(out, a.s, a.len)) return -1;
  return 1;
}

int rw_address(struct rw *r, const char *a, size_t len, stralloc *out)
{
  stralloc val = {0};
  const char *at = memrchr(a, '@', len);
  size_t local_len;
  const char *dom;
  size_t dom_len;
  int local;
  int found;

  if (!stralloc_copyb(out, a, len)) return -1;
  if (at == NULL) return 0;
  local_len = (size_t)(at - a);
  dom = at + 1;
  dom_len = len - local_len - 1;
  local = rw_islocal(r, dom, dom_len);

  found = generics_find(r, a, len, &val);
  if (found == 0 && local) found = generics_find(r, a, local_len, &val);
  if (found == -1) goto fail;
  if (found == 1) {
    int got = generics_value(&val, out);
    if (got == -1) goto fail;
    if (got == 1) {
      stralloc_free(&val);
      return 1;
    }
  }
  stralloc_free(&val);

  if (local && r->masq.len > 0 && !ctl_listhas(&r->masq_except, a, local_len) &&
      !(dom_len == r->masq.len && case_equalb(dom, dom_len, r->masq.s))) {
    if (!stralloc_copyb(out, a, local_len + 1) || !stralloc_cat(out, &r->masq)) return -1;
    return 1;
  }
  if (!stralloc_copyb(out, a, len)) return -1;
  return 0;

fail:
  stralloc_free(&val);
  return -1;
}
