/*
 * addr_parse: an RFC 5321 path off the wire, into the internal form.
 *
 *   Reverse-path = Path / "<>"            Forward-path = Path
 *   Path         = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l        = At-domain *( "," At-domain ), At-domain = "@" Domain
 *   Mailbox      = Local-part "@" ( Domain / address-literal )
 *   Local-part   = Dot-string / Quoted-string
 *   Quoted-string = DQUOTE *( qtextSMTP / quoted-pairSMTP ) DQUOTE
 *   qtextSMTP    = %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP = "\" %d32-126
 *
 * RFC 6531 adds UTF-8 to atext, qtextSMTP and sub-domains; we take it
 * only with ADDR_ALLOW_UTF8. Every other byte, NUL and the control
 * characters above all, makes the path invalid. The source route is
 * checked and dropped (4.1.1.3: "SHOULD ignore the route"). The decoded
 * local part is at most 64 octets (4.5.3.1.1), the domain 255 (4.5.3.1.2).
 * The parser reads at most len bytes, keeps no state and writes only a.
 */
#include <string.h>
#include <strings.h>
#include "addr.h"

static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int isatext(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && memchr(atext_specials, c, sizeof atext_specials - 1) != NULL);
}

/* Local-part at s into a->s; returns bytes used, 0 if invalid. */
static size_t scan_local(struct addr *a, const char *s, size_t len, int flags)
{
  size_t i = 0;
  size_t o = 0;

  if (len == 0) return 0;

  if (s[0] == '"') {
    i = 1;
    for (;;) {
      unsigned char c;
      size_t n = 1;

      if (i >= len) return 0;
      c = (unsigned char)s[i];
      if (c == '"') break;
      if (c == '\\') {
        if (i + 1 >= len) return 0;
        c = (unsigned char)s[i + 1];
        if (c < 32 || c > 126) return 0;
        i++;
      } else if (c >= 0x80) {
        if (!(flags & ADDR_ALLOW_UTF8)) return 0;
        n = addr_utf8seq(s + i, len - i);
        if (n == 0) return 0;
        a->utf8 = 1;
      } else if (c < 32 || c > 126) {
        return 0;
      }
      if (o + n > ADDR_MAX_LOCAL) return 0;
      memcpy(a->s + o, s + i, n);
      o += n;
      i += n;
    }
    if (o == 0) return 0; /* "" would make the internal form "@domain" */
    a->quoted = 1;
    a->len = o;
    return i + 1;
  }

  for (;;) {
    size_t start = i;

    while (i < len) {
      unsigned char c = (unsigned char)s[i];
      size_t n = 1;

      if (c >= 0x80) {
        if (!(flags & ADDR_ALLOW_UTF8)) return 0;
        n = addr_utf8seq(s + i, len - i);
        if (n == 0) return 0;
        a->utf8 = 1;
      } else if (!isatext(c)) {
        break;
      }
      if (o + n > ADDR_MAX_LOCAL) return 0;
      memcpy(a->s + o, s + i, n);
      o += n;
      i += n;
    }
    if (i == start) return 0; /* empty atom: leading, trailing or double dot */
    if (i < len && s[i] == '.') {
      if (o + 1 > ADDR_MAX_LOCAL) return 0;
      a->s[o++] = '.';
      i++;
      continue;
    }
    break;
  }
  a->len = o;
  return i;
}

/* A-d-l ":" at s (which starts with '@'); bytes used, 0 if invalid. */
static size_t scan_route(const char *s, size_t len, int flags)
{
  char tmp[ADDR_MAX_DOMAIN + 2];
  size_t i = 0;

  for (;;) {
    size_t tlen;
    size_t n;
    int lit = 0;
    int u8 = 0;

    if (i >= len || s[i] != '@') return 0;
    i++;
    if (i < len && s[i] == '[') return 0; /* At-domain is a Domain, not a literal */
    n = addr_scandomain(s + i, len - i, flags, tmp, &tlen, &lit, &u8);
    if (n == 0) return 0;
    i += n;
    if (i < len && s[i] == ',') {
      i++;
      continue;
    }
    if (i < len && s[i] == ':') return i + 1;
    return 0;
  }
}

static void addr_zero(struct addr *a)
{
  a->s[0] = '\0';
  a->len = 0;
  a->at = 0;
  a->null = 0;
  a->utf8 = 0;
  a->literal = 0;
  a->quoted = 0;
  a->routed = 0;
}

size_t addr_parse(struct addr *a, const char *s, size_t len, int flags)
{
  size_t i = 0;
  size_t n;
  size_t dlen;
  int bracket = 0;
  int u8 = 0;

  addr_zero(a);
  if (len == 0) return 0;

  if (s[0] == '<') {
    bracket = 1;
    i = 1;
    if (i < len && s[i] == '>') {
      if (!(flags & ADDR_ALLOW_NULL)) return 0;
      a->null = 1;
      return 2;
    }
    if (i < len && s[i] == '@') {
      n = scan_route(s + i, len - i, flags);
      if (n == 0) return 0;
      i += n;
      a->routed = 1;
    }
  } else if (!(flags & ADDR_ALLOW_NOBRACKET)) {
    return 0;
  }

  n = scan_local(a, s + i, len - i, flags);
  if (n == 0) goto bad;
  i += n;

  if (i >= len || s[i] != '@') {
    /* RFC 5321 4.1.1.3: "<Postmaster>" without a domain, in RCPT only */
    if (!(flags & ADDR_ALLOW_BARE) || a->routed || a->len != 10 ||
        strncasecmp(a->s, "postmaster", 10) != 0)
      goto bad;
    memcpy(a->s, "postmaster", 10);
    a->s[10] = '\0';
    a->at = a->len;
    a->quoted = 0;
  } else {
    a->at = a->len;
    a->s[a->len] = '@';
    i++;
    n = addr_scandomain(s + i, len - i, flags, a->s + a->at + 1, &dlen, &a->literal, &u8);
    if (n == 0) goto bad;
    i += n;
    a->len = a->at + 1 + dlen;
    a->s[a->len] = '\0';
    if (u8) a->utf8 = 1;
  }

  if (bracket) {
    if (i >= len || s[i] != '>') goto bad;
    return i + 1;
  }
  /* without brackets the address ends at a blank or at the end */
  if (i < len && s[i] != ' ' && s[i] != '\t') goto bad;
  return i;

bad:
  addr_zero(a);
  return 0;
}
