/*
 * dkim_util: names and comparisons for the DKIM library. ISC licence.
 */
#include "dkim.h"
#include "dkim_int.h"

const char *dkim_result_name(enum dkim_status st)
{
  static const char *const names[] = { "none", "pass", "fail", "neutral", "policy",
                                       "temperror", "permerror" };
  if ((unsigned int)st >= sizeof names / sizeof names[0]) return "permerror";
  return names[st];
}

static char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int dkim_eqi(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i;

  if (alen != blen) return 0;
  for (i = 0; i < alen; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

int dkim_name_ok(const char *s, size_t len)
{
  size_t label = 0;
  size_t i;

  if (len == 0 || len > 253) return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0) return 0;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_'))
      return 0;
    if (++label > 63) return 0;
  }
  return label > 0;
}
