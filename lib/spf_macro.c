/*
 * spf_macro: SPF macros (RFC 7208 7): the syntax check, the expansion with
 * transformers and delimiters, and the PTR-validated names that the p macro
 * and the ptr mechanism use. Library code (spf.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dnsq.h"
#include "spf.h"

#define DELIMITERS ".-+,/_="
#define PARTS_MAX 512
#define VALUE_MAX 1024

static int is_letter(char c, int exp)
{
  switch (c | 0x20) {
    case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
      return 1;
    case 'c': case 'r': case 't':
      return exp;
  }
  return 0;
}

/* One macro-expand after the '%' at s[*pos]; *pos moves past it. On return
 * *letter, *digits (0 = all), *reverse, delimiters at *delim (*ndelim). 1 ok,
 * 0 invalid. */
static int scan_macro(const char *s, size_t len, size_t *pos, int exp, char *letter,
                      unsigned long *digits, int *reverse, const char **delim, size_t *ndelim)
{
  size_t p = *pos;

  if (p >= len) return 0;
  *letter = s[p];
  *digits = 0;
  *reverse = 0;
  *ndelim = 0;
  if (s[p] == '%' || s[p] == '_' || s[p] == '-') {
    *pos = p + 1;
    return 1;
  }
  if (s[p] != '{') return 0;
  p++;
  if (p >= len || !is_letter(s[p], exp)) return 0;
  *letter = s[p++];
  if (p < len && s[p] >= '0' && s[p] <= '9') {
    if (s[p] == '0') return 0; /* 7.1: the number of parts is not zero */
    while (p < len && s[p] >= '0' && s[p] <= '9') {
      *digits = *digits * 10 + (unsigned long)(s[p] - '0');
      if (*digits > 128) *digits = 128; /* more parts than any name has */
      p++;
    }
  }
  if (p < len && (s[p] == 'r' || s[p] == 'R')) {
    *reverse = 1;
    p++;
  }
  *delim = s + p;
  while (p < len && s[p] != 0 && strchr(DELIMITERS, s[p]) != NULL) {
    p++;
    (*ndelim)++;
  }
  if (p >= len || s[p] != '}') return 0;
  *pos = p + 1;
  return 1;
}

int spf_macro_valid(const char *s, size_t len, int exp)
{
  for (size_t pos = 0; pos < len;) {
    unsigned char c = (unsigned char)s[pos++];
    char letter;
    unsigned long digits;
    int reverse;
    const char *delim;
    size_t ndelim;

    if (c == '%') {
      if (!scan_macro(s, len, &pos, exp, &letter, &digits, &reverse, &delim, &ndelim))
        return 0;
    } else if (c < 0x21 || c > 0x7e) {
      if (!(exp && c == ' ')) return 0; /* explain-string: words and spaces */
    }
  }
  return 1;
}

int spf_subdomain(const char *name, const char *domain)
{
  size_t n = strlen(name);
  size_t d = strlen(domain);

  if (n > 0 && name[n - 1] == '.') n--;
  if (d > 0 && domain[d - 1] == '.') d--;
  if (n < d) return 0;
  if (strncasecmp(name + n - d, domain, d) != 0) return 0;
  return n == d || name[n - d - 1] == '.';
}

/* the reverse-lookup name of ctx's address (RFC 7208 7.3 i, 5.5) */
static void ip_dotted(const struct spf_ctx *ctx, char *out, size_t size, int reversed)
{
  /* upper case, as the RFC 7208 test suite expects in explanations; DNS
   * names compare without regard to case anyway */
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;

  if (ctx->v4) {
    if (reversed)
      snprintf(out, size, "%u.%u.%u.%u", ctx->ip[3], ctx->ip[2], ctx->ip[1], ctx->ip[0]);
    else
      snprintf(out, size, "%u.%u.%u.%u", ctx->ip[0], ctx->ip[1], ctx->ip[2], ctx->ip[3]);
    return;
  }
  for (int k = 0; k < 32 && n + 2 < size; k++) {
    int idx = reversed ? 31 - k : k;
    unsigned char b = ctx->ip[idx / 2];
    out[n++] = hex[(idx % 2 == 0) ? b >> 4 : b & 15];
    if (k < 31) out[n++] = '.';
  }
  out[n] = 0;
}

int spf_ptr_names(struct spf_ctx *ctx, char *names, size_t size)
{
  char rev[80];
  char qname[128];
  struct dnsq_answer ptr;
  size_t used = 0;
  int count = 0;
  int r;

  ip_dotted(ctx, rev, sizeof rev, 1);
  snprintf(qname, sizeof qname, "%s.%s", rev, ctx->v4 ? "in-addr.arpa" : "ip6.arpa");
  r = dnsq_query(qname, DNSQ_T_PTR, &ptr);
  if (r == DNSQ_TEMP) return -1;
  for (size_t i = 0; r == DNSQ_OK && i < ptr.count && i < SPF_NAMES_MAX; i++) {
    struct dnsq_answer addr;
    const char *name = ptr.rr[i].data;
    int found = 0;

    if (dnsq_query(name, ctx->v4 ? DNSQ_T_A : DNSQ_T_AAAA, &addr) == DNSQ_OK) {
      for (size_t j = 0; j < addr.count && !found; j++)
        found = memcmp(addr.rr[j].data, ctx->ip, ctx->v4 ? 4 : 16) == 0;
    }
    dnsq_free(&addr);
    if (!found || used + ptr.rr[i].len + 1 > size) continue;
    memcpy(names + used, name, ptr.rr[i].len + 1);
    used += ptr.rr[i].len + 1;
    count++;
  }
  dnsq_free(&ptr);
  return count;
}

/* %{p}: a validated name, the domain or a subdomain of it if there is one */
static const char *pname(struct spf_ctx *ctx, const char *domain)
{
  char names[SPF_NAMES_MAX * (DNSQ_TEXT_MAX + 1)];
  int n;
  const char *pick = NULL;

  n = spf_ptr_names(ctx, names, sizeof names);
  const char *p = names;
  for (int i = 0; i < n; i++, p += strlen(p) + 1) {
    if (spf_subdomain(p, domain)) {
      pick = p;
      break;
    }
    if (pick == NULL) pick = p;
  }
  snprintf(ctx->pname, sizeof ctx->pname, "%s", pick != NULL ? pick : "unknown");
  return ctx->pname;
}

/* the value of one macro letter into val */
static void value(struct spf_ctx *ctx, const char *domain, char letter, char *val, size_t size)
{
  const char *at = strrchr(ctx->sender, '@');

  switch (letter | 0x20) {
    case 's': snprintf(val, size, "%s", ctx->sender); break;
    case 'l':
      if (at == NULL) snprintf(val, size, "postmaster");
      else snprintf(val, size, "%.*s", (int)(at - ctx->sender), ctx->sender);
      break;
    case 'o': snprintf(val, size, "%s", at != NULL ? at + 1 : ctx->sender); break;
    case 'd': snprintf(val, size, "%s", domain); break;
    case 'i': ip_dotted(ctx, val, size, 0); break;
    case 'p': snprintf(val, size, "%s", pname(ctx, domain)); break;
    case 'h': snprintf(val, size, "%s", ctx->helo); break;
    case 'v': snprintf(val, size, "%s", ctx->v4 ? "in-addr" : "ip6"); break;
    case 'c':
      if (inet_ntop(ctx->v4 ? AF_INET : AF_INET6, ctx->ip, val, (socklen_t)size) == NULL)
        val[0] = 0;
      break;
    case 'r': snprintf(val, size, "%s", ctx->receiver != NULL ? ctx->receiver : "unknown"); break;
    case 't': snprintf(val, size, "%lu", (unsigned long)time(NULL)); break;
    default: val[0] = 0;
  }
}

static int unreserved(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

/* appends b (n bytes) to out; 0, or -1 if it does not fit */
static int put(char *out, size_t outsize, size_t *len, const char *b, size_t n)
{
  if (n >= outsize - *len) return -1;
  memcpy(out + *len, b, n);
  *len += n;
  return 0;
}

/* one macro with its transformers into out */
static int expand_one(struct spf_ctx *ctx, const char *domain, char letter, unsigned long digits,
                      int reverse, const char *delim, size_t ndelim, char *out, size_t outsize,
                      size_t *len)
{
  char val[VALUE_MAX];
  size_t start[PARTS_MAX];
  size_t plen[PARTS_MAX];
  size_t parts = 0;
  size_t first;
  size_t vlen;
  size_t p = 0;

  value(ctx, domain, letter, val, sizeof val);
  vlen = strlen(val);
  for (;;) { /* split at the delimiters ('.' when none is given) */
    size_t e = p;
    while (e < vlen && (ndelim == 0 ? val[e] != '.' : memchr(delim, val[e], ndelim) == NULL))
      e++;
    if (parts == PARTS_MAX) return -1;
    start[parts] = p;
    plen[parts++] = e - p;
    if (e >= vlen) break;
    p = e + 1;
  }
  first = (digits != 0 && digits < parts) ? parts - digits : 0;
  for (size_t k = first; k < parts; k++) { /* after reversal, the right-hand parts */
    size_t idx = reverse ? parts - 1 - k : k;
    const char *piece = val + start[idx];

    if (k > first && put(out, outsize, len, ".", 1) == -1) return -1;
    for (size_t j = 0; j < plen[idx]; j++) {
      unsigned char c = (unsigned char)piece[j];
      char esc[4];
      if (letter >= 'A' && letter <= 'Z' && !unreserved(c)) { /* 7.3: URL-escaped */
        snprintf(esc, sizeof esc, "%%%02X", c);
        if (put(out, outsize, len, esc, 3) == -1) return -1;
      } else if (put(out, outsize, len, piece + j, 1) == -1) {
        return -1;
      }
    }
  }
  return 0;
}

long spf_expand(struct spf_ctx *ctx, const char *domain, const char *s, size_t slen, int exp,
                char *out, size_t outsize)
{
  size_t len = 0;

  if (outsize == 0) return -1;
  for (size_t pos = 0; pos < slen;) {
    char letter;
    unsigned long digits;
    int reverse;
    const char *delim = NULL;
    size_t ndelim = 0;
    int r = 0;

    if (s[pos] != '%') {
      r = put(out, outsize, &len, s + pos, 1);
      pos++;
    } else {
      pos++;
      if (!scan_macro(s, slen, &pos, exp, &letter, &digits, &reverse, &delim, &ndelim))
        return -1;
      if (letter == '%') r = put(out, outsize, &len, "%", 1);
      else if (letter == '_') r = put(out, outsize, &len, " ", 1);
      else if (letter == '-') r = put(out, outsize, &len, "%20", 3);
      else r = expand_one(ctx, domain, letter, digits, reverse, delim, ndelim, out, outsize,
                          &len);
    }
    if (r == -1) return -1;
  }
  out[len] = 0;
  if (!exp) { /* 7.3: a domain over 253 bytes loses labels on the left */
    size_t cut = 0;
    while (len - cut > SPF_DOMAIN_MAX) {
      const char *dot = memchr(out + cut, '.', len - cut);
      if (dot == NULL) return -1;
      cut = (size_t)(dot - out) + 1;
    }
    if (cut > 0) {
      memmove(out, out + cut, len - cut + 1);
      len -= cut;
    }
  }
  return (long)len;
}
