/*
 * dkim_sign: makes a DKIM-Signature header (RFC 6376 5): relaxed/relaxed,
 * rsa-sha256 or ed25519-sha256, t= the time given, no l=, and the names
 * of SIGNED over-signed (each present name listed once more than it
 * occurs, an absent one once: nobody can add such a field later without
 * breaking the signature, 8.15). ISC licence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

static const char *const signed_names[] = {
  "from", "to", "subject", "date", "message-id", "reply-to", "cc", "mime-version",
  "content-type", "content-transfer-encoding"
};

#define FOLD_AT 72 /* columns after which a list or b= goes on a new line */

static size_t count_fields(const struct dkim_field *fields, size_t n, const char *name)
{
  size_t count = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    size_t nl = fields[i].namelen;
    while (nl > 0 && (fields[i].p[nl - 1] == ' ' || fields[i].p[nl - 1] == '\t')) nl--;
    if (nl > 0 && dkim_eqi(fields[i].p, nl, name, strlen(name))) count++;
  }
  return count;
}

/* h= into hl, and the same folded into sig ("\n\t" after a colon once a
 * line passes FOLD_AT columns; FWS is allowed there) */
static int make_hlist(struct dkim_buf *hl, struct dkim_buf *sig,
                      const struct dkim_field *fields, size_t n)
{
  size_t col = 4;
  size_t k;

  if (dkim_buf_puts(sig, "\n\th=") == -1) return -1;
  for (k = 0; k < sizeof signed_names / sizeof signed_names[0]; k++) {
    size_t times = count_fields(fields, n, signed_names[k]) + 1;
    while (times-- > 0) {
      const char *name = signed_names[k];
      size_t len = strlen(name);
      if (hl->len > 0) {
        if (dkim_buf_put(hl, ":", 1) == -1 || dkim_buf_put(sig, ":", 1) == -1) return -1;
        col++;
        if (col + len > FOLD_AT) {
          if (dkim_buf_puts(sig, "\n\t ") == -1) return -1;
          col = 2;
        }
      }
      if (dkim_buf_put(hl, name, len) == -1 || dkim_buf_put(sig, name, len) == -1) return -1;
      col += len;
    }
  }
  return dkim_buf_put(sig, ";", 1);
}

int dkim_sign(const char *msg, size_t len, const char *domain, const char *selector,
              const struct dkim_key *key, time_t now, char **out, size_t *outlen)
{
  struct dkim_field *fields = NULL;
  size_t nfields = 0;
  struct dkim_buf sig = { 0 };
  struct dkim_buf hl = { 0 };
  struct dkim_buf data = { 0 };
  unsigned char bh[DKIM_HASHLEN];
  char bh64[4 * ((DKIM_HASHLEN + 2) / 3) + 1];
  unsigned char b[DKIM_MAX_SIGBYTES];
  char b64[4 * ((DKIM_MAX_SIGBYTES + 2) / 3) + 1];
  size_t blen = sizeof b;
  size_t b64len;
  char num[32];
  long long total;
  long body;
  size_t i;
  int saved;

  *out = NULL;
  *outlen = 0;
  if (!dkim_name_ok(domain, strlen(domain)) || !dkim_name_ok(selector, strlen(selector))) {
    errno = EINVAL;
    return -1;
  }
  body = dkim_fields(msg, len, &fields, &nfields);
  if (body == -1) return -1;
  if (nfields == 0) {
    free(fields);
    errno = EINVAL;
    return -1;
  }
  if (dkim_body_hash(msg + body, len - (size_t)body, DKIM_RELAXED, -1, bh, &total) == -1)
    goto fail;
  dkim_b64_encode(bh64, bh, sizeof bh);
  snprintf(num, sizeof num, "%lld", (long long)now);

  if (dkim_buf_puts(&sig, "DKIM-Signature: v=1; a=") == -1 ||
      dkim_buf_puts(&sig, key->type == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256") == -1 ||
      dkim_buf_puts(&sig, "; c=relaxed/relaxed; d=") == -1 ||
      dkim_buf_puts(&sig, domain) == -1 || dkim_buf_puts(&sig, "; s=") == -1 ||
      dkim_buf_puts(&sig, selector) == -1 || dkim_buf_puts(&sig, "; t=") == -1 ||
      dkim_buf_puts(&sig, num) == -1 || dkim_buf_puts(&sig, ";") == -1 ||
      make_hlist(&hl, &sig, fields, nfields) == -1 ||
      dkim_buf_puts(&sig, "\n\tbh=") == -1 || dkim_buf_puts(&sig, bh64) == -1 ||
      dkim_buf_puts(&sig, ";\n\tb=") == -1)
    goto fail;

  /* what is signed: the fields in h= order, then this header with b= empty
   * and without its final CRLF (RFC 6376 3.7) */
  if (dkim_header_data(&data, fields, nfields, hl.s, hl.len, DKIM_RELAXED) != 0 ||
      dkim_canon_header(&data, sig.s, sig.len, DKIM_RELAXED) == -1)
    goto fail;
  data.len -= 2;
  if (dkim_crypto_sign(key->pkey, key->type, data.s, data.len, b, &blen) == -1) {
    errno = EIO;
    goto fail;
  }
  b64len = dkim_b64_encode(b64, b, blen);
  for (i = 0; i < b64len; i += FOLD_AT - 8) {
    size_t n = b64len - i;
    if (n > FOLD_AT - 8) n = FOLD_AT - 8;
    if (i > 0 && dkim_buf_puts(&sig, "\n\t ") == -1) goto fail;
    if (dkim_buf_put(&sig, b64 + i, n) == -1) goto fail;
  }
  if (dkim_buf_puts(&sig, "\n") == -1) goto fail;

  free(fields);
  dkim_buf_free(&hl);
  dkim_buf_free(&data);
  *out = sig.s;
  *outlen = sig.len;
  return 0;
fail:
  saved = errno;
  free(fields);
  dkim_buf_free(&hl);
  dkim_buf_free(&data);
  dkim_buf_free(&sig);
  errno = saved;
  return -1;
}
