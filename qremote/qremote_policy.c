/*
 * qremote_policy: control/tlspolicy, the outbound TLS policy per
 * destination (the levels and names of Postfix's smtp_tls_policy_maps).
 *
 * An entry is "KEY LEVEL": KEY a domain (exactly that domain), ".domain"
 * (every domain below it), "[host]" (the MX or route host of that name,
 * whatever the domain) or "*" (every destination); LEVEL one of
 *   none       never STARTTLS
 *   may        STARTTLS when offered, the certificate not checked; in the
 *              clear when STARTTLS fails (the default)
 *   encrypt    TLS or no delivery; the certificate not checked
 *   verify     TLS with a certificate that the store trusts and that
 *              names the host (WebPKI)
 *   dane       DANE (RFC 7672) where the MX and the host's addresses are
 *              DNSSEC-valid and TLSA records exist, else as may
 *   dane-only  DANE or no delivery
 * For a host, "[host]" wins; then the domain, ".parent" for each parent
 * domain, then "*".
 */
#include <string.h>

#include <case.h>

#include "qremote.h"

static const struct {
  const char *name;
  int level;
} levels[] = {
  {"none", ROUTE_TLS_NO},       {"may", ROUTE_TLS_MAY},
  {"encrypt", ROUTE_TLS_REQUIRE}, {"verify", ROUTE_TLS_VERIFY},
  {"dane", ROUTE_TLS_DANE},     {"dane-only", ROUTE_TLS_DANE_ONLY},
};

int tlspolicy_level(const char *s, size_t len)
{
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; ++i)
    if (strlen(levels[i].name) == len && case_equalb(s, len, levels[i].name))
      return levels[i].level;
  return -1;
}

const char *tlspolicy_name(int level)
{
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; ++i)
    if (levels[i].level == level) return levels[i].name;
  return "?";
}

static int blank(char c)
{
  return c == ' ' || c == '\t';
}

/* The level of the entry whose key is k (klen bytes, any case): 1 found
 * (*level set), 0 none, -1 that entry is malformed. */
static int find_key(const char *list, size_t listlen, const char *k, size_t klen, int *level)
{
  size_t pos = 0;

  while (pos < listlen) {
    const char *e = list + pos;
    size_t len = strnlen(e, listlen - pos);

    pos += len + 1;
    if (len > klen && blank(e[klen]) && case_equalb(e, klen, k)) {
      size_t a = klen;
      size_t b = len;

      while (a < b && blank(e[a])) ++a;
      while (b > a && blank(e[b - 1])) --b;
      *level = tlspolicy_level(e + a, b - a);
      return *level == -1 ? -1 : 1;
    }
  }
  return 0;
}

int tlspolicy_find(const char *list, size_t listlen, const char *domain, const char *host,
                   int *level)
{
  char key[QR_HOST_MAX + 3];
  size_t dlen = strlen(domain);
  size_t hlen = strlen(host);
  int r;

  *level = ROUTE_TLS_MAY;
  if (hlen > 0 && hlen <= QR_HOST_MAX && host[0] != '[') {
    key[0] = '[';
    memcpy(key + 1, host, hlen);
    key[hlen + 1] = ']';
    r = find_key(list, listlen, key, hlen + 2, level);
    if (r != 0) return r;
  }
  for (size_t i = 0; i < dlen; ++i) {
    if (i != 0 && domain[i] != '.') continue;
    r = find_key(list, listlen, domain + i, dlen - i, level);
    if (r != 0) return r;
  }
  r = find_key(list, listlen, "*", 1, level);
  if (r == 0) *level = ROUTE_TLS_MAY;
  return r;
}
