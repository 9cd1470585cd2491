/*
 * qremote_route: control/smtproutes.
 *
 * An entry is "domain:host[:port][ option...]". The domain matches
 * exactly; ".example.org" matches every domain below example.org; an
 * empty domain (":host") matches everything. The most specific entry
 * wins: for a.b.example.org, "a.b.example.org:", then ".b.example.org:",
 * ".example.org:", ".org:", then ":". An empty host means the MX of the
 * domain, as if there were no entry (the options still apply). A host may
 * be an address literal in brackets: "[192.0.2.1]" or "[IPv6:2001:db8::1]".
 * Options, separated by blanks:
 *   tls=may      STARTTLS when the server offers it (default)
 *   tls=no       never STARTTLS
 *   tls=require  TLS or no delivery (deferred); the certificate is not checked
 *   tls=verify   TLS with a certificate that is trusted and matches the host
 *   tls=LEVEL    a level of control/tlspolicy (none, encrypt, dane, dane-only)
 * Without tls=, control/tlspolicy says (qremote_policy.c).
 *   ca=FILE      trust the certificates in FILE (for tls=verify)
 *   auth=FILE    AUTH with the user name (line 1) and password (line 2) in FILE
 */
#include <string.h>

#include <case.h>
#include <scan.h>

#include "qremote.h"

void route_init(struct route *r)
{
  r->host[0] = '\0';
  r->port = QR_PORT;
  r->tls = ROUTE_TLS_MAY;
  r->tls_set = 0;
  r->cafile[0] = '\0';
  r->authfile[0] = '\0';
}

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* Copies the value of an option (len bytes) into dest (size bytes). 0, -1 too long/empty. */
static int copy_value(char *dest, size_t size, const char *s, size_t len)
{
  if (len == 0 || len >= size) return -1;
  memcpy(dest, s, len);
  dest[len] = '\0';
  return 0;
}

static int parse_option(struct route *r, const char *s, size_t len)
{
  if (len > 4 && case_equalb(s, 4, "tls=")) {
    s += 4;
    len -= 4;
    if (len == 3 && case_equalb(s, 3, "may")) r->tls = ROUTE_TLS_MAY;
    else if (len == 2 && case_equalb(s, 2, "no")) r->tls = ROUTE_TLS_NO;
    else if (len == 7 && case_equalb(s, 7, "require")) r->tls = ROUTE_TLS_REQUIRE;
    else if (len == 6 && case_equalb(s, 6, "verify")) r->tls = ROUTE_TLS_VERIFY;
    else if ((r->tls = tlspolicy_level(s, len)) == -1) return -1;
    r->tls_set = 1;
    return 0;
  }
  if (len > 3 && case_equalb(s, 3, "ca="))
    return copy_value(r->cafile, sizeof r->cafile, s + 3, len - 3);
  if (len > 5 && case_equalb(s, 5, "auth="))
    return copy_value(r->authfile, sizeof r->authfile, s + 5, len - 5);
  return -1;
}

int route_parse(struct route *r, const char *s, size_t len)
{
  size_t i = 0;
  size_t start;
  size_t hostlen;

  route_init(r);

  /* the host: "[literal]" or a name up to ':' or a blank */
  start = i;
  if (i < len && s[i] == '[') {
    while (i < len && s[i] != ']') ++i;
    if (i == len) return -1;
    ++i;
  } else {
    while (i < len && s[i] != ':' && !is_blank(s[i])) ++i;
  }
  hostlen = i - start;
  if (hostlen > QR_HOST_MAX + 2) return -1;
  memcpy(r->host, s + start, hostlen);
  r->host[hostlen] = '\0';
  for (size_t k = 0; k < hostlen; ++k) {
    unsigned char c = (unsigned char)r->host[k];
    if (c < 0x21 || c == 0x7f) return -1;
    if (c >= 'A' && c <= 'Z') r->host[k] = (char)(c + 32);
  }

  /* the port */
  if (i < len && s[i] == ':') {
    unsigned long port;
    size_t n;

    ++i;
    n = scan_ulong(s + i, &port);
    if (n == 0 || n > 5 || port == 0 || port > 65535) return -1;
    r->port = port;
    i += n;
  }
  if (i < len && !is_blank(s[i])) return -1;

  /* the options */
  for (;;) {
    while (i < len && is_blank(s[i])) ++i;
    if (i == len) break;
    start = i;
    while (i < len && !is_blank(s[i])) ++i;
    if (parse_option(r, s + start, i - start) == -1) return -1;
  }
  return 0;
}

/* The entry of list whose key is exactly k (klen bytes, any case), or NULL. */
static const char *find_key(const char *list, size_t listlen, const char *k, size_t klen,
                            size_t *elen)
{
  size_t pos = 0;

  while (pos < listlen) {
    const char *e = list + pos;
    size_t len = strnlen(e, listlen - pos);

    if (len > klen && e[klen] == ':' && case_equalb(e, klen, k)) {
      *elen = len;
      return e;
    }
    pos += len + 1;
  }
  return NULL;
}

int route_find(struct route *r, const char *list, size_t listlen, const char *d, size_t dlen)
{
  size_t i;

  route_init(r);
  for (i = 0; i <= dlen; ++i) {
    const char *e;
    size_t elen;
    size_t klen;

    if (i != 0 && i != dlen && d[i] != '.') continue;
    klen = dlen - i;
    e = find_key(list, listlen, d + i, klen, &elen);
    if (e == NULL) continue;
    return route_parse(r, e + klen + 1, elen - klen - 1) == 0 ? 1 : -1;
  }
  return 0;
}
