/* tests/unit/u_dkim.c: the DKIM library's canonicalization (the examples
 * of RFC 6376 3.4.5, with LF and with CRLF line ends), its tag-list parser
 * (RFC 6376 3.2), base64 with whitespace, the header field splitter, the
 * choice of fields by h= (bottom-up, over-signed names) and dkim_keys_for
 * (the key directory's layout, parent domains), and dkim_verify's
 * DKIM_VERIFY_ENOUGH on the dual signature of RFC 8463 Appendix A. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "tap.h"
#include "tmpdir.h"
#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

static void to_buf(void *ctx, const char *p, size_t n)
{
  dkim_buf_put(ctx, p, n);
}

/* 1 if the canonical form of body is want */
static int body_is(const char *body, int canon, const char *want)
{
  struct dkim_buf b = { 0 };
  int r;

  dkim_canon_body(body, strlen(body), canon, to_buf, &b);
  r = b.len == strlen(want) && (b.len == 0 || memcmp(b.s, want, b.len) == 0);
  if (!r) printf("# got %zu bytes: %s\n", b.len, b.s ? b.s : "");
  dkim_buf_free(&b);
  return r;
}

/* the canonical form of every field of msg's header, in order */
static int header_is(const char *msg, int canon, const char *want)
{
  struct dkim_field *f;
  size_t n;
  size_t i;
  struct dkim_buf b = { 0 };
  int r;

  if (dkim_fields(msg, strlen(msg), &f, &n) == -1) return 0;
  for (i = 0; i < n; i++) dkim_canon_header(&b, f[i].p, f[i].len, canon);
  r = b.s != NULL && strcmp(b.s, want) == 0;
  if (!r) printf("# got: %s\n", b.s ? b.s : "");
  free(f);
  dkim_buf_free(&b);
  return r;
}

static int hdata_is(const char *msg, const char *hlist, const char *want)
{
  struct dkim_field *f;
  size_t n;
  struct dkim_buf b = { 0 };
  int r;

  if (dkim_fields(msg, strlen(msg), &f, &n) == -1) return 0;
  r = dkim_header_data(&b, f, n, hlist, strlen(hlist), DKIM_RELAXED) == 0 &&
      strcmp(b.s ? b.s : "", want) == 0;
  if (!r) printf("# got: %s\n", b.s ? b.s : "");
  free(f);
  dkim_buf_free(&b);
  return r;
}

static int tag_eq(const struct dkim_tag *t, const char *name, const char *val)
{
  return t->namelen == strlen(name) && memcmp(t->name, name, t->namelen) == 0 &&
         t->vallen == strlen(val) && memcmp(t->val, val, t->vallen) == 0;
}

/* the RFC 8463 A keys (tests/dkim/rfc8463.keys: NAME. "RECORD" lines),
 * each name asked counted; drop: a name answered as absent */
static char keys8463[4096];
static int asked_ed;
static const char *drop;

static int lookup8463(const char *name, char **recs, int max, void *cookie)
{
  char *line = keys8463;

  (void)cookie;
  if (strncmp(name, "brisbane.", 9) == 0) asked_ed++;
  if (drop != NULL && strcmp(name, drop) == 0) return 0;
  while (*line != '\0' && max > 0) {
    char *nl = strchr(line, '\n');
    size_t n = strlen(name);

    if (nl == NULL) nl = line + strlen(line);
    if (strncmp(line, name, n) == 0 && line[n] == '.') {
      /* the record: its quoted strings joined */
      char *rec = calloc(1, (size_t)(nl - line) + 1);
      size_t k = 0;
      int in = 0;

      if (rec == NULL) return -1;
      for (char *p = line + n; p < nl; p++) {
        if (*p == '"') in = !in;
        else if (in) rec[k++] = *p;
      }
      recs[0] = rec;
      return 1;
    }
    line = *nl != '\0' ? nl + 1 : nl;
  }
  return 0;
}

static size_t read_file(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "rb");
  size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;

  if (f != NULL) fclose(f);
  buf[n] = '\0';
  return n;
}

int main(void)
{
  /* RFC 6376 3.4.5 */
  static const char ex_lf[] = "A: X\nB : Y\t\n\tZ  \n\n C \nD \t E\n\n\n";
  static const char ex_crlf[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  struct dkim_tag tags[DKIM_MAX_TAGS];
  struct dkim_field *f;
  size_t nf;
  unsigned char bin[64];
  char text[64];
  long body;
  const char *s;
  int n;

  plan(54);
  ok(header_is(ex_lf, DKIM_RELAXED, "a:X\r\nb:Y Z\r\n"), "3.4.5 relaxed header (LF)");
  ok(header_is(ex_crlf, DKIM_RELAXED, "a:X\r\nb:Y Z\r\n"), "3.4.5 relaxed header (CRLF)");
  ok(header_is(ex_lf, DKIM_SIMPLE, "A: X\r\nB : Y\t\r\n\tZ  \r\n"), "3.4.5 simple header (LF)");
  ok(header_is(ex_crlf, DKIM_SIMPLE, "A: X\r\nB : Y\t\r\n\tZ  \r\n"),
     "3.4.5 simple header (CRLF)");
  body = dkim_fields(ex_lf, strlen(ex_lf), &f, &nf);
  ok(body == 18 && nf == 2, "two fields, body after the empty line");
  free(f);
  ok(body_is(ex_lf + 18, DKIM_RELAXED, " C\r\nD E\r\n"), "3.4.5 relaxed body (LF)");
  ok(body_is(ex_crlf + 22, DKIM_RELAXED, " C\r\nD E\r\n"), "3.4.5 relaxed body (CRLF)");
  ok(body_is(ex_lf + 18, DKIM_SIMPLE, " C \r\nD \t E\r\n"), "3.4.5 simple body (LF)");
  ok(body_is(ex_crlf + 22, DKIM_SIMPLE, " C \r\nD \t E\r\n"), "3.4.5 simple body (CRLF)");
  ok(body_is("", DKIM_SIMPLE, "\r\n"), "simple: an empty body is one CRLF");
  ok(body_is("\n\n", DKIM_SIMPLE, "\r\n"), "simple: empty lines only are one CRLF");
  ok(body_is("", DKIM_RELAXED, ""), "relaxed: an empty body stays empty");
  ok(body_is(" \t\n\n", DKIM_RELAXED, ""), "relaxed: blank lines only are nothing");
  ok(body_is("x", DKIM_SIMPLE, "x\r\n"), "a last line without LF gets CRLF");
  ok(body_is("a\n\n\nb\n\n", DKIM_SIMPLE, "a\r\n\r\n\r\nb\r\n"),
     "empty lines inside stay, those at the end go");
  ok(body_is("a\rb\n", DKIM_SIMPLE, "a\rb\r\n"), "a bare CR inside a line stays");
  body = dkim_fields("From: a\n", 8, &f, &nf);
  ok(body == 8 && nf == 1, "a header without body");
  free(f);

  /* h=: bottom-up for repeated names, over-signed names add nothing */
  s = "Received: 1\nX: top\nFrom: a\nX: bottom\n\nbody\n";
  ok(hdata_is(s, "x", "x:bottom\r\n"), "h= takes the lowest field of a name first");
  ok(hdata_is(s, "x:X:x:from:from", "x:bottom\r\nx:top\r\nfrom:a\r\n"),
     "repeated and over-signed names");
  ok(hdata_is(s, "subject", ""), "a name of no field adds nothing");
  {
    struct dkim_buf b = { 0 };
    dkim_fields(s, strlen(s), &f, &nf);
    ok(dkim_header_data(&b, f, nf, "from::x", 7, DKIM_RELAXED) == -2, "an empty name in h=");
    free(f);
    dkim_buf_free(&b);
  }

  /* tag-lists */
  s = " v=1; a = rsa-sha256 ;\r\n\tb=ab\r\n cd ;h=from:to;";
  n = dkim_tags_parse(s, strlen(s), tags, DKIM_MAX_TAGS);
  ok(n == 4, "four tags, a final ; allowed");
  ok(n == 4 && tag_eq(&tags[0], "v", "1") && tag_eq(&tags[1], "a", "rsa-sha256"),
     "whitespace around names and values goes");
  ok(n == 4 && tag_eq(&tags[2], "b", "ab\r\n cd"), "folding whitespace inside a value stays");
  ok(n == 4 && dkim_tag_get(tags, n, "h") == &tags[3] && dkim_tag_get(tags, n, "x") == NULL,
     "dkim_tag_get");
  ok(dkim_tags_parse("a=1; a=2", 8, tags, DKIM_MAX_TAGS) == -1, "a duplicate tag is an error");
  ok(dkim_tags_parse("a=1;; b=2", 9, tags, DKIM_MAX_TAGS) == -1, "an empty tag-spec is an error");
  ok(dkim_tags_parse("1a=1", 4, tags, DKIM_MAX_TAGS) == -1, "a name starts with a letter");
  ok(dkim_tags_parse("a", 1, tags, DKIM_MAX_TAGS) == -1, "a tag without =");
  ok(dkim_tags_parse("a=\x80", 3, tags, DKIM_MAX_TAGS) == -1, "a byte outside VALCHAR");
  n = dkim_tags_parse("p=; t=y", 7, tags, DKIM_MAX_TAGS);
  ok(n == 2 && tags[0].vallen == 0 && tag_eq(&tags[1], "t", "y"), "an empty value");
  ok(dkim_tags_parse("a=1;b=2;c=3", 11, tags, 2) == -1, "more tags than room");
  ok(dkim_tags_parse("", 0, tags, DKIM_MAX_TAGS) == 0, "an empty list");

  /* base64 */
  ok(dkim_b64_decode("aGVs\r\n bG8=", 11, bin, sizeof bin) == 5 && memcmp(bin, "hello", 5) == 0,
     "base64 with folding whitespace");
  ok(dkim_b64_decode("aGVsbG8", 7, bin, sizeof bin) == -1, "base64 without its padding");
  ok(dkim_b64_decode("aG=Vs", 5, bin, sizeof bin) == -1, "base64 with data after padding");
  ok(dkim_b64_encode(text, (const unsigned char *)"hello", 5) == 8 &&
     strcmp(text, "aGVsbG8=") == 0, "base64 encoding");

  /* dkim_keys_for: DIR/DOMAIN/selector, SELECTOR.rsa, SELECTOR.ed25519 */
  {
    struct dkim_keyfile kf[2];
    char path[512];
    const char *dir = tmpdir_make();

    snprintf(path, sizeof path, "%s/example.com", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/example.com/selector", dir);
    tmpdir_put(path, "s2026\n", 6);
    snprintf(path, sizeof path, "%s/example.com/s2026.rsa", dir);
    tmpdir_put(path, "x", 1);
    snprintf(path, sizeof path, "%s/example.com/s2026.ed25519", dir);
    tmpdir_put(path, "x", 1);
    snprintf(path, sizeof path, "%s/example.com/old.rsa", dir);
    tmpdir_put(path, "x", 1);
    n = dkim_keys_for(dir, "Mail.Example.COM.", kf, 2);
    ok(n == 2 && strcmp(kf[0].domain, "example.com") == 0 &&
       strcmp(kf[0].selector, "s2026") == 0 && kf[0].type == DKIM_RSA &&
       kf[1].type == DKIM_ED25519 && strstr(kf[1].path, "/example.com/s2026.ed25519") != NULL,
       "keys_for: a subdomain takes its parent's keys, RSA first");
    ok(dkim_keys_for(dir, "example.com", kf, 1) == 1 && kf[0].type == DKIM_RSA,
       "keys_for: room for one");
    ok(dkim_keys_for(dir, "example.org", kf, 2) == 0, "keys_for: no keys");
    ok(dkim_keys_for(dir, "../etc", kf, 2) == -1, "keys_for: a bad domain");
    snprintf(path, sizeof path, "%s/example.com/selector", dir);
    tmpdir_put(path, "../x\n", 5);
    ok(dkim_keys_for(dir, "example.com", kf, 2) == -1, "keys_for: a bad selector");
    tmpdir_remove();
  }

  /* dkim_pubkey: the same bytes give the cached key, others their own */
  {
    unsigned char raw[32];
    EVP_PKEY *k1;
    EVP_PKEY *k2;
    EVP_PKEY *k3;
    int same_after = 1;

    memset(raw, 7, sizeof raw);
    k1 = dkim_pubkey(DKIM_ED25519, raw, sizeof raw);
    k2 = dkim_pubkey(DKIM_ED25519, raw, sizeof raw);
    ok(k1 != NULL && k1 == k2, "pubkey: the same bytes, the cached key");
    raw[0] = 8;
    k3 = dkim_pubkey(DKIM_ED25519, raw, sizeof raw);
    ok(k3 != NULL && k3 != k1, "pubkey: other bytes, another key");
    ok(dkim_pubkey(DKIM_ED25519, raw, 31) == NULL, "pubkey: Ed25519 of 31 bytes refused");
    ok(dkim_pubkey(DKIM_RSA, raw, sizeof raw) == NULL, "pubkey: not an RSA key");
    /* more keys than the cache holds: each still right, k1 still usable */
    for (int i = 0; i < 40; i++) {
      EVP_PKEY *k;
      unsigned char out[32];
      size_t outlen = sizeof out;

      raw[1] = (unsigned char)i;
      k = dkim_pubkey(DKIM_ED25519, raw, sizeof raw);
      if (k == NULL || EVP_PKEY_get_raw_public_key(k, out, &outlen) != 1 ||
          memcmp(out, raw, sizeof raw) != 0)
        same_after = 0;
      EVP_PKEY_free(k);
    }
    ok(same_after && EVP_PKEY_get_bits(k1) > 0, "pubkey: past the cache's size");
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    dkim_pubkey_clear();
  }
  {
    /* RFC 8463 A: Ed25519 above RSA, both of football.example.com */
    static char msg[8192];
    struct dkim_result res[DKIM_MAX_SIGS];
    size_t len = read_file("tests/dkim/rfc8463.msg", msg, sizeof msg);

    read_file("tests/dkim/rfc8463.keys", keys8463, sizeof keys8463);
    n = dkim_verify(msg, len, res, DKIM_MAX_SIGS, lookup8463, NULL, 0, 0);
    ok(n == 2 && res[0].status == DKIM_PASS && res[1].status == DKIM_PASS &&
       strcmp(res[0].algo, "ed25519-sha256") == 0, "RFC 8463 A: both checked, both pass");
    asked_ed = 0;
    n = dkim_verify(msg, len, res, DKIM_MAX_SIGS, lookup8463, NULL, 0, DKIM_VERIFY_ENOUGH);
    ok(n == 1 && res[0].status == DKIM_PASS && strcmp(res[0].algo, "rsa-sha256") == 0,
       "enough: the RSA signature passes, the Ed25519 one of its domain is left out");
    ok(asked_ed == 0, "enough: the Ed25519 key is not even looked up");
    drop = "test._domainkey.football.example.com";
    n = dkim_verify(msg, len, res, DKIM_MAX_SIGS, lookup8463, NULL, 0, DKIM_VERIFY_ENOUGH);
    ok(n == 2 && res[0].status == DKIM_PASS && strcmp(res[0].algo, "ed25519-sha256") == 0 &&
       res[1].status == DKIM_PERMERROR, "enough: RSA key gone, Ed25519 checked, header order");
    drop = NULL;
    msg[len - 3] ^= 1; /* the body changed: both fail, both reported */
    n = dkim_verify(msg, len, res, DKIM_MAX_SIGS, lookup8463, NULL, 0, DKIM_VERIFY_ENOUGH);
    ok(n == 2 && res[0].status == DKIM_FAIL && res[1].status == DKIM_FAIL,
       "enough: a changed body, both checked and failed");
    n = dkim_verify(msg, len, res, 1, lookup8463, NULL, 0, DKIM_VERIFY_ENOUGH);
    ok(n == 1 && strcmp(res[0].algo, "ed25519-sha256") == 0, "enough: max 1 is the top one");
    {
      /* a signature without a= (found by fuzz_dkim: a NULL tag) */
      static const char noa[] = "DKIM-Signature: v=1; d=x.example; s=s; h=from; bh=; b=\n"
                                "From: a@x.example\n\nbody\n";
      n = dkim_verify(noa, sizeof noa - 1, res, DKIM_MAX_SIGS, lookup8463, NULL, 0,
                      DKIM_VERIFY_ENOUGH);
      ok(n == 1 && res[0].status == DKIM_PERMERROR, "enough: a signature without a=, permerror");
    }
  }
  return done_testing();
}
