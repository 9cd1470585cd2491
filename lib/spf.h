#ifndef SPF_H
#define SPF_H
/*
 * spf: the Sender Policy Framework, RFC 7208: check_host() with every
 * mechanism (all include a mx ptr ip4 ip6 exists), the modifiers redirect=
 * and exp=, macros with transformers and delimiters, the limits of 4.6.4
 * (10 DNS-querying terms, 2 void lookups, 10 names for mx and ptr) and the
 * explanation of a fail. DNS through dnsq (dnsq.h); like it, libc only.
 * Library code: it never exits and never prints.
 */
#include <stddef.h>

#define SPF_NONE 0
#define SPF_NEUTRAL 1
#define SPF_PASS 2
#define SPF_FAIL 3
#define SPF_SOFTFAIL 4
#define SPF_TEMPERROR 5
#define SPF_PERMERROR 6

#define SPF_LOOKUP_MAX 10   /* RFC 7208 4.6.4 */
#define SPF_VOID_MAX 2      /* RFC 7208 4.6.4 */
#define SPF_NAMES_MAX 10    /* mx and ptr: names looked at, RFC 7208 4.6.4 */
#define SPF_DOMAIN_MAX 253  /* an expanded domain-spec is cut to this, RFC 7208 7.3 */
#define SPF_EXP_MAX 512     /* bytes of explanation kept */
#define SPF_EXPAND_MAX 2048 /* a macro expansion longer than this is an error */

/* What an evaluation knows (RFC 7208 4.1). ip: IPv4 in ip[0..3] with v4 set,
 * else IPv6 (an IPv4-mapped address is made IPv4 by spf_check). */
struct spf_ctx {
  unsigned char ip[16];
  int v4;
  const char *sender;      /* local@domain, never empty (postmaster@helo) */
  const char *helo;
  const char *receiver;    /* %{r}; NULL: "unknown" */
  unsigned int lookups;    /* DNS-querying terms so far */
  unsigned int voids;      /* lookups that found nothing */
  char pname[256];
  char exp[SPF_EXP_MAX + 1]; /* explanation of a fail ("" none) */
};

/* Evaluates the identity: the MAIL FROM sender (local@domain, "" for the
 * null path) or, when it is empty, postmaster@helo (RFC 7208 2.3, 2.4).
 * ip: 4 or 16 bytes (iplen). receiver may be NULL. Fills ctx (ctx->exp:
 * the explanation when the result is SPF_FAIL and the domain gave one).
 * Returns an SPF_ result. */
int spf_check(struct spf_ctx *ctx, const unsigned char *ip, size_t iplen, const char *sender,
              const char *helo, const char *receiver);

/* check_host() itself (RFC 7208 4): ctx filled, domain and sender given. */
int spf_check_host(struct spf_ctx *ctx, const char *domain, int want_exp, unsigned int depth);

/* The result's name: "none", "neutral", "pass", ... */
const char *spf_result_name(int result);

/* The pieces, exported for the tests. */

/* 1 if s (len bytes) is a valid macro-string (RFC 7208 7.1); exp: the
 * letters c, r, t are allowed (explain-string). */
int spf_macro_valid(const char *s, size_t len, int exp);

/* Expands the macro-string s (len bytes) for the current domain into out
 * (outsize bytes, NUL-terminated). Its length, or -1 if invalid or too long.
 * A domain-spec (exp 0) is cut to SPF_DOMAIN_MAX from the left. */
long spf_expand(struct spf_ctx *ctx, const char *domain, const char *s, size_t len, int exp,
                char *out, size_t outsize);

/* The PTR-validated names of ctx's address (RFC 7208 5.5), at most
 * SPF_NAMES_MAX, each written into names (NUL-separated, room size).
 * The count, or -1 on a temporary DNS error of the PTR query. */
int spf_ptr_names(struct spf_ctx *ctx, char *names, size_t size);

/* 1 if name is domain or a subdomain of it (ASCII case ignored, final dots
 * ignored), 0 if not. */
int spf_subdomain(const char *name, const char *domain);

#endif
