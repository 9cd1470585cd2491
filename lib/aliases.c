/*
 * aliases_find: look an address up in control/aliases.cdb the way delivery
 * and RCPT checking do (lib/aliases.h): "local@domain", then "local" when
 * the domain is local, then the catch-all "@domain". Keys are lowercase;
 * the address may come in any case. A missing map finds nothing.
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "aliases.h"
#include "cdbmap.h"

/* The longest key: an address in internal form. */
#define ALIASES_KEY_MAX ADDR_MAX

static int find_key(struct cdbmap *m, const char *key, size_t len, stralloc *val)
{
  char lower[ALIASES_KEY_MAX];
  size_t i;

  if (len == 0 || len > sizeof lower) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)key[i];
    lower[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
  return cdbmap_find(m, lower, len, val);
}

int aliases_find(const char *addr, size_t len, int domain_is_local, stralloc *val, int *kind)
{
  struct cdbmap *m;
  const char *at;
  size_t local_len;
  int r;

  if (len == 0 || len > ALIASES_KEY_MAX) return 0;
  r = cdbmap_get(&m, ALIASES_CDB);
  if (r != 1) return r;

  at = memrchr(addr, '@', len);
  local_len = (at == NULL) ? len : (size_t)(at - addr);

  /* 1. the whole address (or a bare local part: "postmaster") */
  r = find_key(m, addr, len, val);
  if (r != 0) {
    *kind = (at == NULL) ? 'l' : 'a';
    goto out;
  }
  if (at == NULL) goto out;

  /* 2. the local part alone, for every local domain */
  if (domain_is_local && local_len > 0) {
    r = find_key(m, addr, local_len, val);
    if (r != 0) {
      *kind = 'l';
      goto out;
    }
  }

  /* 3. the catch-all "@domain" */
  r = find_key(m, at, len - local_len, val);
  if (r != 0) *kind = 'c';

out:
  return r;
}
