/*
 * access_lookup: the most specific entry of control/access.cdb for a
 * client address, a sender or a recipient (lib/access.h).
 *
 * Candidates, most specific first; at each step the tagged key
 * ("c:", "f:", "t:") before the untagged one ("*:"):
 *   connect: the IP address, then each shorter prefix (IPv4 by octets,
 *            "192.168.0.1" "192.168.0" "192.168" "192"; IPv6 by groups of
 *            the full form "ipv6:2001:db8:0:0:0:0:0:1" ... "ipv6:2001"),
 *            and between them the CIDR networks of the lengths the map has
 *            ("192.168.16.0/20": access_fmtip), longest first;
 *            then the host name, if given, and each parent domain. The
 *            address comes first because the client chooses its PTR name.
 *   from/to: "user@domain", "user@", "domain", each parent domain; the
 *            null sender is looked up as "<>".
 * Keys are lowercase; qnewmaps writes IPv6 keys in the same full form.
 *
 * access_hostkeys: whether a host name could match anything at all (the
 * ACCESS_HOSTKEYS record that qnewmaps writes), so that qsmtpd asks DNS
 * for the client's name only when an answer can change a decision.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "addr.h"
#include "cdbmap.h"

/* "ipv6:" + 8 groups of 4 hex digits and 7 colons, or an address + tag */
#define ACCESS_KEY_MAX (2 + ADDR_MAX + 1)

struct lookup {
  struct cdbmap *m;
  char tag;
  stralloc *val;
};

/* Tries "T:cand" then "*:cand". 1 found, 0 not, -1 error. */
static int try_key(struct lookup *l, const char *cand, size_t len)
{
  char key[ACCESS_KEY_MAX];
  size_t i;
  int r;

  if (len == 0 || len + 2 > sizeof key) return 0;
  key[1] = ':';
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)cand[i];
    key[2 + i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
  key[0] = l->tag;
  r = cdbmap_find(l->m, key, len + 2, l->val);
  if (r != 0) return r;
  key[0] = '*';
  return cdbmap_find(l->m, key, len + 2, l->val);
}

/* The domain d and each parent domain ("a.b.c", "b.c", "c"). */
static int try_domain(struct lookup *l, const char *d, size_t len)
{
  size_t i;
  int r;

  while (len > 0 && d[len - 1] == '.') len--;
  if (len == 0) return 0;
  if (d[0] == '[') return try_key(l, d, len); /* an address literal has no parents */
  for (;;) {
    r = try_key(l, d, len);
    if (r != 0) return r;
    for (i = 0; i < len && d[i] != '.'; i++) {}
    if (i >= len) return 0;
    d += i + 1;
    len -= i + 1;
  }
}

/* Which lengths have CIDR keys (ACCESS_CIDR4/6): lens[b] is 1 for those.
 * A map without the record has none. 0 ok, -1 error. */
static int cidr_lengths(struct lookup *l, const char *rec, size_t reclen, unsigned total,
                        unsigned char *lens)
{
  stralloc val = {0};
  unsigned b;
  int r;

  memset(lens, 0, total + 1);
  r = cdbmap_find(l->m, rec, reclen, &val);
  if (r == 1)
    for (b = 0; b <= total && b < val.len; b++) lens[b] = val.s[b] == '1';
  stralloc_free(&val);
  return r == -1 ? -1 : 0;
}

static int try_ip(struct lookup *l, const char *ip, size_t len)
{
  char text[64];
  char cand[ACCESS_IPKEY_MAX];
  unsigned char bin[16];
  unsigned char lens[129];
  unsigned total;
  unsigned width;
  unsigned bits;
  int v6;
  int r;

  if (len == 0 || len >= sizeof text) return 0;
  memcpy(text, ip, len);
  text[len] = '\0';
  if (strncasecmp(text, "::ffff:", 7) == 0 && strchr(text + 7, '.') != NULL)
    memmove(text, text + 7, len - 7 + 1); /* an IPv4 client on an IPv6 socket */

  if (inet_pton(AF_INET, text, bin) == 1) {
    v6 = 0;
    r = cidr_lengths(l, ACCESS_CIDR4, sizeof ACCESS_CIDR4 - 1, 32, lens);
  } else if (inet_pton(AF_INET6, text, bin) == 1) {
    v6 = 1;
    r = cidr_lengths(l, ACCESS_CIDR6, sizeof ACCESS_CIDR6 - 1, 128, lens);
  } else {
    return 0;
  }
  if (r == -1) return -1;
  total = v6 ? 128 : 32;
  width = v6 ? 16 : 8;
  /* the longest prefix first: whole octets or groups always (their keys
   * need no record), the other lengths where the map has keys */
  for (bits = total; bits > 0; bits--) {
    if (bits % width != 0 && !lens[bits]) continue;
    r = try_key(l, cand, access_fmtip(cand, v6, bin, bits));
    if (r != 0) return r;
  }
  return 0;
}

static int try_addr(struct lookup *l, const char *a, size_t len)
{
  const char *at;
  size_t local_len;
  int r;

  if (len == 0) return try_key(l, "<>", 2);
  r = try_key(l, a, len);
  if (r != 0) return r;
  at = memrchr(a, '@', len);
  if (at == NULL) {
    char key[ADDR_MAX + 2];
    if (len + 1 > sizeof key) return 0;
    memcpy(key, a, len);
    key[len] = '@';
    return try_key(l, key, len + 1);
  }
  local_len = (size_t)(at - a);
  if (local_len > 0) {
    r = try_key(l, a, local_len + 1); /* "user@" */
    if (r != 0) return r;
  }
  return try_domain(l, at + 1, len - local_len - 1);
}

int access_lookup(int kind, const char *key, size_t len, const char *host, stralloc *val)
{
  struct lookup l;
  int r;
  int e;

  if (kind != ACCESS_CONNECT && kind != ACCESS_FROM && kind != ACCESS_TO) {
    errno = EINVAL;
    return -1;
  }
  r = cdbmap_get(&l.m, ACCESS_CDB);
  if (r != 1) return r;
  l.tag = (char)kind;
  l.val = val;

  if (kind == ACCESS_CONNECT) {
    r = try_ip(&l, key, len);
    if (r == 0 && host != NULL) r = try_domain(&l, host, strlen(host));
  } else {
    r = try_addr(&l, key, len);
  }

  e = errno;
  if (r == 1) {
    if (!stralloc_0(val)) {
      errno = ENOMEM;
      return -1;
    }
    val->len--; /* NUL-terminated; len is the action's length */
  }
  errno = e;
  return r;
}

int access_hostkeys(void)
{
  stralloc val = {0};
  int r;
  int e;

  r = cdbmap_lookup(ACCESS_CDB, ACCESS_HOSTKEYS, sizeof ACCESS_HOSTKEYS - 1, &val);
  e = errno;
  stralloc_free(&val);
  errno = e;
  return r;
}
