/*
 * authres_is_ours: whether an Authentication-Results field names our
 * authserv-id (RFC 8601 2.2, 5: a field with our id that came from
 * outside is a forgery). libc only (authres.h). Library code.
 */
#include <string.h>
#include <strings.h>

#include "authres.h"

#define ID_MAX 256 /* an authserv-id longer than this is not ours */

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1 token byte */
static int is_tokenchar(unsigned char c)
{
  return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

int authres_is_ours(const char *value, size_t len, const char *authservid)
{
  const char *p = value;
  const char *end = value + len;
  char id[ID_MAX];
  size_t n = 0;

  /* CFWS: white space, folding and nested comments */
  while (p < end) {
    if (is_space(*p)) {
      p++;
    } else if (*p == '(') {
      int depth = 0;
      for (; p < end; p++) {
        if (*p == '\\') {
          if (++p == end) return 0;
        } else if (*p == '(') {
          depth++;
        } else if (*p == ')' && --depth == 0) {
          break;
        }
      }
      if (p == end) return 0; /* an unterminated comment */
      p++;
    } else {
      break;
    }
  }
  if (p == end) return 0;

  if (*p == '"') { /* a quoted-string */
    for (p++; p < end && *p != '"'; p++) {
      if (*p == '\\' && ++p == end) return 0;
      if (n + 1 >= sizeof id) return 0;
      id[n++] = *p;
    }
    if (p == end) return 0;
  } else {
    for (; p < end && is_tokenchar((unsigned char)*p); p++) {
      if (n + 1 >= sizeof id) return 0;
      id[n++] = *p;
    }
  }
  if (n == 0) return 0;
  id[n] = '\0';
  return strlen(authservid) == n && strncasecmp(id, authservid, n) == 0;
}
