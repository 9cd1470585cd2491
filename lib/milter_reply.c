/*
 * milter_reply_parse: one reply packet of a milter (milter.h), checked
 * byte for byte. What comes from a milter is distrusted as a peer's
 * input: a reply code must be an SMTP code of 4xx or 5xx on one line, a
 * field name printable ASCII without a colon, a value without control
 * bytes other than a folding CR LF followed by a blank, a sender, a
 * recipient and a quarantine reason one line of printable ASCII.
 */
#include <string.h>

#include "milter.h"

static uint32_t get32(const char *s)
{
  const unsigned char *u = (const unsigned char *)s;

  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* A NUL-terminated string at s of at most len bytes: its length + 1
 * (with the NUL), or 0 if no NUL. */
static size_t cstr(const char *s, size_t len)
{
  const char *nul = memchr(s, '\0', len);

  return nul == NULL ? 0 : (size_t)(nul - s) + 1;
}

static int text_ok(const char *s, size_t n)
{
  if (n < 4 || n > MILTER_TEXT_MAX) return 0;
  if (s[0] != '4' && s[0] != '5') return 0;
  if (s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') return 0;
  if (s[3] != ' ') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 32 || c == 127) return 0;
  }
  return 1;
}

static int name_ok(const char *s, size_t n)
{
  if (n == 0 || n > 100) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 32 || c >= 127 || c == ':') return 0;
  }
  return 1;
}

static int path_ok(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 32 || c >= 127) return 0;
  }
  return 1;
}

static int value_ok(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' && i + 2 < n && s[i + 1] == '\n' && (s[i + 2] == ' ' || s[i + 2] == '\t')) {
      i++;
      continue;
    }
    if (c == '\n' && i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t')) continue;
    if ((c < 32 && c != '\t') || c == 127) return 0;
  }
  return 1;
}

/* name\0value\0, exactly len bytes */
static int field(struct milter_reply *r, const char *s, size_t len)
{
  size_t n = cstr(s, len);
  size_t v;

  if (n == 0 || !name_ok(s, n - 1)) return -1;
  v = cstr(s + n, len - n);
  if (v == 0 || n + v != len || n + v > MILTER_TEXT_MAX || !value_ok(s + n, v - 1)) return -1;
  r->name = s;
  r->value = s + n;
  return 0;
}

int milter_reply_parse(struct milter_reply *r, const char *pkt, size_t len)
{
  const char *d = pkt + 1;
  size_t dlen;
  size_t n;

  if (len == 0) return -1;
  dlen = len - 1;
  memset(r, 0, sizeof *r);
  r->code = pkt[0];
  switch (r->code) {
    case 'c': case 'a': case 'r': case 't': case 'd': case 'p':
      return 0; /* libmilter may send data after some; it has no meaning */
    case 'O':
      if (dlen < 12) return -1;
      r->version = get32(d);
      r->actions = get32(d + 4);
      r->protocol = get32(d + 8);
      return 0;
    case 'y':
      n = cstr(d, dlen);
      if (n == 0 || n != dlen || !text_ok(d, n - 1)) return -1;
      r->text = d;
      return 0;
    case 'h':
      return field(r, d, dlen);
    case 'b': /* any bytes: the caller bounds the whole body */
      r->value = d;
      r->len = dlen;
      return 0;
    case '+':
    case '-': /* a path, as the milter writes it: printable, bounded */
      n = cstr(d, dlen);
      if (n < 2 || n != dlen || n > 600 || !path_ok(d, n - 1)) return -1;
      r->value = d;
      return 0;
    case 'i':
    case 'm':
      if (dlen < 4) return -1;
      r->index = get32(d);
      return field(r, d + 4, dlen - 4);
    case 'e': /* <sender>\0, then the ESMTP arguments\0 or nothing */
      n = cstr(d, dlen);
      if (n < 2 || n > 600 || !path_ok(d, n - 1)) return -1;
      r->value = d;
      if (n == dlen) return 0;
      if (cstr(d + n, dlen - n) != dlen - n || dlen - n > 600 || !path_ok(d + n, dlen - n - 1))
        return -1;
      r->text = d + n;
      return 0;
    case 'q': /* a reason: one line of printable ASCII, as a queue record takes it */
      n = cstr(d, dlen);
      if (n < 2 || n != dlen || n > 500 || !path_ok(d, n - 1)) return -1;
      r->text = d;
      return 0;
    default:
      return -1;
  }
}
