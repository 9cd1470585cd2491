/*
 * authres_write: writes an Authentication-Results header field (RFC 8601
 * 2.2) into the caller's buffer: one method result a line, items folded
 * before a line would reach AUTHRES_FOLD bytes, values quoted unless they
 * are a token (RFC 2045 5.1) or [local-part "@"] domain (RFC 8601 2.2
 * pvalue). libc only (authres.h). Library code.
 */
#include <string.h>

#include "authres.h"

#define ITEM_MAX 1024 /* one item ("ptype.property=value", a comment), bytes */

static int is_tspecial(unsigned char c)
{
  return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* RFC 2045 5.1 token */
static int is_token(const char *s, size_t len)
{
  size_t i;

  if (len == 0) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || is_tspecial(c)) return 0;
  }
  return 1;
}

/* RFC 5322 3.2.3 atext, or '.' when dots is set */
static int is_atext(unsigned char c, int dots)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  if (dots && c == '.') return 1;
  return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* a dot-atom: atext runs split by single dots */
static int is_dot_atom(const char *s, size_t len, int domain)
{
  size_t i;

  if (len == 0 || s[0] == '.' || s[len - 1] == '.') return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.' && i + 1 < len && s[i + 1] == '.') return 0;
    if (domain ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.')
               : !is_atext(c, 1))
      return 0;
  }
  return 1;
}

/* RFC 8601 2.2 pvalue without quoting: [ [ local-part ] "@" ] domain-name */
static int is_plain_value(const char *s, size_t len)
{
  const char *at = memchr(s, '@', len);

  if (is_token(s, len)) return 1;
  if (at == NULL) return is_dot_atom(s, len, 1);
  if (memchr(at + 1, '@', len - (size_t)(at + 1 - s)) != NULL) return 0;
  if (at > s && !is_dot_atom(s, (size_t)(at - s), 0)) return 0;
  return is_dot_atom(at + 1, len - (size_t)(at + 1 - s), 1);
}

static void append(struct authres *b, const char *s, size_t len)
{
  size_t i;

  if (b->failed) return;
  if (len >= b->size || b->len > b->size - len - 1) {
    b->failed = 1;
    return;
  }
  memcpy(b->s + b->len, s, len);
  b->len += len;
  b->s[b->len] = '\0';
  for (i = 0; i < len; i++) b->col = s[i] == '\n' ? 0 : b->col + 1;
}

static void append_str(struct authres *b, const char *s)
{
  append(b, s, strlen(s));
}

/* one item after a space, or on a new line when it would not fit */
static void item(struct authres *b, const char *s, size_t len)
{
  if (b->methods == 0) {
    b->failed = 1; /* a property before any method */
    return;
  }
  if (b->col + 1 + len >= AUTHRES_FOLD && b->col > 3) append_str(b, "\n\t  ");
  else append_str(b, " ");
  append(b, s, len);
}

/* value into out as a token, an address or a quoted-string; its length,
 * or 0 if it does not fit */
static size_t fmt_value(char *out, size_t size, const char *value)
{
  size_t len = strlen(value);
  size_t n = 0;
  size_t i;

  if (len > 0 && is_plain_value(value, len)) {
    if (len >= size) return 0;
    memcpy(out, value, len);
    return len;
  }
  if (size < 3) return 0;
  out[n++] = '"';
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if (n + 4 > size) return 0;
    if (c == '"' || c == '\\') out[n++] = '\\';
    out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  out[n++] = '"';
  return n;
}

/* "name=value" as one item */
static void item_pair(struct authres *b, const char *name, const char *value)
{
  char buf[ITEM_MAX];
  size_t n = strlen(name);
  size_t v;

  if (!is_token(name, n) || n + 2 >= sizeof buf) {
    b->failed = 1;
    return;
  }
  memcpy(buf, name, n);
  buf[n++] = '=';
  v = fmt_value(buf + n, sizeof buf - n, value);
  if (v == 0) {
    b->failed = 1;
    return;
  }
  item(b, buf, n + v);
}

void authres_start(struct authres *b, char *buf, size_t size, const char *authservid)
{
  b->s = buf;
  b->size = size;
  b->len = 0;
  b->col = 0;
  b->methods = 0;
  b->failed = 0;
  if (size > 0) buf[0] = '\0';
  if (authservid == NULL || !is_token(authservid, strlen(authservid))) {
    b->failed = 1;
    return;
  }
  append_str(b, "Authentication-Results: ");
  append_str(b, authservid);
}

void authres_method(struct authres *b, const char *method, const char *result,
                    const char *reason)
{
  if (!is_token(method, strlen(method)) || !is_token(result, strlen(result))) {
    b->failed = 1;
    return;
  }
  append_str(b, ";\n\t");
  append_str(b, method);
  append_str(b, "=");
  append_str(b, result);
  b->methods++;
  if (reason != NULL) item_pair(b, "reason", reason);
}

void authres_comment(struct authres *b, const char *text)
{
  char buf[ITEM_MAX];
  size_t n = 0;

  buf[n++] = '(';
  for (; *text != '\0'; text++) {
    unsigned char c = (unsigned char)*text;
    if (n + 4 > sizeof buf) break; /* a long comment is cut */
    if (c == '(' || c == ')' || c == '\\') buf[n++] = '\\';
    buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  buf[n++] = ')';
  item(b, buf, n);
}

void authres_prop(struct authres *b, const char *ptypeprop, const char *value)
{
  if (memchr(ptypeprop, '.', strlen(ptypeprop)) == NULL) {
    b->failed = 1; /* RFC 8601 2.2: ptype "." property */
    return;
  }
  item_pair(b, ptypeprop, value);
}

void authres_add(struct authres *b, const char *method, const char *result,
                 const char *ptypeprop, const char *value)
{
  authres_method(b, method, result, NULL);
  if (ptypeprop != NULL) authres_prop(b, ptypeprop, value);
}

long authres_end(struct authres *b)
{
  if (b->methods == 0) append_str(b, "; none");
  append_str(b, "\n");
  if (b->failed) {
    if (b->size > 0) b->s[0] = '\0';
    return -1;
  }
  return (long)b->len;
}
