/*
 * addr_scandomain: RFC 5321 4.1.2 Domain and 4.1.3 address literals.
 *
 *   Domain     = sub-domain *("." sub-domain)
 *   sub-domain = Let-dig [Ldh-str]         (at most 63 octets, RFC 1035)
 *   address-literal = "[" ( IPv4-address-literal / IPv6-address-literal ) "]"
 *
 * One trailing dot is accepted and dropped (an absolute name). General
 * address literals ("[tag:...]") are refused: no tag but IPv6 is
 * registered. With ADDR_ALLOW_UTF8 a sub-domain may hold UTF-8 (an
 * U-label, RFC 6531); the 63-octet limit then applies to the A-label, which
 * we do not compute, so only the 255-octet total bounds it.
 * Never reads beyond len, never writes beyond ADDR_MAX_DOMAIN + 1 bytes.
 */
#include <string.h>
#include <strings.h>
#include "addr.h"

static int isdig(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static int ishex(unsigned char c)
{
  return isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Snum 3("." Snum), Snum = 1*3DIGIT of 0..255. Writes the canonical form
 * (no leading zeros) at out + *o. Returns bytes used, 0 if invalid. */
static size_t scan_ipv4(const char *s, size_t len, char *out, size_t *o)
{
  size_t i = 0;
  int part;

  for (part = 0; part < 4; part++) {
    unsigned int v = 0;
    size_t digits = 0;

    if (part > 0) {
      if (i >= len || s[i] != '.') return 0;
      i++;
    }
    while (i < len && isdig((unsigned char)s[i]) && digits < 3) {
      v = v * 10 + (unsigned int)(s[i] - '0');
      i++;
      digits++;
    }
    if (digits == 0 || v > 255) return 0;
    if (i < len && isdig((unsigned char)s[i])) return 0;
    if (v >= 100) out[(*o)++] = (char)('0' + v / 100);
    if (v >= 10) out[(*o)++] = (char)('0' + v / 10 % 10);
    out[(*o)++] = (char)('0' + v % 10);
    if (part < 3) out[(*o)++] = '.';
  }
  return i;
}

/*
 * IPv6-addr (RFC 5321 4.1.3), after "IPv6:":
 *   IPv6-full   = IPv6-hex 7(":" IPv6-hex)
 *   IPv6-comp   = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
 *   IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
 *   IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::"
 *                 [IPv6-hex *3(":" IPv6-hex) ":"] IPv4-address-literal
 * "::" stands for at least two groups, so at most 6 groups (4 with an
 * IPv4 tail) may be written beside it. Stops before ']'.
 */
static size_t scan_ipv6(const char *s, size_t len, char *out, size_t *o)
{
  size_t i = 0;
  int groups = 0;
  int dcolon = 0;
  int v4 = 0;

  if (len >= 2 && s[0] == ':' && s[1] == ':') {
    dcolon = 1;
    out[(*o)++] = ':';
    out[(*o)++] = ':';
    i = 2;
    if (i < len && s[i] == ']') return i;
  }

  for (;;) {
    size_t j = i;
    size_t n = 0;

    /* an IPv4 tail is a token with a '.' before the next ':' or ']' */
    while (j < len && (ishex((unsigned char)s[j]) || s[j] == '.')) {
      if (s[j] == '.') v4 = 1;
      j++;
    }
    if (v4) {
      n = scan_ipv4(s + i, len - i, out, o);
      if (n == 0) return 0;
      i += n;
      break;
    }

    while (i < len && ishex((unsigned char)s[i]) && n < 4) {
      out[(*o)++] = lower(s[i]);
      i++;
      n++;
    }
    if (n == 0) return 0;
    if (i < len && ishex((unsigned char)s[i])) return 0;
    groups++;
    if (groups > 8) return 0;

    if (i < len && s[i] == ':') {
      if (i + 1 < len && s[i + 1] == ':') {
        if (dcolon) return 0;
        dcolon = 1;
        out[(*o)++] = ':';
        out[(*o)++] = ':';
        i += 2;
        if (i < len && s[i] == ']') break;
      } else {
        out[(*o)++] = ':';
        i++;
      }
      continue;
    }
    break;
  }

  if (!dcolon && !v4 && groups != 8) return 0;
  if (!dcolon && v4 && groups != 6) return 0;
  if (dcolon && !v4 && groups > 6) return 0;
  if (dcolon && v4 && groups > 4) return 0;
  return i;
}

static size_t scan_literal(const char *s, size_t len, char *out, size_t *o)
{
  size_t i = 1;
  size_t n;

  out[(*o)++] = '[';
  if (len - i >= 5 && strncasecmp(s + i, "IPv6:", 5) == 0) {
    memcpy(out + *o, "IPv6:", 5);
    *o += 5;
    i += 5;
    n = scan_ipv6(s + i, len - i, out, o);
  } else if (i < len && isdig((unsigned char)s[i])) {
    n = scan_ipv4(s + i, len - i, out, o);
  } else {
    return 0;
  }
  if (n == 0) return 0;
  i += n;
  if (i >= len || s[i] != ']') return 0;
  out[(*o)++] = ']';
  return i + 1;
}

size_t addr_scandomain(const char *s, size_t len, int flags, char *out, size_t *outlen,
                       int *literal, int *utf8)
{
  size_t i = 0;
  size_t o = 0;

  *outlen = 0;
  *literal = 0;
  if (len == 0) return 0;

  if (s[0] == '[') {
    /* the longest literal ("[IPv6:" + 45 + "]") fits the buffer */
    i = scan_literal(s, len, out, &o);
    if (i == 0) return 0;
    *literal = 1;
    *outlen = o;
    return i;
  }

  for (;;) {
    size_t start = i;
    int ascii = 1;

    while (i < len) {
      unsigned char c = (unsigned char)s[i];
      size_t n = 1;

      if (c >= 0x80) {
        if (!(flags & ADDR_ALLOW_UTF8)) break;
        n = addr_utf8seq(s + i, len - i);
        if (n == 0) return 0;
        ascii = 0;
      } else if (!(isdig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
        break;
      }
      /* room for 255 octets plus a trailing dot that is dropped */
      if (o + n > ADDR_MAX_DOMAIN + 1) return 0;
      if (n == 1) {
        out[o++] = lower((char)c);
      } else {
        memcpy(out + o, s + i, n);
        o += n;
      }
      i += n;
    }

    if (i == start) {
      /* empty label: at the start, an error; after a dot, a trailing dot */
      if (o == 0) return 0;
      o--;
      break;
    }
    if (s[start] == '-' || s[i - 1] == '-') return 0;
    if (ascii && i - start > 63) return 0;
    if (!ascii) *utf8 = 1;

    if (i < len && s[i] == '.') {
      if (o + 1 > ADDR_MAX_DOMAIN + 1) return 0;
      out[o++] = '.';
      i++;
      continue;
    }
    break;
  }

  if (o == 0 || o > ADDR_MAX_DOMAIN) return 0;
  *outlen = o;
  return i;
}
