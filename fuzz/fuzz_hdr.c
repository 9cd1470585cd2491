/*
 * fuzz_hdr: libFuzzer target for the header reading of `sendmail -t` and
 * of address arguments (qinject/sendmail_hdr.c hdr_fieldname, hdr_is,
 * hdr_addrlist). The input is a header section: it is cut into fields the
 * way sendmail reads it (a line starting with a blank continues the field
 * before it; a line that is no "Name:" ends the header), and every field's
 * value is read as an address list; so is the whole input, as an argument
 * would be. Each address found goes through addr_parse as sendmail takes
 * it (without brackets, UTF-8 allowed) and back through addr_quote.
 * Checks beyond the sanitizers: a field name is the bytes before ':' and
 * hdr_is agrees with it; the spans lie inside the value, in order, without
 * overlap (sendmail copies the text between them), none of them empty;
 * the count does not depend on how many spans there is room for; a parsed
 * address reads back the same after addr_quote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "sendmail_hdr.h"

#define SPANS 64

static const char *const names[] = {"To", "cc", "FROM", "resent-bcc", "Message-ID"};

static void check_address(const char *s, size_t len)
{
  struct addr a;
  struct addr b;
  char quoted[ADDR_QUOTED_MAX];
  size_t q;

  if (len >= 2 && s[0] == '<' && s[len - 1] == '>') { /* as sendmail's to_internal */
    s++;
    len -= 2;
  }
  if (len == 0 || len > ADDR_QUOTED_MAX) return;
  if (addr_parse(&a, s, len, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8) != len || a.null) return;
  q = addr_quote(quoted, a.s, a.len);
  if (q == 0 || q > ADDR_QUOTED_MAX) abort();
  if (addr_parse(&b, quoted, q, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_UTF8) != q) abort();
  if (b.len != a.len || memcmp(a.s, b.s, a.len) != 0) abort();
}

static void check_list(const char *v, size_t len)
{
  static struct hdr_span spans[SPANS];
  long count = hdr_addrlist(v, len, spans, SPANS);
  size_t end = 0;

  if (hdr_addrlist(v, len, NULL, 0) != count) abort();
  if (count < -1) abort();
  for (long k = 0; k < count && k < SPANS; ++k) {
    if (spans[k].len == 0 || spans[k].start < end || spans[k].start > len ||
        spans[k].len > len - spans[k].start)
      abort();
    end = spans[k].start + spans[k].len;
    check_address(v + spans[k].start, spans[k].len);
  }
}

static void check_field(const char *f, size_t flen, size_t nlen)
{
  const char *colon = memchr(f, ':', flen);
  size_t vstart;
  size_t vlen;

  if (colon == NULL || nlen == 0 || nlen > (size_t)(colon - f)) abort();
  for (size_t k = 0; k < nlen; ++k)
    if (f[k] <= 32 || f[k] >= 127) abort();
  for (size_t k = nlen; f + k < colon; ++k)
    if (f[k] != ' ' && f[k] != '\t') abort();
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    if (hdr_is(f, nlen, names[k]) != (nlen == strlen(names[k]) && !strncasecmp(f, names[k], nlen)))
      abort();
  vstart = (size_t)(colon - f) + 1;
  vlen = flen - vstart;
  while (vlen > 0 && (f[vstart + vlen - 1] == '\n' || f[vstart + vlen - 1] == '\r')) vlen--;
  check_list(f + vstart, vlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  size_t pos = 0;
  size_t field = 0;  /* start of the field being collected */
  size_t nlen = 0;   /* its name's length; 0: none */

  if (size > 65536) return 0;
  check_list(s, size);
  while (pos < size) {
    const char *nl = memchr(s + pos, '\n', size - pos);
    size_t len = nl != NULL ? (size_t)(nl - (s + pos)) + 1 : size - pos;
    const char *line = s + pos;

    if ((line[0] == ' ' || line[0] == '\t') && nlen > 0) { /* a continuation */
      pos += len;
      continue;
    }
    if (nlen > 0) check_field(s + field, pos - field, nlen);
    nlen = 0;
    if (len == 1 || (len == 2 && line[0] == '\r')) break; /* the empty line */
    nlen = hdr_fieldname(line, len);
    if (nlen == 0) break; /* the body starts here */
    field = pos;
    pos += len;
  }
  if (nlen > 0) check_field(s + field, pos - field, nlen);
  return 0;
}
