/*
 * qtls_sts: MTA-STS policy files and MX patterns (qtls_sts.h).
 */
#include <string.h>

#include "qtls_sts.h"

static int lower(int c)
{
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A host name pattern: LDH labels of 1-63, dots between, "*." allowed
 * as the first label only. Copied lowercase into dst; 0, -1 bad. */
static int pattern_copy(char dst[STS_NAME_MAX + 1], const char *s, size_t len)
{
  size_t label = 0;
  size_t i = 0;

  if (len > 0 && s[len - 1] == '.') len--;
  if (len == 0 || len > STS_NAME_MAX) return -1;
  if (len > 2 && s[0] == '*' && s[1] == '.') {
    dst[0] = '*';
    dst[1] = '.';
    i = 2;
  }
  for (; i < len; i++) {
    char c = s[i];

    if (c == '.') {
      if (label == 0) return -1;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_') {
      if (++label > 63) return -1;
    } else {
      return -1;
    }
    dst[i] = (char)lower(c);
  }
  if (label == 0) return -1;
  dst[len] = '\0';
  return 0;
}

static int value_is(const char *v, size_t vlen, const char *want)
{
  return vlen == strlen(want) && memcmp(v, want, vlen) == 0;
}

int sts_parse(struct sts_policy *p, const char *text, size_t len, const char **why)
{
  int have_version = 0;
  int have_mode = 0;
  int have_age = 0;
  size_t pos = 0;

  memset(p, 0, sizeof *p);
  if (len > STS_BODY_MAX) {
    *why = "policy longer than 64 KiB";
    return -1;
  }
  while (pos < len) {
    const char *line = text + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
    const char *colon;
    const char *v;
    size_t klen;
    size_t vlen;

    pos += n + (nl != NULL);
    if (n > 0 && line[n - 1] == '\r') n--;
    if (n == 0) continue;
    if (memchr(line, '\0', n) != NULL) {
      *why = "NUL in the policy";
      return -1;
    }
    colon = memchr(line, ':', n);
    if (colon == NULL || colon == line) {
      *why = "a line that is not \"key: value\"";
      return -1;
    }
    klen = (size_t)(colon - line);
    v = colon + 1;
    vlen = n - klen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;

    if (klen == 7 && memcmp(line, "version", 7) == 0) {
      if (have_version++ || !value_is(v, vlen, "STSv1")) {
        *why = "version is not STSv1 (or given twice)";
        return -1;
      }
    } else if (klen == 4 && memcmp(line, "mode", 4) == 0) {
      if (have_mode++) {
        *why = "mode given twice";
        return -1;
      }
      if (value_is(v, vlen, "enforce")) p->mode = STS_ENFORCE;
      else if (value_is(v, vlen, "testing")) p->mode = STS_TESTING;
      else if (value_is(v, vlen, "none")) p->mode = STS_NONE;
      else {
        *why = "mode is not enforce, testing or none";
        return -1;
      }
    } else if (klen == 7 && memcmp(line, "max_age", 7) == 0) {
      unsigned long a = 0;

      if (have_age++ || vlen == 0 || vlen > 10) {
        *why = "bad max_age";
        return -1;
      }
      for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9') {
          *why = "bad max_age";
          return -1;
        }
        a = a * 10 + (unsigned long)(v[i] - '0');
      }
      if (a > STS_MAX_AGE) {
        *why = "max_age over 31557600";
        return -1;
      }
      p->max_age = a;
    } else if (klen == 2 && memcmp(line, "mx", 2) == 0) {
      if (p->mx_count == STS_MX_MAX) {
        *why = "too many mx lines";
        return -1;
      }
      if (pattern_copy(p->mx[p->mx_count], v, vlen) == -1) {
        *why = "a bad mx pattern";
        return -1;
      }
      p->mx_count++;
    }
    /* anything else: an extension, ignored */
  }
  if (!have_version || !have_mode || !have_age) {
    *why = "version, mode or max_age missing";
    return -1;
  }
  if (p->mode != STS_NONE && p->mx_count == 0) {
    *why = "no mx pattern";
    return -1;
  }
  return 0;
}

int sts_mx_match(const struct sts_policy *p, const char *host)
{
  char h[STS_NAME_MAX + 1];
  size_t len = strlen(host);

  if (pattern_copy(h, host, len) == -1 || h[0] == '*') return 0;
  for (size_t i = 0; i < p->mx_count; i++) {
    const char *m = p->mx[i];

    if (m[0] == '*') {
      const char *dot = strchr(h, '.');
      /* one whole label, and never the bare parent */
      if (dot != NULL && dot != h && strcmp(dot + 1, m + 2) == 0) return 1;
    } else if (strcmp(h, m) == 0) {
      return 1;
    }
  }
  return 0;
}

const char *sts_mode_name(int mode)
{
  return mode == STS_ENFORCE ? "enforce" : mode == STS_TESTING ? "testing" : "none";
}
