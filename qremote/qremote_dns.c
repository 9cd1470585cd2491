/*
 * qremote_dns: MX, A, AAAA and TLSA lookups through lib/dnsq (dnsq.h),
 * which tells NXDOMAIN, no data and a failed query apart and reports the
 * AD bit of the answer: whether the configured resolver validated it
 * with DNSSEC. DANE (RFC 7672 2.1, 2.2) uses that: a secure MX RRset,
 * secure addresses of the host, then its TLSA records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <fmt.h>
#include <stralloc.h>

#include "dnsq.h"
#include "qremote.h"

static unsigned long long rng_state;

void qdns_init(void)
{
  const char *env = getenv("DNSCACHEIP");

  if (getrandom(&rng_state, sizeof rng_state, 0) != (ssize_t)sizeof rng_state)
    rng_state = (unsigned long long)(size_t)&rng_state ^ 0x9e3779b97f4a7c15ULL;
  /* the resolver named by the environment, as before lib/dnsq; else
   * control/resolvers, else /etc/resolv.conf */
  if (env != NULL && env[0] != '\0') dnsq_setservers(env);
}

/* splitmix64: equal MX preferences and addresses shuffled, nothing secret */
unsigned int qdns_random(unsigned int n)
{
  unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (unsigned int)(z % n);
}

static int mx_cmp(const void *a, const void *b)
{
  const struct mx *x = a;
  const struct mx *y = b;

  if (x->pref != y->pref) return x->pref < y->pref ? -1 : 1;
  return 0;
}

int qdns_mx_answer(const struct dnsq_answer *a, struct mx **list, size_t *count)
{
  struct mx *mx = NULL;
  size_t n = 0;
  int nullmx = 0;

  *list = NULL;
  *count = 0;
  if (a->status == DNSQ_NXDOMAIN) return QDNS_NX;
  if (a->status != DNSQ_OK || a->count == 0) return QDNS_OK;
  mx = calloc(a->count, sizeof *mx);
  if (mx == NULL) {
    errno = ENOMEM;
    return QDNS_TEMP;
  }
  for (size_t i = 0; i < a->count; ++i) {
    const struct dnsq_rr *rr = &a->rr[i];

    if (rr->type != DNSQ_T_MX) continue;
    if (rr->len == 0) { /* RFC 7505: "." */
      nullmx = 1;
      continue;
    }
    if (rr->len > QR_HOST_MAX) continue;
    for (size_t k = 0; k < rr->len; ++k) {
      char c = rr->data[k];
      mx[n].name[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    mx[n].name[rr->len] = '\0';
    mx[n].pref = rr->pref;
    ++n;
  }
  if (nullmx) {
    free(mx);
    return QDNS_NULLMX;
  }

  /* sort by preference only, then shuffle each run of equal preferences
   * (qsort is not stable) */
  if (n > 1) qsort(mx, n, sizeof *mx, mx_cmp);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;

    while (end < n && mx[end].pref == mx[start].pref) ++end;
    for (size_t k = end - start; k > 1; --k) {
      size_t j = start + qdns_random((unsigned int)k);
      struct mx t = mx[start + k - 1];

      mx[start + k - 1] = mx[j];
      mx[j] = t;
    }
    start = end;
  }
  if (n == 0) {
    free(mx);
    mx = NULL;
  }
  *list = mx;
  *count = n;
  return QDNS_OK;
}

/* dnsq_query's result as ours: QDNS_TEMP for a failure or a name that
 * cannot be asked (errno set), else QDNS_OK with ans filled */
static int ask(const char *name, unsigned int type, struct dnsq_answer *ans)
{
  int r = dnsq_query(name, type, ans);

  if (r == DNSQ_BADNAME) {
    errno = EINVAL;
    return QDNS_TEMP;
  }
  if (r == DNSQ_TEMP) {
    if (errno == 0) errno = EAGAIN;
    return QDNS_TEMP;
  }
  return QDNS_OK;
}

int qdns_mx(const char *domain, struct mx **list, size_t *count, int *secure)
{
  struct dnsq_answer ans;
  int r;
  int e;

  *list = NULL;
  *count = 0;
  *secure = 0;
  if (ask(domain, DNSQ_T_MX, &ans) == QDNS_TEMP) return QDNS_TEMP;
  *secure = ans.ad;
  r = qdns_mx_answer(&ans, list, count);
  e = errno;
  dnsq_free(&ans);
  errno = e;
  return r;
}

int qdns_ip_answer(stralloc *out, const struct dnsq_answer *a, unsigned int type)
{
  size_t first = out->len;

  if (a->status == DNSQ_NXDOMAIN) return QDNS_NX;
  for (size_t i = 0; i < a->count; ++i) {
    const struct dnsq_rr *rr = &a->rr[i];
    char ip[16];

    if (rr->type != type) continue;
    if (type == DNSQ_T_A) {
      if (rr->len != 4) continue;
      memcpy(ip, "\0\0\0\0\0\0\0\0\0\0\377\377", 12);
      memcpy(ip + 12, rr->data, 4);
    } else {
      if (rr->len != 16) continue;
      memcpy(ip, rr->data, 16);
    }
    if (!stralloc_catb(out, ip, 16)) {
      out->len = first;
      errno = ENOMEM;
      return QDNS_TEMP;
    }
  }
  for (size_t k = (out->len - first) / 16; k > 1; --k) {
    size_t j = qdns_random((unsigned int)k);
    char t[16];

    memcpy(t, out->s + first + 16 * (k - 1), 16);
    memcpy(out->s + first + 16 * (k - 1), out->s + first + 16 * j, 16);
    memcpy(out->s + first + 16 * j, t, 16);
  }
  return QDNS_OK;
}

/* Appends the addresses of one family, shuffled; *ad the answer's AD bit. */
static int ip_query(stralloc *out, const char *host, unsigned int type, int *ad)
{
  struct dnsq_answer ans;
  int r;
  int e;

  *ad = 0;
  if (ask(host, type, &ans) == QDNS_TEMP) return QDNS_TEMP;
  *ad = ans.ad;
  r = qdns_ip_answer(out, &ans, type);
  e = errno;
  dnsq_free(&ans);
  errno = e;
  return r;
}

int qdns_ip(stralloc *out, const char *host, int *secure)
{
  int r6;
  int r4;
  int ad6;
  int ad4;
  int e6 = 0;

  *secure = 0;
  if (!stralloc_copys(out, "")) {
    errno = ENOMEM;
    return QDNS_TEMP;
  }
  r6 = ip_query(out, host, DNSQ_T_AAAA, &ad6);
  if (r6 == QDNS_TEMP) e6 = errno;
  r4 = ip_query(out, host, DNSQ_T_A, &ad4);
  /* RFC 7672 2.2.2: the addresses are secure when both answers are */
  *secure = r6 != QDNS_TEMP && r4 != QDNS_TEMP && ad6 && ad4;
  if (out->len > 0) return QDNS_OK;   /* whatever one query failed, we have addresses */
  if (r4 == QDNS_TEMP) return QDNS_TEMP;
  if (r6 == QDNS_TEMP) {
    errno = e6;
    return QDNS_TEMP;
  }
  if (r4 == QDNS_NX || r6 == QDNS_NX) return QDNS_NX;
  return QDNS_OK;
}

int qdns_txt(const char *prefix, const char *domain, struct dnsq_answer *ans)
{
  char name[QR_HOST_MAX + 32];
  size_t plen = strlen(prefix);
  size_t dlen = strlen(domain);

  memset(ans, 0, sizeof *ans);
  if (plen > 31 || dlen > QR_HOST_MAX) return DNSQ_BADNAME;
  memcpy(name, prefix, plen);
  memcpy(name + plen, domain, dlen + 1);
  return dnsq_query(name, DNSQ_T_TXT, ans);
}

int qdns_tlsa_answer(stralloc *out, size_t *count, const struct dnsq_answer *a)
{
  static const char hex[] = "0123456789abcdef";

  for (size_t i = 0; i < a->count && *count < QR_TLSA_MAX; ++i) {
    const struct dnsq_rr *rr = &a->rr[i];
    const unsigned char *d = (const unsigned char *)rr->data;
    char num[FMT_ULONG];

    if (rr->type != DNSQ_T_TLSA || rr->len < 4 || rr->len - 3 > QR_TLSA_DATA_MAX) continue;
    /* RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3); RFC 6698 2.1.2, 2.1.3:
     * selectors 0, 1; matching types 0, 1, 2 */
    if ((d[0] != 2 && d[0] != 3) || d[1] > 1 || d[2] > 2) continue;
    for (int k = 0; k < 3; ++k) {
      if (!stralloc_catb(out, num, fmt_ulong(num, d[k])) || !stralloc_append(out, " ")) goto nomem;
    }
    for (size_t k = 3; k < rr->len; ++k) {
      char two[2] = {hex[d[k] >> 4], hex[d[k] & 15]};
      if (!stralloc_catb(out, two, 2)) goto nomem;
    }
    if (!stralloc_0(out)) goto nomem;
    ++*count;
  }
  return QDNS_OK;
nomem:
  errno = ENOMEM;
  return QDNS_TEMP;
}

int qdns_tlsa(stralloc *out, size_t *count, const char *host, unsigned long port, int *secure,
              int *present)
{
  char name[QR_HOST_MAX + 32];
  struct dnsq_answer ans;
  size_t n = 0;
  size_t hlen = strlen(host);
  int r;
  int e;

  out->len = 0;
  *count = 0;
  *secure = 0;
  *present = 0;
  if (hlen > QR_HOST_MAX) {
    errno = EINVAL;
    return QDNS_TEMP;
  }
  /* RFC 7672 2.2.3: _PORT._tcp.HOST */
  name[n++] = '_';
  n += fmt_ulong(name + n, port);
  memcpy(name + n, "._tcp.", 6);
  n += 6;
  memcpy(name + n, host, hlen + 1);
  if (ask(name, DNSQ_T_TLSA, &ans) == QDNS_TEMP) return QDNS_TEMP;
  *secure = ans.ad;
  for (size_t i = 0; i < ans.count; ++i)
    if (ans.rr[i].type == DNSQ_T_TLSA) *present = 1;
  r = ans.ad ? qdns_tlsa_answer(out, count, &ans) : QDNS_OK;
  e = errno;
  dnsq_free(&ans);
  errno = e;
  return r;
}
