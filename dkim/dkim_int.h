#ifndef DKIM_INT_H
#define DKIM_INT_H
/*
 * dkim: the library's inner pieces, shared by its files and exported for
 * the unit test (tests/unit/u_dkim.c) and the fuzz target. ISC licence.
 */
#include <stddef.h>

#define DKIM_MAX_TAGS 32       /* tags in one tag-list (RFC 6376 3.2) */
#define DKIM_MAX_SIGBYTES 1024 /* b= decoded: an RSA signature of 8192 bits */
#define DKIM_MAX_KEYBYTES 2048 /* p= decoded: the DER of an RSA key of 8192 bits, and more */
#define DKIM_HASHLEN 32        /* SHA-256 */
#define DKIM_MAX_NAME 256      /* "s._domainkey.d" as text, NUL included */

/* A growing buffer; every sum of sizes is checked. */
struct dkim_buf {
  char *s;
  size_t len;
  size_t cap;
};
int dkim_buf_put(struct dkim_buf *b, const char *p, size_t n); /* 0, or -1 + ENOMEM */
int dkim_buf_puts(struct dkim_buf *b, const char *s);
void dkim_buf_free(struct dkim_buf *b);

/* One tag of a tag-list: name and value point into the parsed text; the
 * value has its leading and trailing whitespace removed but may hold
 * folding whitespace inside (b=, h=). */
struct dkim_tag {
  const char *name;
  size_t namelen;
  const char *val;
  size_t vallen;
};
/* Parses the tag-list s (len bytes; RFC 6376 3.2, whitespace being SP,
 * HTAB, CR and LF). Returns the number of tags (at most max), or -1 if
 * the list is malformed, has a duplicate tag or more than max tags. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_tag *tags, int max);
/* The tag called name, or NULL. */
const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, int n, const char *name);
/* 1 if the tag (NULL: none) has the value s (case-sensitive, whole), else 0. */
int dkim_tag_is(const struct dkim_tag *t, const char *s);

/* Base64 (RFC 6376 2.7: whitespace anywhere is ignored). Decodes into out
 * (room outmax), returns the length or -1 (bad character, bad padding,
 * too long). dkim_b64_encode writes the NUL-terminated text into out,
 * which has room for 4 * ((n + 2) / 3) + 1 bytes; returns its length. */
long dkim_b64_decode(const char *s, size_t len, unsigned char *out, size_t outmax);
size_t dkim_b64_encode(char *out, const unsigned char *in, size_t n);

/* The line at s[i..len): its text ends at *textend (before its LF, and
 * before a CR right before that LF), the next line starts at *next (len at
 * the end). 1 if the line ends in LF, 0 if it runs to the end of s. */
int dkim_line(const char *s, size_t len, size_t i, size_t *textend, size_t *next);

/* A header field of the message: p..p+len without its final line end
 * (folded lines inside keep their LF or CRLF); namelen 0 if it has no
 * colon. */
struct dkim_field {
  const char *p;
  size_t len;
  size_t namelen;
};
/* Splits msg's header into fields (malloc'd array into *fields, count into
 * *nfields) and returns the offset of the body (len if there is none).
 * -1 + ENOMEM. */
long dkim_fields(const char *msg, size_t len, struct dkim_field **fields, size_t *nfields);

/* Canonicalization (RFC 6376 3.4), each LF taken as CRLF. */
typedef void (*dkim_out_fn)(void *ctx, const char *p, size_t n);
/* The field's canonical form, ending in CRLF, appended to b. 0, or -1. */
int dkim_canon_header(struct dkim_buf *b, const char *p, size_t len, int canon);
/* The body's canonical form, given to out piece by piece. */
void dkim_canon_body(const char *body, size_t len, int canon, dkim_out_fn out, void *ctx);

/* SHA-256 of the canonical body, of its first limit bytes when limit is
 * not -1. *total gets the length of the whole canonical body. 0, or -1. */
int dkim_body_hash(const char *body, size_t len, int canon, long long limit,
                   unsigned char hash[DKIM_HASHLEN], long long *total);

/* Appends to b the canonical fields named in the colon-separated list
 * hlist (h=, hlen bytes), each name taking the last field of that name
 * not taken yet (RFC 6376 5.4.2); names of no field add nothing. 0, -1
 * ENOMEM, -2 a malformed list. */
int dkim_header_data(struct dkim_buf *b, const struct dkim_field *fields, size_t nfields,
                     const char *hlist, size_t hlen, int canon);

/* 1 if the domain name (len bytes) has a valid syntax for d= or s= (labels
 * of letters, digits, '-' and '_' between dots; total under 254 bytes). */
int dkim_name_ok(const char *s, size_t len);
/* 1 if a (alen bytes) equals b (blen) ignoring ASCII case, else 0. */
int dkim_eqi(const char *a, size_t alen, const char *b, size_t blen);

#endif
