/*
 * dkim_verify: checks the DKIM-Signature headers of a message (RFC 6376
 * 6.1), top down, at most DKIM_MAX_SIGS. ISC licence.
 *
 * Results: pass; fail (body hash or signature does not verify); permerror
 * (a malformed or unacceptable signature or key record: missing tag, v=
 * not 1, rsa-sha1 (RFC 8301 3.1), i= outside d=, h= without From, expired
 * x=, l= beyond the body, no key, revoked key (empty p=), RSA key under
 * 1024 bits (RFC 8301 3.2), key type not a='s, t=s with i= in a subdomain);
 * temperror (the key lookup failed for now). A t=y key sets testing.
 * With DKIM_VERIFY_ENOUGH (qdkimd on the SMTP path) the RSA signatures
 * are checked first and an Ed25519 one of a domain that passed already is
 * left out: dual signatures (RFC 8463) cost one RSA check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

struct sig {
  int type;       /* DKIM_RSA or DKIM_ED25519 */
  int hcanon;
  int bcanon;
  const struct dkim_tag *d;
  const struct dkim_tag *s;
  const struct dkim_tag *h;
  const struct dkim_tag *b;
  const char *idomain; /* the domain of i=, or NULL */
  size_t idomainlen;
  unsigned char bh[DKIM_HASHLEN];
  unsigned char sigbytes[DKIM_MAX_SIGBYTES];
  size_t siglen;
};

/* st with a fixed reason; returns -1 for the callers' convenience */
static int set(struct dkim_result *res, enum dkim_status st, const char *reason)
{
  size_t n = strlen(reason);
  if (n >= sizeof res->reason) n = sizeof res->reason - 1;
  res->status = st;
  memcpy(res->reason, reason, n);
  res->reason[n] = '\0';
  return -1;
}

/* a tag value into a result field: printable bytes without whitespace,
 * anything else (and the A-R specials ;()"\) as '?', cut to fit */
static void copy_clean(char *dst, size_t size, const struct dkim_tag *t, int skipws)
{
  size_t o = 0;
  size_t i;

  if (t == NULL) {
    dst[0] = '\0';
    return;
  }
  for (i = 0; i < t->vallen && o + 1 < size; i++) {
    unsigned char c = (unsigned char)t->val[i];
    if (skipws && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) continue;
    if (c <= 0x20 || c >= 0x7f || strchr(";()\"\\", c) != NULL) c = '?';
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
}

/* 1 if the colon-separated list (RFC 6376 3.2 with FWS) holds word */
static int list_has(const char *list, size_t len, const char *word)
{
  size_t i = 0;

  while (i <= len) {
    size_t start;
    size_t end;
    while (i < len && strchr(" \t\r\n", list[i]) != NULL) i++;
    start = i;
    while (i < len && list[i] != ':') i++;
    end = i;
    while (end > start && strchr(" \t\r\n", list[end - 1]) != NULL) end--;
    if (dkim_eqi(list + start, end - start, word, strlen(word))) return 1;
    i++;
  }
  return 0;
}

/* digits only, at most 18 of them: the value; else -1 */
static long long number(const struct dkim_tag *t)
{
  long long v = 0;
  size_t i;

  if (t->vallen == 0 || t->vallen > 18) return -1;
  for (i = 0; i < t->vallen; i++) {
    if (t->val[i] < '0' || t->val[i] > '9') return -1;
    v = v * 10 + (t->val[i] - '0');
  }
  return v;
}

static int canon_word(const char *p, size_t len)
{
  if (len == 6 && memcmp(p, "simple", 6) == 0) return DKIM_SIMPLE;
  if (len == 7 && memcmp(p, "relaxed", 7) == 0) return DKIM_RELAXED;
  return -1;
}

/* the checks of the signature's tags (RFC 6376 3.5, 6.1.1) */
static int check_sig(struct sig *sg, const struct dkim_tag *tags, int n,
                     struct dkim_result *res, time_t now)
{
  static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
  const struct dkim_tag *t;
  const struct dkim_tag *tt;
  size_t k;

  for (k = 0; k < sizeof required / sizeof required[0]; k++)
    if (dkim_tag_get(tags, n, required[k]) == NULL)
      return set(res, DKIM_PERMERROR, "signature lacks a required tag");
  if (!dkim_tag_is(dkim_tag_get(tags, n, "v"), "1"))
    return set(res, DKIM_PERMERROR, "signature version is not 1");

  t = dkim_tag_get(tags, n, "a");
  if (dkim_tag_is(t, "rsa-sha256"))
    sg->type = DKIM_RSA;
  else if (dkim_tag_is(t, "ed25519-sha256"))
    sg->type = DKIM_ED25519;
  else if (dkim_tag_is(t, "rsa-sha1"))
    return set(res, DKIM_PERMERROR, "rsa-sha1 is not accepted (RFC 8301)");
  else
    return set(res, DKIM_PERMERROR, "unknown signature algorithm");

  sg->hcanon = DKIM_SIMPLE;
  sg->bcanon = DKIM_SIMPLE;
  t = dkim_tag_get(tags, n, "c");
  if (t != NULL) {
    const char *slash = memchr(t->val, '/', t->vallen);
    size_t first = slash != NULL ? (size_t)(slash - t->val) : t->vallen;
    sg->hcanon = canon_word(t->val, first);
    if (slash != NULL) sg->bcanon = canon_word(slash + 1, t->vallen - first - 1);
    if (sg->hcanon == -1 || sg->bcanon == -1)
      return set(res, DKIM_PERMERROR, "unknown canonicalization");
  }

  sg->d = dkim_tag_get(tags, n, "d");
  sg->s = dkim_tag_get(tags, n, "s");
  sg->h = dkim_tag_get(tags, n, "h");
  sg->b = dkim_tag_get(tags, n, "b");
  if (!dkim_name_ok(sg->d->val, sg->d->vallen)) return set(res, DKIM_PERMERROR, "bad d= domain");
  if (!dkim_name_ok(sg->s->val, sg->s->vallen)) return set(res, DKIM_PERMERROR, "bad s= selector");
  if (!list_has(sg->h->val, sg->h->vallen, "from"))
    return set(res, DKIM_PERMERROR, "From is not signed (h=)");

  sg->idomain = NULL;
  t = dkim_tag_get(tags, n, "i");
  if (t != NULL) {
    const char *at = memrchr(t->val, '@', t->vallen);
    size_t dl = sg->d->vallen;
    if (at == NULL) return set(res, DKIM_PERMERROR, "bad i= identity");
    sg->idomain = at + 1;
    sg->idomainlen = t->vallen - (size_t)(sg->idomain - t->val);
    if (!(dkim_eqi(sg->idomain, sg->idomainlen, sg->d->val, dl) ||
          (sg->idomainlen > dl && sg->idomain[sg->idomainlen - dl - 1] == '.' &&
           dkim_eqi(sg->idomain + sg->idomainlen - dl, dl, sg->d->val, dl))))
      return set(res, DKIM_PERMERROR, "i= is not within d=");
  }

  t = dkim_tag_get(tags, n, "l");
  if (t != NULL && (res->bodylen = number(t)) == -1) return set(res, DKIM_PERMERROR, "bad l=");
  t = dkim_tag_get(tags, n, "q");
  if (t != NULL && !list_has(t->val, t->vallen, "dns/txt"))
    return set(res, DKIM_PERMERROR, "no known query method (q=)");
  t = dkim_tag_get(tags, n, "t");
  if (t != NULL && number(t) == -1) return set(res, DKIM_PERMERROR, "bad t=");
  tt = dkim_tag_get(tags, n, "x");
  if (tt != NULL) {
    long long x = number(tt);
    if (x == -1 || (t != NULL && x < number(t))) return set(res, DKIM_PERMERROR, "bad x=");
    if (x < (long long)now) return set(res, DKIM_PERMERROR, "signature expired (x=)");
  }

  t = dkim_tag_get(tags, n, "bh");
  if (dkim_b64_decode(t->val, t->vallen, sg->bh, sizeof sg->bh) != DKIM_HASHLEN)
    return set(res, DKIM_PERMERROR, "bad bh=");
  {
    long bl = dkim_b64_decode(sg->b->val, sg->b->vallen, sg->sigbytes, sizeof sg->sigbytes);
    if (bl <= 0) return set(res, DKIM_PERMERROR, "bad b=");
    sg->siglen = (size_t)bl;
  }
  return 0;
}

/* a key record (RFC 6376 3.6.1) into *pkey */
static int check_key(const struct sig *sg, const char *rec, EVP_PKEY **pkey,
                     struct dkim_result *res)
{
  struct dkim_tag tags[DKIM_MAX_TAGS];
  unsigned char der[DKIM_MAX_KEYBYTES];
  const struct dkim_tag *t;
  int ktype = DKIM_RSA;
  long derlen;
  int n;

  n = dkim_tags_parse(rec, strlen(rec), tags, DKIM_MAX_TAGS);
  if (n <= 0) return set(res, DKIM_PERMERROR, "malformed key record");
  t = dkim_tag_get(tags, n, "v");
  if (t != NULL && (t != &tags[0] || !dkim_tag_is(t, "DKIM1")))
    return set(res, DKIM_PERMERROR, "key record version is not DKIM1");
  t = dkim_tag_get(tags, n, "h");
  if (t != NULL && !list_has(t->val, t->vallen, "sha256"))
    return set(res, DKIM_PERMERROR, "key record does not allow sha256 (h=)");
  t = dkim_tag_get(tags, n, "k");
  if (t != NULL) {
    if (dkim_tag_is(t, "rsa"))
      ktype = DKIM_RSA;
    else if (dkim_tag_is(t, "ed25519"))
      ktype = DKIM_ED25519;
    else
      return set(res, DKIM_PERMERROR, "unknown key type (k=)");
  }
  if (ktype != sg->type) return set(res, DKIM_PERMERROR, "key type does not match a=");
  t = dkim_tag_get(tags, n, "s");
  if (t != NULL && !list_has(t->val, t->vallen, "*") && !list_has(t->val, t->vallen, "email"))
    return set(res, DKIM_PERMERROR, "key is not for email (s=)");
  t = dkim_tag_get(tags, n, "t");
  if (t != NULL) {
    if (list_has(t->val, t->vallen, "y")) res->testing = 1;
    if (list_has(t->val, t->vallen, "s") && sg->idomain != NULL &&
        !dkim_eqi(sg->idomain, sg->idomainlen, sg->d->val, sg->d->vallen))
      return set(res, DKIM_PERMERROR, "i= is a subdomain of d= but the key says t=s");
  }
  t = dkim_tag_get(tags, n, "p");
  if (t == NULL) return set(res, DKIM_PERMERROR, "key record lacks p=");
  if (t->vallen == 0) return set(res, DKIM_PERMERROR, "key revoked (empty p=)");
  derlen = dkim_b64_decode(t->val, t->vallen, der, sizeof der);
  if (derlen <= 0) return set(res, DKIM_PERMERROR, "bad key data (p=)");

  if (ktype == DKIM_ED25519 && derlen != 32)
    return set(res, DKIM_PERMERROR, "bad Ed25519 key (p=)");
  *pkey = dkim_pubkey(ktype, der, (size_t)derlen);
  if (*pkey == NULL) return set(res, DKIM_PERMERROR, "bad key data (p=)");
  if (ktype == DKIM_RSA && EVP_PKEY_get_bits(*pkey) < DKIM_RSA_MIN_BITS) {
    EVP_PKEY_free(*pkey);
    *pkey = NULL;
    return set(res, DKIM_PERMERROR, "RSA key shorter than 1024 bits (RFC 8301)");
  }
  return 0;
}

/* the key: "s._domainkey.d", the first record that is a valid key */
static int fetch_key(const struct sig *sg, dkim_lookup_fn lookup, void *cookie,
                     EVP_PKEY **pkey, struct dkim_result *res)
{
  char name[DKIM_MAX_NAME];
  char *recs[DKIM_MAX_RECS];
  int n;
  int i;
  int r = -1;

  if (sg->s->vallen + sg->d->vallen + 12 > sizeof name - 1)
    return set(res, DKIM_PERMERROR, "key name too long");
  memcpy(name, sg->s->val, sg->s->vallen);
  memcpy(name + sg->s->vallen, "._domainkey.", 12);
  memcpy(name + sg->s->vallen + 12, sg->d->val, sg->d->vallen);
  name[sg->s->vallen + 12 + sg->d->vallen] = '\0';

  n = lookup(name, recs, DKIM_MAX_RECS, cookie);
  if (n < 0) return set(res, DKIM_TEMPERROR, "key lookup failed");
  if (n == 0) return set(res, DKIM_PERMERROR, "no key record");
  if (n > DKIM_MAX_RECS) n = DKIM_MAX_RECS;
  for (i = 0; i < n; i++) {
    if (r == -1 && strlen(recs[i]) <= DKIM_MAX_HEADER) {
      int saved_testing = res->testing;
      r = check_key(sg, recs[i], pkey, res);
      if (r == -1) res->testing = saved_testing;
    }
    free(recs[i]);
  }
  return r;
}

/* one signature: fields[idx] is its header */
static void verify_one(const struct dkim_field *fields, size_t nfields, size_t idx,
                       const char *body, size_t bodylen, struct dkim_result *res,
                       dkim_lookup_fn lookup, void *cookie, time_t now)
{
  const struct dkim_field *f = &fields[idx];
  struct dkim_tag tags[DKIM_MAX_TAGS];
  struct sig sg;
  struct dkim_buf data = { 0 };
  EVP_PKEY *pkey = NULL;
  unsigned char bh[DKIM_HASHLEN];
  long long total;
  size_t vstart = f->namelen + 1;
  int n;
  int r;

  if (f->len > DKIM_MAX_HEADER) {
    set(res, DKIM_PERMERROR, "signature header too long");
    return;
  }
  n = dkim_tags_parse(f->p + vstart, f->len - vstart, tags, DKIM_MAX_TAGS);
  if (n <= 0) {
    set(res, DKIM_PERMERROR, "malformed signature");
    return;
  }
  copy_clean(res->domain, sizeof res->domain, dkim_tag_get(tags, n, "d"), 0);
  copy_clean(res->selector, sizeof res->selector, dkim_tag_get(tags, n, "s"), 0);
  copy_clean(res->algo, sizeof res->algo, dkim_tag_get(tags, n, "a"), 0);
  copy_clean(res->identity, sizeof res->identity, dkim_tag_get(tags, n, "i"), 0);
  copy_clean(res->bprefix, 9, dkim_tag_get(tags, n, "b"), 1);
  if (check_sig(&sg, tags, n, res, now) == -1) return;
  if (fetch_key(&sg, lookup, cookie, &pkey, res) == -1) return;

  if (dkim_body_hash(body, bodylen, sg.bcanon, res->bodylen, bh, &total) == -1) {
    set(res, DKIM_TEMPERROR, "out of memory");
    goto out;
  }
  if (res->bodylen != -1 && res->bodylen > total) {
    set(res, DKIM_PERMERROR, "l= is longer than the body");
    goto out;
  }
  if (CRYPTO_memcmp(bh, sg.bh, sizeof bh) != 0) {
    set(res, DKIM_FAIL, "body hash did not verify");
    goto out;
  }

  /* the fields in h= order, then this header with the value of b= taken
   * out and without its final CRLF (RFC 6376 3.7) */
  r = dkim_header_data(&data, fields, nfields, sg.h->val, sg.h->vallen, sg.hcanon);
  if (r == -2) {
    set(res, DKIM_PERMERROR, "malformed h=");
    goto out;
  }
  if (r == 0) {
    struct dkim_buf self = { 0 };
    size_t before = (size_t)(sg.b->val - f->p);
    if (dkim_buf_put(&self, f->p, before) == -1 ||
        dkim_buf_put(&self, sg.b->val + sg.b->vallen, f->len - before - sg.b->vallen) == -1 ||
        dkim_canon_header(&data, self.s, self.len, sg.hcanon) == -1)
      r = -1;
    dkim_buf_free(&self);
  }
  if (r == -1) {
    set(res, DKIM_TEMPERROR, "out of memory");
    goto out;
  }
  data.len -= 2;
  r = dkim_crypto_verify(pkey, sg.type, data.s, data.len, sg.sigbytes, sg.siglen);
  if (r == 1)
    set(res, DKIM_PASS, res->testing ? "good signature (key in testing mode)" : "good signature");
  else if (r == 0)
    set(res, DKIM_FAIL, "signature did not verify");
  else
    set(res, DKIM_TEMPERROR, "crypto error");
out:
  EVP_PKEY_free(pkey);
  dkim_buf_free(&data);
}

/* 1 if the signature in field f says a=ed25519-sha256 */
static int is_ed25519(const struct dkim_field *f)
{
  struct dkim_tag tags[DKIM_MAX_TAGS];
  size_t vstart = f->namelen + 1;
  int n;

  if (f->len > DKIM_MAX_HEADER) return 0;
  n = dkim_tags_parse(f->p + vstart, f->len - vstart, tags, DKIM_MAX_TAGS);
  return n > 0 && dkim_tag_is(dkim_tag_get(tags, n, "a"), "ed25519-sha256");
}

/* 1 if one of the n results passed for domain d */
static int domain_passed(const struct dkim_result *res, int n, const char *d)
{
  for (int i = 0; i < n; i++)
    if (res[i].status == DKIM_PASS && strcasecmp(res[i].domain, d) == 0) return 1;
  return 0;
}

int dkim_verify(const char *msg, size_t len, struct dkim_result *res, int max,
                dkim_lookup_fn lookup, void *cookie, time_t now, int flags)
{
  struct dkim_field *fields;
  size_t at[DKIM_MAX_SIGS];  /* the field of each result */
  int late[DKIM_MAX_SIGS];   /* 1: Ed25519, checked in the second round */
  int skip[DKIM_MAX_SIGS];   /* 1: left out (its domain passed) */
  size_t nfields;
  long body;
  size_t i;
  int count = 0;
  int out = 0;

  if (max > DKIM_MAX_SIGS) max = DKIM_MAX_SIGS;
  body = dkim_fields(msg, len, &fields, &nfields);
  if (body == -1) return -1;
  for (i = 0; i < nfields && count < max; i++) {
    if (!dkim_eqi(fields[i].p, fields[i].namelen, "DKIM-Signature", 14)) continue;
    at[count] = i;
    late[count] = (flags & DKIM_VERIFY_ENOUGH) && is_ed25519(&fields[i]);
    skip[count] = 0;
    /* every result starts empty: one not checked yet never counts as a
     * pass of its domain */
    memset(&res[count], 0, sizeof res[count]);
    res[count].bodylen = -1;
    res[count].status = DKIM_PERMERROR;
    count++;
  }
  /* round 1: all but the late ones; round 2: the late ones whose domain
   * has no good signature yet */
  for (int round = 0; round < 2; round++) {
    for (int k = 0; k < count; k++) {
      struct dkim_result *r = &res[k];
      if (late[k] != round) continue;
      if (round == 1) {
        char d[sizeof r->domain];
        struct dkim_tag tags[DKIM_MAX_TAGS];
        const struct dkim_field *f = &fields[at[k]];
        int n = dkim_tags_parse(f->p + f->namelen + 1, f->len - f->namelen - 1, tags,
                                DKIM_MAX_TAGS);
        copy_clean(d, sizeof d, n > 0 ? dkim_tag_get(tags, n, "d") : NULL, 0);
        if (d[0] != '\0' && domain_passed(res, count, d)) {
          skip[k] = 1;
          continue;
        }
      }
      verify_one(fields, nfields, at[k], msg + body, len - (size_t)body, r, lookup, cookie, now);
    }
  }
  free(fields);
  /* the results checked, in the order of their headers */
  for (int k = 0; k < count; k++) {
    if (skip[k]) continue;
    if (out != k) res[out] = res[k];
    out++;
  }
  return out;
}
