/*
 * qlisten_rules: the rules CDB in tcprules' format (qnewmaps writes
 * control/tcp.smtp.cdb from the RELAY lines of control/access).
 *
 *   key: an address ("192.0.2.7", "2001:db8::7"), a prefix of one cut
 *        after a dot or a colon ("192.0.", "2001:db8:"), or "" (default)
 *   data: "D" (deny), or "+NAME=VALUE\0" records for the environment
 *
 * The map stays open and is reopened when replaced (cdbmap_get).
 */
#include <errno.h>
#include <string.h>

#include <stralloc.h>

#include "cdbmap.h"
#include "qlisten.h"

static stralloc val;

/* 1 found (value in val), 0 not, -1 error */
static int lookup(struct cdbmap *m, const char *key, size_t len)
{
  return cdbmap_find(m, key, len, &val);
}

/* The first rule for ip, its prefixes, then the default. */
static int find_rule(struct cdbmap *m, const char *ip)
{
  size_t len = strlen(ip);
  char sep = strchr(ip, ':') != NULL ? ':' : '.';
  int r;

  r = lookup(m, ip, len);
  if (r != 0) return r;
  while (len > 0) {
    len--;
    while (len > 0 && ip[len - 1] != sep) len--;
    if (len == 0) break;
    r = lookup(m, ip, len);
    if (r != 0) return r;
  }
  return lookup(m, "", 0);
}

int rules_check(const char *fn, const char *ip, char *env, size_t *envlen, size_t max)
{
  struct cdbmap *m;
  size_t pos = 0;
  int r;

  r = cdbmap_get(&m, fn);
  if (r == -1) return -1;
  if (r == 0) return RULES_ALLOW; /* no rules: everyone */
  r = find_rule(m, ip);
  if (r == -1) return -1;
  if (r == 0) return RULES_ALLOW;
  if (val.len > 0 && val.s[0] == 'D') return RULES_DENY;
  while (pos < val.len) {
    const char *item = val.s + pos;
    size_t n = strnlen(item, val.len - pos);

    if (item[0] == '+' && n > 1 && memchr(item, '=', n) != NULL) {
      if (*envlen + n > max) {
        errno = E2BIG;
        return -1;
      }
      memcpy(env + *envlen, item + 1, n - 1);
      *envlen += n - 1;
      env[(*envlen)++] = '\0';
    }
    pos += n + 1;
  }
  return RULES_ALLOW;
}
