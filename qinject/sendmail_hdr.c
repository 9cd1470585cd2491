/*
 * sendmail_hdr: header field names and address lists (sendmail_hdr.h).
 * Pure functions over byte strings: no I/O, no allocation.
 */
#include <string.h>

#include <case.h>

#include "sendmail_hdr.h"

static int wsp(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips a comment starting at v[i] == '(' (nested, with quoted-pairs).
 * Returns the offset after it, or len + 1 if it is not closed. */
static size_t skip_comment(const char *v, size_t len, size_t i)
{
  size_t depth = 0;

  for (; i < len; i++) {
    if (v[i] == '\\') {
      i++;
      continue;
    }
    if (v[i] == '(') depth++;
    if (v[i] == ')' && --depth == 0) return i + 1;
  }
  return len + 1;
}

/* Skips a quoted string starting at v[i] == '"'; len + 1 if not closed. */
static size_t skip_quoted(const char *v, size_t len, size_t i)
{
  for (i++; i < len; i++) {
    if (v[i] == '\\') {
      i++;
      continue;
    }
    if (v[i] == '"') return i + 1;
  }
  return len + 1;
}

/* The addr-spec of one element v[s..e) that has no angle address: the first
 * run of non-blank, non-comment text (quoted strings belong to it). */
static void bare_span(const char *v, size_t s, size_t e, struct hdr_span *span)
{
  size_t i = s;
  size_t start;

  span->start = s;
  span->len = 0;
  while (i < e) {
    if (wsp(v[i])) i++;
    else if (v[i] == '(') i = skip_comment(v, e, i);
    else break;
  }
  if (i >= e) return;
  start = i;
  while (i < e && !wsp(v[i]) && v[i] != '(') {
    if (v[i] == '"') i = skip_quoted(v, e, i);
    else i++;
  }
  if (i > e) i = e;
  span->start = start;
  span->len = i - start;
}

/* Inside "<...>" from a to b (exclusive): drops blanks and a source route. */
static void angle_span(const char *v, size_t a, size_t b, struct hdr_span *span)
{
  size_t i;

  while (a < b && wsp(v[a])) a++;
  while (b > a && wsp(v[b - 1])) b--;
  if (a < b && v[a] == '@') { /* "@a,@b:" route, RFC 5322 4.4 obs-route */
    for (i = a; i < b; i++) {
      if (v[i] == '"') break;
      if (v[i] == ':') {
        a = i + 1;
        break;
      }
    }
  }
  span->start = a;
  span->len = b - a;
}

long hdr_addrlist(const char *v, size_t len, struct hdr_span *spans, size_t max)
{
  size_t i = 0;
  size_t elem = 0;         /* start of the current element */
  size_t angle_open = 0;   /* offset after '<' */
  size_t angle_close = 0;  /* offset of '>' */
  int have_angle = 0;
  long found = 0;

  for (;;) {
    int end = i >= len;
    char c = end ? ',' : v[i];

    if (!end && c == '"') {
      i = skip_quoted(v, len, i);
      if (i > len) return -1;
      continue;
    }
    if (!end && c == '(') {
      i = skip_comment(v, len, i);
      if (i > len) return -1;
      continue;
    }
    if (!end && c == '<') {
      size_t j = i + 1;

      while (j < len && v[j] != '>') {
        if (v[j] == '"') {
          j = skip_quoted(v, len, j);
          if (j > len) return -1;
        } else {
          j++;
        }
      }
      if (j >= len) return -1;
      if (!have_angle) {
        have_angle = 1;
        angle_open = i + 1;
        angle_close = j;
      }
      i = j + 1;
      continue;
    }
    if (!end && c == ':') { /* a group's display name ends */
      elem = i + 1;
      have_angle = 0;
      i++;
      continue;
    }
    if (c == ',' || c == ';') {
      struct hdr_span span;

      if (have_angle) angle_span(v, angle_open, angle_close, &span);
      else bare_span(v, elem, end ? len : i, &span);
      if (span.len > 0) {
        if ((size_t)found < max) spans[found] = span;
        found++;
      }
      have_angle = 0;
      elem = i + 1;
      if (end) break;
    }
    i++;
  }
  return found;
}

size_t hdr_fieldname(const char *line, size_t len)
{
  size_t i = 0;
  size_t n;

  /* RFC 5322 3.6.8: ftext is printable ASCII except ':' */
  while (i < len && line[i] > 32 && line[i] < 127 && line[i] != ':') i++;
  if (i == 0) return 0;
  n = i;
  while (i < len && (line[i] == ' ' || line[i] == '\t')) i++; /* obs-optional */
  if (i < len && line[i] == ':') return n;
  return 0;
}

int hdr_is(const char *field, size_t len, const char *name)
{
  size_t n = strlen(name);

  return len == n && case_equalb(field, n, name);
}
