/*
 * fuzz_dsn: libFuzzer target for what qsend reads when it writes a
 * delivery status notification (qsend/qsend_dsn.c): the reason of a
 * delivery (a server's reply as qremote reported it, or a local reason),
 * the header section of the original message, and the fields and the MIME
 * boundary built from them. The first byte chooses the report's kind; the
 * rest is the reason up to a NUL, then the original message.
 * Checks beyond the sanitizers: the Status is an RFC 3463 code of the
 * report's class (5 failed, 4 delayed, 2 delivered); the remote reply and
 * the host name lie inside the reason; a field is one logical line whose
 * continuation lines start with a blank, with no control byte, and holds
 * the value's text unchanged but for the folding; the header attached
 * ends at a line end and holds no empty line; the boundary (at most 70
 * bytes, RFC 2046 5.1.1) occurs nowhere in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stralloc.h>

#include "qsend_dsn.h"

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* class "." 1-3 digits "." 1-3 digits, and nothing else */
static int status_ok(const char *s)
{
  size_t i = 2;
  size_t n;

  if (s[1] != '.') return 0;
  for (n = 0; is_digit(s[i]); ++n) ++i;
  if (n < 1 || n > 3 || s[i] != '.') return 0;
  ++i;
  for (n = 0; is_digit(s[i]); ++n) ++i;
  return n >= 1 && n <= 3 && s[i] == '\0';
}

static void check_reason(const char *reason, int kind)
{
  struct dsn_reason p;
  size_t len = strlen(reason);
  char want = kind == DSN_FAILED ? '5' : kind == DSN_DELAYED ? '4' : '2';

  dsn_reason_parse(&p, reason, kind);
  if (memchr(p.status, '\0', sizeof p.status) == NULL || !status_ok(p.status)) abort();
  if (p.status[0] != want) abort();
  if (p.remote != NULL && (p.remote < reason || p.remote > reason + len)) abort();
  if (p.hostlen > len || (p.hostlen > 0 && p.remote == NULL)) abort();
  if (p.remote != NULL && p.hostlen > (size_t)(p.remote - reason)) abort();
}

static void check_field(const char *value)
{
  static const char name[] = "Diagnostic-Code";
  static stralloc out;
  static stralloc want;
  size_t n = sizeof name - 1;
  size_t k;
  size_t w;
  const char *v = value;

  out.len = 0;
  if (!dsn_cat_field(&out, name, value)) abort();
  if (out.len < n + 2 || memcmp(out.s, name, n) != 0 || out.s[n] != ':' ||
      out.s[out.len - 1] != '\n')
    abort();
  for (k = 0; k + 1 < out.len; ++k) {
    unsigned char c = (unsigned char)out.s[k];

    if (c == '\n' && out.s[k + 1] != ' ') abort(); /* a new field would start there */
    if ((c < 0x20 && c != '\n') || c == 0x7f) abort();
  }
  /* the same text without the folds: ' ' and the value without leading blanks */
  want.len = 0;
  if (*v != '\0' && !stralloc_append(&want, " ")) abort();
  while (*v == ' ') ++v;
  for (; *v != '\0'; ++v) {
    char c = ((unsigned char)*v < 0x20 || *v == 0x7f) ? '?' : *v;
    if (!stralloc_append(&want, &c)) abort();
  }
  for (k = n + 1, w = 0; k + 1 < out.len; ++k) {
    if (out.s[k] == '\n') continue;
    if (w >= want.len || out.s[k] != want.s[w]) abort();
    ++w;
  }
  if (w != want.len) abort();
}

static void check_original(const char *msg, size_t len)
{
  static stralloc orig;
  static stralloc boundary;
  size_t h = dsn_header_len(msg, len);

  if (h > len) abort();
  if (h > 0 && (msg[h - 1] != '\n' || msg[0] == '\n')) abort();
  if (memmem(msg, h, "\n\n", 2) != NULL) abort();
  if (!stralloc_copyb(&orig, msg, h)) abort();
  if (!dsn_boundary(&boundary, &orig, 12345, 1700000000)) abort();
  if (boundary.len == 0 || boundary.len > 70) abort();
  if (memmem(orig.s, orig.len, boundary.s, boundary.len) != NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int kinds[3] = {DSN_FAILED, DSN_DELAYED, DSN_DELIVERED};
  char reason[2048];
  const char *rest;
  size_t rlen;

  if (size < 1 || size > 65536) return 0;
  rest = memchr(data + 1, '\0', size - 1);
  rlen = rest != NULL ? (size_t)(rest - (const char *)data) - 1 : size - 1;
  if (rlen >= sizeof reason) return 0;
  memcpy(reason, data + 1, rlen);
  reason[rlen] = '\0';
  check_reason(reason, kinds[data[0] % 3]);
  check_field(reason);
  if (rest != NULL) check_original(rest + 1, size - (size_t)(rest + 1 - (const char *)data));
  return 0;
}
