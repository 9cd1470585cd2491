/*
 * dmarc_from_domain: the RFC5322.From domain of a header section (RFC 9989
 * 4.4: the Author Domain), read with RFC 5322 3.4's mailbox-list syntax
 * (display names, quoted strings, comments, angle addresses, source
 * routes, groups) and folding; a UTF-8 label (RFC 6532) as its A-label.
 * libc only (dmarc.h). Library code.
 */
#include <string.h>
#include <strings.h>

#include "dmarc.h"

#define NONE (-1)    /* nothing to evaluate */
#define INVALID (-2) /* cannot be evaluated */
#define RAW_MAX 1024 /* bytes of a domain as written (UTF-8 labels included) */

static int is_wsp(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* the end (one past the closing byte) of the quoted string, comment or
 * domain literal that starts at p, or NULL if it does not end before e */
static const char *skip_group(const char *p, const char *e)
{
  char open = *p;
  char close = open == '(' ? ')' : open == '[' ? ']' : '"';
  int depth = 0;

  for (p++; p < e; p++) {
    if (*p == '\\' && open != '[') { /* a quoted-pair */
      if (++p == e) return NULL;
      continue;
    }
    if (open == '(' && *p == '(') {
      depth++; /* comments nest, RFC 5322 3.2.2 */
    } else if (*p == close) {
      if (depth == 0) return p + 1;
      depth--;
    }
  }
  return NULL;
}

/* the next byte of [p, e) that is not white space or inside a comment;
 * e if none; NULL for an unterminated comment */
static const char *skip_cfws(const char *p, const char *e)
{
  while (p < e) {
    if (is_wsp(*p)) p++;
    else if (*p == '(') {
      p = skip_group(p, e);
      if (p == NULL) return NULL;
    } else
      break;
  }
  return p;
}

/* the first byte of [p, e) that is in set and outside quoted strings,
 * comments and domain literals; e if none; NULL if one does not end */
static const char *find_outside(const char *p, const char *e, const char *set)
{
  while (p < e) {
    if (*p == '"' || *p == '(' || *p == '[') {
      p = skip_group(p, e);
      if (p == NULL) return NULL;
    } else if (*p != '\0' && strchr(set, *p) != NULL) {
      return p;
    } else {
      p++;
    }
  }
  return e;
}

/* the domain after an addr-spec's '@' (s..e, CFWS allowed around the
 * dot-atoms) into dom, a label in UTF-8 as its A-label: its length, or
 * INVALID */
static int copy_domain(const char *s, const char *e, char *dom, size_t domsize)
{
  char raw[RAW_MAX];
  size_t rawlen = 0;
  size_t len = 0;
  size_t start;

  /* the dot-atoms without CFWS, ASCII in lower case */
  for (;;) {
    unsigned char c;

    s = skip_cfws(s, e);
    if (s == NULL) return INVALID;
    if (s == e) break;
    c = (unsigned char)*s++;
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
    /* no specials: a domain literal or a quoted string gives no DMARC */
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c >= 0x80))
      return INVALID;
    if (rawlen == sizeof raw) return INVALID;
    raw[rawlen++] = (char)c;
  }
  if (rawlen > 0 && raw[rawlen - 1] == '.') rawlen--; /* a final dot */
  if (rawlen == 0 || raw[rawlen - 1] == '.') return INVALID;

  for (start = 0; start < rawlen;) {
    size_t end = start;
    int ascii = 1;

    while (end < rawlen && raw[end] != '.') {
      if ((unsigned char)raw[end] >= 0x80) ascii = 0;
      end++;
    }
    if (end == start) return INVALID; /* an empty label */
    if (len > 0) {
      if (len + 1 >= domsize) return INVALID;
      dom[len++] = '.';
    }
    if (ascii) {
      if (end - start > 63 || len + (end - start) >= domsize) return INVALID;
      memcpy(dom + len, raw + start, end - start);
      len += end - start;
    } else {
      int n = dmarc_alabel(raw + start, end - start, dom + len, domsize - len);
      if (n < 0) return INVALID;
      len += (size_t)n;
    }
    start = end + 1;
  }
  if (len > DMARC_DOMAIN_MAX) return INVALID;
  dom[len] = '\0';
  return (int)len;
}

/* one mailbox of the list (s..e): 0 if it is empty (CFWS only), the
 * domain's length, or INVALID */
static int mailbox_domain(const char *s, const char *e, char *dom, size_t domsize)
{
  const char *p;
  const char *addr = NULL;
  const char *addr_end = NULL;
  const char *at = NULL;

  p = skip_cfws(s, e);
  if (p == NULL) return INVALID;
  if (p == e) return 0;

  /* an angle address, if there is one, is the address */
  p = find_outside(s, e, "<>");
  if (p == NULL || (p < e && *p == '>')) return INVALID;
  if (p < e) {
    addr = p + 1;
    addr_end = find_outside(addr, e, "<>");
    if (addr_end == NULL || addr_end == e || *addr_end != '>') return INVALID;
    if (find_outside(addr_end + 1, e, "<>") != e) return INVALID; /* a second one */
  }
  if (addr == NULL) {
    addr = s;
    addr_end = e;
  } else {
    /* obs-route: "<@a.example,@b.example:user@c.example>" */
    p = skip_cfws(addr, addr_end);
    if (p == NULL) return INVALID;
    if (p < addr_end && *p == '@') {
      while (p < addr_end && *p != ':') p++;
      if (p == addr_end) return INVALID;
      addr = p + 1;
    }
  }

  /* the last '@' outside quoted strings and comments */
  for (p = find_outside(addr, addr_end, "@"); p != NULL && p < addr_end;
       p = find_outside(p + 1, addr_end, "@"))
    at = p;
  if (p == NULL) return INVALID;
  if (at == NULL || at == addr) return INVALID; /* no domain, or no local part */
  return copy_domain(at + 1, addr_end, dom, domsize);
}

/* the From field's value (s..e): the domain's length, NONE or INVALID */
static int list_domain(const char *s, const char *e, char *dom, size_t domsize)
{
  const char *p = s;
  const char *item = s;
  int found = 0;
  int in_angle = 0;

  for (;; p++) {
    p = find_outside(p, e, "<>:,;");
    if (p == NULL) return INVALID;
    if (p < e && *p == '<') {
      in_angle = 1;
    } else if (p < e && *p == '>') {
      in_angle = 0;
    } else if (p < e && in_angle) {
      continue; /* a source route's ',' and ':' */
    } else if (p < e && *p == ':') {
      item = p + 1; /* a group's name ends: its members follow */
    } else {
      int r = mailbox_domain(item, p, dom, domsize);
      if (r == INVALID) return INVALID;
      if (r > 0 && ++found > 1) return INVALID; /* several authors */
      if (p == e) break;
      item = p + 1;
    }
  }
  if (found == 0) return NONE;
  return (int)strlen(dom);
}

int dmarc_from_domain(const char *msg, size_t len, char *dom, size_t domsize)
{
  const char *p = msg;
  const char *end = msg + len;
  const char *val = NULL;
  const char *val_end = NULL;
  int fields = 0;

  if (domsize == 0) return INVALID;
  dom[0] = '\0';
  while (p < end) {
    const char *line = p;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol == NULL ? end : eol + 1;
    const char *colon;

    if (eol == NULL) eol = end;
    if (eol == line || (eol == line + 1 && *line == '\r')) break; /* the header ends */
    p = next;
    if (*line == ' ' || *line == '\t') continue; /* a continuation */

    colon = memchr(line, ':', (size_t)(eol - line));
    if (colon == NULL) continue;
    {
      const char *name_end = colon;
      while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t')) name_end--;
      if (name_end - line != 4 || strncasecmp(line, "from", 4) != 0) continue;
    }
    fields++;
    val = colon + 1;
    /* the value runs on over continuation lines */
    while (p < end && (*p == ' ' || *p == '\t')) {
      const char *e2 = memchr(p, '\n', (size_t)(end - p));
      p = e2 == NULL ? end : e2 + 1;
    }
    val_end = p;
  }
  if (fields == 0) return NONE;
  if (fields > 1) return INVALID; /* RFC 5322 3.6: exactly one From */
  return list_domain(val, val_end, dom, domsize);
}
