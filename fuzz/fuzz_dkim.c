/*
 * fuzz_dkim: libFuzzer target for the DKIM library (dkim/). The first
 * byte chooses the part:
 *  0  the tag-list parser: every tag inside the input, names of letters,
 *     digits and "_", values without whitespace at either end;
 *  1  dkim_verify: the input up to the first NUL is the key record every
 *     lookup returns (twice, so that a bad first record is skipped), the
 *     rest is the message; results are at most DKIM_MAX_SIGS, each with a
 *     known status and NUL-terminated fields, and a pass only with a key;
 *  2  the canonicalizations: relaxed output has no HTAB in a value or in
 *     the body, no SP before a CRLF or at the start of a value, no empty
 *     line at the end of the body; every LF comes after a CR; a simple
 *     body ends in CRLF;
 *  3  sign and verify back: a message the library signs (Ed25519, a key
 *     fixed here) verifies with that key's record, whatever it holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

/* RFC 8032 7.1 test 1: the private key, and p= of its public key */
static const unsigned char seed[32] = {
  0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
  0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60
};
static const char record[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

struct keyrec {
  const char *rec;
  size_t len;
};

static int lookup(const char *name, char **recs, int max, void *cookie)
{
  const struct keyrec *k = cookie;
  int n = 0;

  (void)name;
  while (n < 2 && n < max) {
    recs[n] = malloc(k->len + 1);
    if (recs[n] == NULL) abort();
    memcpy(recs[n], k->rec, k->len);
    recs[n][k->len] = '\0';
    n++;
  }
  return n;
}

static void check_results(const struct dkim_result *res, int n)
{
  int i;

  if (n < 0 || n > DKIM_MAX_SIGS) abort();
  for (i = 0; i < n; i++) {
    if ((unsigned int)res[i].status > DKIM_PERMERROR) abort();
    if (memchr(res[i].domain, '\0', sizeof res[i].domain) == NULL) abort();
    if (memchr(res[i].selector, '\0', sizeof res[i].selector) == NULL) abort();
    if (memchr(res[i].algo, '\0', sizeof res[i].algo) == NULL) abort();
    if (memchr(res[i].identity, '\0', sizeof res[i].identity) == NULL) abort();
    if (memchr(res[i].bprefix, '\0', sizeof res[i].bprefix) == NULL) abort();
    if (memchr(res[i].reason, '\0', sizeof res[i].reason) == NULL) abort();
    if (res[i].status == DKIM_PASS && res[i].domain[0] == '\0') abort();
  }
}

static void fuzz_tags(const char *s, size_t len)
{
  struct dkim_tag tags[DKIM_MAX_TAGS];
  int n = dkim_tags_parse(s, len, tags, DKIM_MAX_TAGS);
  int i;

  if (n < -1 || n > DKIM_MAX_TAGS) abort();
  for (i = 0; i < n; i++) {
    const struct dkim_tag *t = &tags[i];
    if (t->name < s || t->name + t->namelen > s + len || t->namelen == 0) abort();
    if (t->val < s || t->val + t->vallen > s + len) abort();
    if (t->vallen > 0 && (strchr(" \t\r\n", t->val[0]) != NULL ||
                          strchr(" \t\r\n", t->val[t->vallen - 1]) != NULL))
      abort();
    if (dkim_tag_get(tags, n, "v") != NULL && dkim_tag_get(tags, n, "v")->namelen != 1) abort();
  }
}

static void to_buf(void *ctx, const char *p, size_t n)
{
  if (dkim_buf_put(ctx, p, n) == -1) abort();
}

static void check_crlf(const struct dkim_buf *b)
{
  size_t i;
  for (i = 0; i < b->len; i++)
    if (b->s[i] == '\n' && (i == 0 || b->s[i - 1] != '\r')) abort();
}

static void fuzz_canon(const char *s, size_t len)
{
  struct dkim_field *fields;
  size_t nfields;
  struct dkim_buf b = { 0 };
  long body = dkim_fields(s, len, &fields, &nfields);
  size_t i;

  if (body < 0 || (size_t)body > len) abort();
  for (i = 0; i < nfields; i++) {
    if (fields[i].namelen == 0) continue; /* no colon: never in h=, never hashed */
    b.len = 0;
    if (dkim_canon_header(&b, fields[i].p, fields[i].len, DKIM_RELAXED) == -1) abort();
    if (memchr(b.s, ':', b.len) != NULL) { /* the value: no HTAB, no SP at its ends */
      const char *v = memchr(b.s, ':', b.len) + 1;
      if (memchr(v, '\t', b.len - (size_t)(v - b.s)) != NULL || v[0] == ' ') abort();
    }
    if (b.len >= 3 && b.s[b.len - 3] == ' ') abort();
    check_crlf(&b);
    b.len = 0;
    if (dkim_canon_header(&b, fields[i].p, fields[i].len, DKIM_SIMPLE) == -1) abort();
    check_crlf(&b);
  }
  free(fields);
  b.len = 0;
  dkim_canon_body(s + body, len - (size_t)body, DKIM_RELAXED, to_buf, &b);
  if (b.len > 0 && memchr(b.s, '\t', b.len) != NULL) abort();
  if (b.len >= 4 && memcmp(b.s + b.len - 4, "\r\n\r\n", 4) == 0) abort();
  if (b.len > 0 && memmem(b.s, b.len, " \r\n", 3) != NULL) abort();
  check_crlf(&b);
  b.len = 0;
  dkim_canon_body(s + body, len - (size_t)body, DKIM_SIMPLE, to_buf, &b);
  if (b.len < 2 || memcmp(b.s + b.len - 2, "\r\n", 2) != 0) abort();
  dkim_buf_free(&b);
}

static void fuzz_roundtrip(const char *s, size_t len)
{
  static struct dkim_key key;
  struct keyrec k = { record, sizeof record - 1 };
  struct dkim_result res[DKIM_MAX_SIGS];
  struct dkim_buf msg = { 0 };
  char *sig;
  size_t siglen;
  int n;

  /* a first line that continues a field above would continue ours */
  if (len == 0 || s[0] == ' ' || s[0] == '\t') return;
  if (key.pkey == NULL) {
    key.pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
    key.type = DKIM_ED25519;
    if (key.pkey == NULL) abort();
  }
  if (dkim_sign(s, len, "example.com", "sel", &key, 1700000000, &sig, &siglen) == -1) return;
  if (dkim_buf_put(&msg, sig, siglen) == -1 || dkim_buf_put(&msg, s, len) == -1) abort();
  n = dkim_verify(msg.s, msg.len, res, DKIM_MAX_SIGS, lookup, &k, 1700000000, 0);
  check_results(res, n);
  if (n < 1 || res[0].status != DKIM_PASS) abort();
  free(sig);
  dkim_buf_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data + 1;
  size_t len;

  if (size < 1) return 0;
  len = size - 1;
  switch (data[0] % 4) {
  case 0:
    fuzz_tags(s, len);
    break;
  case 1: {
    const char *nul = memchr(s, '\0', len);
    struct keyrec k;
    struct dkim_result res[DKIM_MAX_SIGS];
    if (nul == NULL) {
      k.rec = record;
      k.len = sizeof record - 1;
    } else {
      k.rec = s;
      k.len = (size_t)(nul - s);
      len -= k.len + 1;
      s = nul + 1;
    }
    check_results(res, dkim_verify(s, len, res, DKIM_MAX_SIGS, lookup, &k, 1700000000,
                                   (data[0] >> 2) & DKIM_VERIFY_ENOUGH));
    break;
  }
  case 2:
    fuzz_canon(s, len);
    break;
  default:
    fuzz_roundtrip(s, len);
  }
  return 0;
}
