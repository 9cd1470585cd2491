/*
 * spf_check: check_host() of RFC 7208 over dnsq: the record is found and
 * checked whole for syntax first (4.6), then its terms are evaluated left
 * to right with the limits of 4.6.4. Library code (spf.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dnsq.h"
#include "spf.h"

enum kind { T_ALL, T_INCLUDE, T_A, T_MX, T_PTR, T_IP4, T_IP6, T_EXISTS, T_REDIRECT, T_EXP,
            T_OTHER };

struct term {
  enum kind kind;
  char qual;             /* + - ~ ? */
  const char *arg;       /* domain-spec (arglen 0: none) or the network */
  size_t arglen;
  unsigned int cidr4;
  unsigned int cidr6;
  unsigned char net[16];
};

static const struct {
  const char *name;
  enum kind kind;
} mechs[] = {
  {"all", T_ALL}, {"include", T_INCLUDE}, {"a", T_A}, {"mx", T_MX}, {"ptr", T_PTR},
  {"ip4", T_IP4}, {"ip6", T_IP6}, {"exists", T_EXISTS},
};

static int is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* "/N" (no leading zero, N <= max) at s (len bytes): 1 and *n, 0 invalid */
static int scan_cidr(const char *s, size_t len, unsigned int max, unsigned int *n)
{
  unsigned int v = 0;

  if (len < 1 || len > 3 || (s[0] == '0' && len > 1)) return 0;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i])) return 0;
    v = v * 10 + (unsigned int)(s[i] - '0');
  }
  if (v > max) return 0;
  *n = v;
  return 1;
}

/* The start of the digits after the last '/' of s (len bytes) when only
 * digits follow it, else 0. */
static size_t last_cidr(const char *s, size_t len)
{
  size_t i = len;

  while (i > 0 && is_digit(s[i - 1])) i--;
  if (i == len || i == 0 || s[i - 1] != '/') return 0;
  return i;
}

/* RFC 7208 7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int domain_end_ok(const char *s, size_t len)
{
  size_t e = len;
  size_t b;
  int alpha = 0;

  if (len > 0 && s[len - 1] == '}') return 1; /* ends in a macro: checked by spf_macro_valid */
  if (e > 0 && s[e - 1] == '.') e--;
  b = e;
  while (b > 0 && s[b - 1] != '.') b--;
  if (b == 0 || b == e) return 0; /* no dot before the top label, or an empty one */
  for (size_t i = b; i < e; i++) {
    if (is_alpha(s[i])) alpha = 1;
    else if (!is_digit(s[i]) && s[i] != '-') return 0;
  }
  if (s[b] == '-' || s[e - 1] == '-') return 0;
  /* toplabel = *alphanum ALPHA *alphanum / 1*alphanum "-" *(alphanum / "-") alphanum */
  return alpha || memchr(s + b, '-', e - b) != NULL;
}

static int domain_spec_ok(const char *s, size_t len)
{
  return len > 0 && spf_macro_valid(s, len, 0) && domain_end_ok(s, len);
}

/* The next term of rec from *pos. 1 a term, 0 the end, -1 a syntax error. */
static int next_term(const char *rec, size_t len, size_t *pos, struct term *t)
{
  size_t p = *pos;
  size_t b;
  size_t e;
  size_t n;

  while (p < len && rec[p] == ' ') p++;
  if (p >= len) return 0;
  b = p;
  while (p < len && rec[p] != ' ') p++;
  e = p;
  *pos = p;
  memset(t, 0, sizeof *t);
  t->qual = '+';
  t->cidr4 = 32;
  t->cidr6 = 128;

  /* a modifier: name "=" macro-string */
  n = b;
  if (is_alpha(rec[n])) {
    while (n < e && (is_alpha(rec[n]) || is_digit(rec[n]) || rec[n] == '-' || rec[n] == '_' ||
                     rec[n] == '.'))
      n++;
    if (n < e && rec[n] == '=') {
      t->arg = rec + n + 1;
      t->arglen = e - n - 1;
      if (n - b == 8 && strncasecmp(rec + b, "redirect", 8) == 0) t->kind = T_REDIRECT;
      else if (n - b == 3 && strncasecmp(rec + b, "exp", 3) == 0) t->kind = T_EXP;
      else t->kind = T_OTHER;
      if (t->kind == T_OTHER) return spf_macro_valid(t->arg, t->arglen, 0) ? 1 : -1;
      return domain_spec_ok(t->arg, t->arglen) ? 1 : -1;
    }
  }

  /* a directive: [qualifier] mechanism */
  if (strchr("+-~?", rec[b]) != NULL) t->qual = rec[b++];
  n = b;
  while (n < e && rec[n] != ':' && rec[n] != '/') n++;
  size_t m;
  for (m = 0; m < sizeof mechs / sizeof mechs[0]; m++)
    if (strlen(mechs[m].name) == n - b && strncasecmp(rec + b, mechs[m].name, n - b) == 0) break;
  if (m == sizeof mechs / sizeof mechs[0]) return -1;
  t->kind = mechs[m].kind;
  const char *arg = rec + n;
  size_t arglen = e - n;

  switch (t->kind) {
    case T_ALL:
      return arglen == 0 ? 1 : -1;
    case T_INCLUDE:
    case T_EXISTS:
    case T_PTR:
      if (arglen == 0) return t->kind == T_PTR ? 1 : -1;
      if (arg[0] != ':') return -1;
      t->arg = arg + 1;
      t->arglen = arglen - 1;
      return domain_spec_ok(t->arg, t->arglen) ? 1 : -1;
    case T_A:
    case T_MX: {
      /* [":" domain-spec] [ "/" ip4-cidr ] [ "//" ip6-cidr ], read from the end; a
       * '/' followed by anything but digits belongs to the domain-spec */
      size_t end = arglen;
      size_t s = last_cidr(arg, end);
      if (s > 0 && s >= 2 && arg[s - 2] == '/') { /* "//" ip6-cidr */
        if (!scan_cidr(arg + s, end - s, 128, &t->cidr6)) return -1;
        end = s - 2;
        s = last_cidr(arg, end);
      }
      if (s > 0) { /* "/" ip4-cidr */
        if (!scan_cidr(arg + s, end - s, 32, &t->cidr4)) return -1;
        end = s - 1;
      }
      if (end == 0) return 1;
      if (arg[0] != ':') return -1;
      t->arg = arg + 1;
      t->arglen = end - 1;
      return domain_spec_ok(t->arg, t->arglen) ? 1 : -1;
    }
    case T_IP4:
    case T_IP6: {
      char buf[64];
      size_t end = arglen;
      int v6 = t->kind == T_IP6;
      if (arglen < 2 || arg[0] != ':') return -1;
      const char *slash = memchr(arg, '/', arglen);
      if (slash != NULL) {
        size_t s = (size_t)(slash - arg);
        if (!scan_cidr(slash + 1, arglen - s - 1, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4))
          return -1;
        end = s;
      }
      if (end - 1 >= sizeof buf || end < 2) return -1;
      memcpy(buf, arg + 1, end - 1);
      buf[end - 1] = 0;
      if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, t->net) != 1) return -1;
      return 1;
    }
    default:
      return -1;
  }
}

static int in_net(const unsigned char *a, const unsigned char *net, unsigned int bits)
{
  size_t full = bits / 8;
  unsigned int rest = bits % 8;

  if (memcmp(a, net, full) != 0) return 0;
  if (rest == 0) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

#define NOMATCH 0
#define MATCH 1
/* or an SPF_TEMPERROR / SPF_PERMERROR result */

/* counts a void lookup (4.6.4); SPF_PERMERROR past the limit */
static int void_lookup(struct spf_ctx *ctx)
{
  return ++ctx->voids > SPF_VOID_MAX ? SPF_PERMERROR : NOMATCH;
}

/* one address query of the client's family at name; MATCH if one is in
 * the network of the term's width */
static int match_addr(struct spf_ctx *ctx, const char *name, const struct term *t, int count_void)
{
  struct dnsq_answer ans;
  int r = dnsq_query(name, ctx->v4 ? DNSQ_T_A : DNSQ_T_AAAA, &ans);
  int result = NOMATCH;

  if (r == DNSQ_TEMP) return SPF_TEMPERROR;
  if (r == DNSQ_BADNAME) return NOMATCH;
  if (r != DNSQ_OK) {
    dnsq_free(&ans);
    return count_void ? void_lookup(ctx) : NOMATCH;
  }
  for (size_t i = 0; i < ans.count && result == NOMATCH; i++)
    if (in_net(ctx->ip, (const unsigned char *)ans.rr[i].data, ctx->v4 ? t->cidr4 : t->cidr6))
      result = MATCH;
  dnsq_free(&ans);
  return result;
}

static int match_mx(struct spf_ctx *ctx, const char *name, const struct term *t)
{
  struct dnsq_answer ans;
  int r = dnsq_query(name, DNSQ_T_MX, &ans);
  int result = NOMATCH;

  if (r == DNSQ_TEMP) return SPF_TEMPERROR;
  if (r == DNSQ_BADNAME) return NOMATCH;
  if (r != DNSQ_OK) {
    dnsq_free(&ans);
    return void_lookup(ctx);
  }
  if (ans.count > SPF_NAMES_MAX) {
    dnsq_free(&ans);
    return SPF_PERMERROR;
  }
  for (size_t i = 0; i < ans.count && result == NOMATCH; i++) {
    if (ans.rr[i].len == 0) continue; /* RFC 7505 null MX */
    result = match_addr(ctx, ans.rr[i].data, t, 0);
  }
  dnsq_free(&ans);
  return result;
}

static int match_ptr(struct spf_ctx *ctx, const char *target)
{
  char names[SPF_NAMES_MAX * (DNSQ_TEXT_MAX + 1)];
  int n = spf_ptr_names(ctx, names, sizeof names);
  const char *p = names;

  for (int i = 0; i < n; i++, p += strlen(p) + 1)
    if (spf_subdomain(p, target)) return MATCH;
  return NOMATCH;
}

static int qual_result(char q)
{
  switch (q) {
    case '-': return SPF_FAIL;
    case '~': return SPF_SOFTFAIL;
    case '?': return SPF_NEUTRAL;
  }
  return SPF_PASS;
}

/* the explanation of a fail (6.2); nothing on any error */
static void explain(struct spf_ctx *ctx, const char *domain, const struct term *exp)
{
  char name[SPF_EXPAND_MAX];
  struct dnsq_answer ans;

  ctx->exp[0] = 0;
  if (spf_expand(ctx, domain, exp->arg, exp->arglen, 0, name, sizeof name) <= 0) return;
  if (dnsq_query(name, DNSQ_T_TXT, &ans) != DNSQ_OK) {
    dnsq_free(&ans);
    return;
  }
  if (ans.count == 1 && strlen(ans.rr[0].data) == ans.rr[0].len &&
      spf_macro_valid(ans.rr[0].data, ans.rr[0].len, 1)) {
    char text[SPF_EXPAND_MAX];
    long n = spf_expand(ctx, domain, ans.rr[0].data, ans.rr[0].len, 1, text, sizeof text);
    if (n > 0) {
      size_t keep = (size_t)n < SPF_EXP_MAX ? (size_t)n : SPF_EXP_MAX;
      memcpy(ctx->exp, text, keep);
      ctx->exp[keep] = 0;
    }
  }
  dnsq_free(&ans);
}

/* RFC 7208 4.3: a domain that cannot be asked gives "none" */
static int domain_ok(const char *d)
{
  size_t len = strlen(d);
  size_t label = 0;
  int dots = 0;

  if (len > 0 && d[len - 1] == '.') len--;
  if (len == 0 || len > SPF_DOMAIN_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    if (d[i] == '.') {
      if (label == 0) return 0;
      label = 0;
      dots++;
    } else if (++label > 63) {
      return 0;
    }
  }
  return label > 0 && dots > 0;
}

/* the one SPF record of domain into rec. 1 found, or an SPF_ result */
static int find_record(const char *domain, struct dnsq_answer *ans, size_t *which)
{
  int r = dnsq_query(domain, DNSQ_T_TXT, ans);
  int found = 0;

  if (r == DNSQ_TEMP) return SPF_TEMPERROR;
  if (r != DNSQ_OK) return SPF_NONE;
  for (size_t i = 0; i < ans->count; i++) {
    const char *t = ans->rr[i].data;
    size_t len = ans->rr[i].len;
    if (len < 6 || strncasecmp(t, "v=spf1", 6) != 0 || (len > 6 && t[6] != ' ')) continue;
    found++;
    *which = i;
  }
  if (found == 0) return SPF_NONE;
  if (found > 1) return SPF_PERMERROR; /* 4.5 */
  return 1;
}

static int evaluate(struct spf_ctx *ctx, const char *domain, const char *rec, size_t len,
                    int want_exp, unsigned int depth)
{
  struct term t;
  struct term redirect;
  struct term exp;
  int have_redirect = 0;
  int have_exp = 0;
  size_t pos = 6;
  int r;

  memset(&redirect, 0, sizeof redirect);
  memset(&exp, 0, sizeof exp);

  /* 4.6: any syntax error anywhere is a permerror before anything is done */
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)rec[i] < 0x20 || (unsigned char)rec[i] > 0x7e) return SPF_PERMERROR;
  while ((r = next_term(rec, len, &pos, &t)) == 1) {
    if (t.kind == T_REDIRECT) {
      if (have_redirect++) return SPF_PERMERROR; /* 6: at most once */
      redirect = t;
    } else if (t.kind == T_EXP) {
      if (have_exp++) return SPF_PERMERROR;
      exp = t;
    }
  }
  if (r == -1) return SPF_PERMERROR;

  pos = 6;
  while (next_term(rec, len, &pos, &t) == 1) {
    char target[SPF_EXPAND_MAX];
    int m = NOMATCH;

    if (t.kind == T_REDIRECT || t.kind == T_EXP || t.kind == T_OTHER) continue;
    if (t.kind != T_ALL && t.kind != T_IP4 && t.kind != T_IP6 &&
        ++ctx->lookups > SPF_LOOKUP_MAX)
      return SPF_PERMERROR;
    if (t.arglen > 0 && t.kind != T_IP4 && t.kind != T_IP6) {
      if (spf_expand(ctx, domain, t.arg, t.arglen, 0, target, sizeof target) < 0)
        return SPF_PERMERROR;
    } else {
      snprintf(target, sizeof target, "%s", domain);
    }
    switch (t.kind) {
      case T_ALL: m = MATCH; break;
      case T_IP4: m = ctx->v4 && in_net(ctx->ip, t.net, t.cidr4) ? MATCH : NOMATCH; break;
      case T_IP6: m = !ctx->v4 && in_net(ctx->ip, t.net, t.cidr6) ? MATCH : NOMATCH; break;
      case T_A: m = match_addr(ctx, target, &t, 1); break;
      case T_MX: m = match_mx(ctx, target, &t); break;
      case T_PTR: m = match_ptr(ctx, target); break;
      case T_EXISTS: { /* 5.7: always an A query, whatever the client's family */
        struct dnsq_answer ans;
        int q = dnsq_query(target, DNSQ_T_A, &ans);
        if (q == DNSQ_TEMP) m = SPF_TEMPERROR;
        else if (q == DNSQ_OK) m = MATCH;
        else if (q != DNSQ_BADNAME) m = void_lookup(ctx);
        dnsq_free(&ans);
        break;
      }
      case T_INCLUDE: {
        int inc = spf_check_host(ctx, target, 0, depth + 1);
        if (inc == SPF_PASS) m = MATCH;
        else if (inc == SPF_TEMPERROR) m = SPF_TEMPERROR;
        else if (inc == SPF_PERMERROR || inc == SPF_NONE) m = SPF_PERMERROR;
        break;
      }
      default: break;
    }
    if (m == SPF_TEMPERROR || m == SPF_PERMERROR) return m;
    if (m == MATCH) {
      int res = qual_result(t.qual);
      if (res == SPF_FAIL && want_exp && have_exp) explain(ctx, domain, &exp);
      return res;
    }
  }

  if (have_redirect) {
    char target[SPF_EXPAND_MAX];
    if (++ctx->lookups > SPF_LOOKUP_MAX) return SPF_PERMERROR;
    if (spf_expand(ctx, domain, redirect.arg, redirect.arglen, 0, target, sizeof target) < 0)
      return SPF_PERMERROR;
    r = spf_check_host(ctx, target, want_exp, depth + 1);
    return r == SPF_NONE ? SPF_PERMERROR : r; /* 6.1 */
  }
  return SPF_NEUTRAL;
}

int spf_check_host(struct spf_ctx *ctx, const char *domain, int want_exp, unsigned int depth)
{
  struct dnsq_answer ans;
  size_t which = 0;
  int r;

  if (depth > SPF_LOOKUP_MAX + 1) return SPF_PERMERROR;
  if (!domain_ok(domain)) return SPF_NONE;
  r = find_record(domain, &ans, &which);
  if (r == 1) {
    r = evaluate(ctx, domain, ans.rr[which].data, ans.rr[which].len, want_exp, depth);
  }
  dnsq_free(&ans);
  return r;
}

int spf_check(struct spf_ctx *ctx, const unsigned char *ip, size_t iplen, const char *sender,
              const char *helo, const char *receiver)
{
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static char identity[SPF_DOMAIN_MAX + 64 + 16];
  const char *domain;
  const char *at;

  memset(ctx, 0, sizeof *ctx);
  if (iplen == 4) {
    memcpy(ctx->ip, ip, 4);
    ctx->v4 = 1;
  } else if (iplen == 16 && memcmp(ip, mapped, 12) == 0) {
    memcpy(ctx->ip, ip + 12, 4);
    ctx->v4 = 1;
  } else if (iplen == 16) {
    memcpy(ctx->ip, ip, 16);
  } else {
    return SPF_PERMERROR;
  }
  ctx->helo = helo;
  ctx->receiver = receiver;
  if (sender == NULL || sender[0] == 0) { /* 2.4: the null path: postmaster@helo */
    if (strlen(helo) > SPF_DOMAIN_MAX + 1) return SPF_NONE;
    snprintf(identity, sizeof identity, "postmaster@%s", helo);
    ctx->sender = identity;
    domain = helo;
  } else {
    at = strrchr(sender, '@');
    if (at == NULL) { /* no local-part: 4.3 */
      if (strlen(sender) > SPF_DOMAIN_MAX + 1) return SPF_NONE;
      snprintf(identity, sizeof identity, "postmaster@%s", sender);
      ctx->sender = identity;
      domain = sender;
    } else if (at == sender) {
      if (strlen(sender) > SPF_DOMAIN_MAX + 1) return SPF_NONE;
      snprintf(identity, sizeof identity, "postmaster%s", sender);
      ctx->sender = identity;
      domain = at + 1;
    } else {
      ctx->sender = sender;
      domain = at + 1;
    }
  }
  return spf_check_host(ctx, domain, 1, 0);
}

const char *spf_result_name(int result)
{
  static const char *const names[] = {"none", "neutral", "pass", "fail", "softfail",
                                      "temperror", "permerror"};
  if (result < 0 || result > SPF_PERMERROR) return "permerror";
  return names[result];
}
