/*
 * dmarc_from_domain: the RFC5322.From domain of a header section (RFC 9989
 * 4.4: the Author Domain), read with RFC 5322 3.4's mailbox-list syntax
 * (display names, quoted strings, comments, angle addresses, source
 * routes, groups) and folding. libc only (dmarc.h). Library code.
 */
#include <string.h>
#include <strings.h>

#include "dmarc.h"

#define NONE (-1)    /* nothing to evaluate */
#define INVALID (-2) /* cannot be evaluated */

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

/* the domain after an addr-spec's '@' (s..e, CFWS allowed around the
 * dot-atoms) into dom: its length, or INVALID */
static int copy_domain(const char *s, const char *e, char *dom, size_t domsize)
{
  size_t len = 0;
  size_t label = 0;

  for (;;) {
    s = skip_cfws(s, e);
    if (s == NULL) return INVALID;
    if (s == e) break;
    if (*s == '[' || *s == '"') return INVALID; /* a domain literal: no DMARC */
    if (*s == '.') {
      if (label == 0) return INVALID;
      label = 0;
    } else if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
               *s == '_') {
      label++;
    } else if (*s >= 'A' && *s <= 'Z') {
      label++;
    } else {
      return INVALID; /* specials and non-ASCII (an IDN U-label is not looked up) */
    }
    if (label > 63 || len + 1 >= domsize || len >= DMARC_DOMAIN_MAX + 1) return INVALID;
    dom[len++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
    s++;
  }
  if (len > 0 && dom[len - 1] == '.') len--; /* a final dot */
  if (len == 0 || len > DMARC_DOMAIN_MAX || dom[len - 1] == '.') return INVALID;
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
  for (p = s; p < e; p++) {
    if (*p == '"' || *p == '(' || *p == '[') {
      p = skip_group(p, e);
      if (p == NULL) return INVALID;
      p--;
    } else if (*p == '<') {
      if (addr != NULL) return INVALID; /* two angle addresses */
      addr = p + 1;
      for (p = addr; p < e && *p != '>'; p++) {
        if (*p == '"' || *p == '(' || *p == '[') {
          p = skip_group(p, e);
          if (p == NULL) return INVALID;
          p--;
        }
      }
      if (p == e) return INVALID;
      addr_end = p;
    } else if (*p == '>') {
      return INVALID;
    }
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
  for (p = addr; p < addr_end; p++) {
    if (*p == '"' || *p == '(' || *p == '[') {
      p = skip_group(p, addr_end);
      if (p == NULL) return INVALID;
      p--;
    } else if (*p == '@') {
      at = p;
    }
  }
  if (at == NULL || at == addr) return INVALID; /* no domain, or no local part */
  return copy_domain(at + 1, addr_end, dom, domsize);
}

/* the From field's value (s..e): the domain's length, NONE or INVALID */
static int list_domain(const char *s, const char *e, char *dom, size_t domsize)
{
  const char *p;
  const char *item = s;
  int found = 0;
  int in_angle = 0;

  for (p = s;; p++) {
    if (p < e && (*p == '"' || *p == '(' || *p == '[')) {
      p = skip_group(p, e);
      if (p == NULL) return INVALID;
      p--;
      continue;
    }
    if (p < e && *p == '<') in_angle = 1;
    if (p < e && *p == '>') in_angle = 0;
    if (p < e && *p == ':' && !in_angle) {
      item = p + 1; /* a group's name ends: its members follow */
      continue;
    }
    if (p == e || (!in_angle && (*p == ',' || *p == ';'))) {
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
