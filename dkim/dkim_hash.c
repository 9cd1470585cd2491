/*
 * dkim_hash: the body hash (RFC 6376 3.7, with l=) and the header data
 * that the signature covers (5.4.2: h= order, repeated names bottom-up,
 * names without a field add nothing). ISC licence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dkim_int.h"

struct body_sink {
  EVP_MD_CTX *md;
  long long limit; /* -1: all */
  long long total;
  int err;
};

static void body_out(void *ctx, const char *p, size_t n)
{
  struct body_sink *s = ctx;
  size_t take = n;

  if (s->limit != -1) {
    long long room = s->limit - s->total;
    if (room <= 0)
      take = 0;
    else if ((unsigned long long)room < n)
      take = (size_t)room;
  }
  if (take > 0 && EVP_DigestUpdate(s->md, p, take) != 1) s->err = 1;
  s->total += (long long)n;
}

int dkim_body_hash(const char *body, size_t len, int canon, long long limit,
                   unsigned char hash[DKIM_HASHLEN], long long *total)
{
  struct body_sink sink;
  unsigned int hlen = 0;
  int r = -1;

  sink.md = EVP_MD_CTX_new();
  sink.limit = limit;
  sink.total = 0;
  sink.err = 0;
  if (sink.md == NULL) return -1;
  if (EVP_DigestInit_ex(sink.md, EVP_sha256(), NULL) != 1) goto out;
  dkim_canon_body(body, len, canon, body_out, &sink);
  if (sink.err) goto out;
  if (EVP_DigestFinal_ex(sink.md, hash, &hlen) != 1 || hlen != DKIM_HASHLEN) goto out;
  *total = sink.total;
  r = 0;
out:
  EVP_MD_CTX_free(sink.md);
  if (r == -1) errno = EIO;
  return r;
}

static size_t field_name_len(const struct dkim_field *f)
{
  size_t n = f->namelen;
  while (n > 0 && (f->p[n - 1] == ' ' || f->p[n - 1] == '\t')) n--;
  return n;
}

int dkim_header_data(struct dkim_buf *b, const struct dkim_field *fields, size_t nfields,
                     const char *hlist, size_t hlen, int canon)
{
  unsigned char *used;
  size_t i = 0;
  int r = 0;
  int names = 0;

  used = calloc(nfields ? nfields : 1, 1);
  if (used == NULL) return -1;
  while (i <= hlen) {
    size_t start;
    size_t end;
    size_t k;

    while (i < hlen && (hlist[i] == ' ' || hlist[i] == '\t' || hlist[i] == '\r' ||
                        hlist[i] == '\n'))
      i++;
    start = i;
    while (i < hlen && hlist[i] != ':') i++;
    end = i;
    while (end > start && (hlist[end - 1] == ' ' || hlist[end - 1] == '\t' ||
                           hlist[end - 1] == '\r' || hlist[end - 1] == '\n'))
      end--;
    if (end == start || ++names > DKIM_MAX_HNAMES) { /* empty name, or too many */
      r = -2;
      break;
    }
    for (k = nfields; k > 0; k--) {
      const struct dkim_field *f = &fields[k - 1];
      if (used[k - 1] || f->namelen == 0) continue;
      if (!dkim_eqi(f->p, field_name_len(f), hlist + start, end - start)) continue;
      used[k - 1] = 1;
      if (dkim_canon_header(b, f->p, f->len, canon) == -1) r = -1;
      break;
    }
    if (r == -1) break;
    i++; /* past the ":" (or the end) */
  }
  free(used);
  return r;
}
