/*
 * dkim_canon: the "simple" and "relaxed" canonicalizations of RFC 6376
 * 3.4, for header fields and for the body. The message has LF line ends
 * (a CR right before an LF belongs to the line end); the canonical form
 * has CRLF, as on the wire. ISC licence.
 */
#include <string.h>

#include "dkim.h"
#include "dkim_int.h"

static int is_wsp(char c)
{
  return c == ' ' || c == '\t';
}

/* simple: the field as it is, each line end made CRLF */
static int header_simple(struct dkim_buf *b, const char *p, size_t len)
{
  size_t i = 0;

  while (i < len) {
    size_t textend;
    size_t next;
    int lf = dkim_line(p, len, i, &textend, &next);
    if (dkim_buf_put(b, p + i, textend - i) == -1) return -1;
    if (!lf) break;
    if (dkim_buf_put(b, "\r\n", 2) == -1) return -1;
    i = next;
  }
  return dkim_buf_put(b, "\r\n", 2);
}

/* relaxed (3.4.2): name in lower case without trailing WSP, then ":", the
 * value unfolded, WSP runs made one SP, no WSP at either end */
static int header_relaxed(struct dkim_buf *b, const char *p, size_t len)
{
  const char *colon = memchr(p, ':', len);
  size_t namelen = colon != NULL ? (size_t)(colon - p) : len;
  size_t i;
  int space = 0;
  int started = 0;

  while (namelen > 0 && is_wsp(p[namelen - 1])) namelen--;
  for (i = 0; i < namelen; i++) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (dkim_buf_put(b, &c, 1) == -1) return -1;
  }
  if (colon == NULL) return dkim_buf_put(b, "\r\n", 2);
  if (dkim_buf_put(b, ":", 1) == -1) return -1;
  for (i = (size_t)(colon - p) + 1; i < len; i++) {
    char c = p[i];
    if (c == '\r' || c == '\n') continue; /* unfold */
    if (is_wsp(c)) {
      space = 1;
      continue;
    }
    if (space && started && dkim_buf_put(b, " ", 1) == -1) return -1;
    space = 0;
    started = 1;
    if (dkim_buf_put(b, &c, 1) == -1) return -1;
  }
  return dkim_buf_put(b, "\r\n", 2);
}

int dkim_canon_header(struct dkim_buf *b, const char *p, size_t len, int canon)
{
  return canon == DKIM_RELAXED ? header_relaxed(b, p, len) : header_simple(b, p, len);
}

static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

static void emit_empty(size_t count, dkim_out_fn out, void *ctx)
{
  while (count > 0) {
    size_t k = count < (sizeof crlfs - 1) / 2 ? count : (sizeof crlfs - 1) / 2;
    out(ctx, crlfs, 2 * k);
    count -= k;
  }
}

/* 1 if the relaxed form of the line is empty (only WSP) */
static int blank(const char *p, size_t len)
{
  size_t i;
  for (i = 0; i < len; i++)
    if (!is_wsp(p[i])) return 0;
  return 1;
}

static void line_relaxed(const char *p, size_t len, dkim_out_fn out, void *ctx)
{
  size_t i = 0;

  while (i < len) {
    size_t run = i;
    if (is_wsp(p[i])) {
      while (i < len && is_wsp(p[i])) i++;
      if (i < len) out(ctx, " ", 1); /* WSP at the end of the line goes */
      continue;
    }
    while (i < len && !is_wsp(p[i])) i++;
    out(ctx, p + run, i - run);
  }
}

/* 3.4.3 and 3.4.4: empty lines at the end go; simple makes an empty body
 * one CRLF, relaxed leaves it empty */
void dkim_canon_body(const char *body, size_t len, int canon, dkim_out_fn out, void *ctx)
{
  size_t empty = 0; /* empty lines seen and not yet written */
  int wrote = 0;
  size_t i = 0;

  while (i < len) {
    size_t textend;
    size_t next;
    int lf = dkim_line(body, len, i, &textend, &next);

    if (canon == DKIM_RELAXED ? blank(body + i, textend - i) : textend == i) {
      empty++;
    } else {
      emit_empty(empty, out, ctx);
      empty = 0;
      if (canon == DKIM_RELAXED)
        line_relaxed(body + i, textend - i, out, ctx);
      else
        out(ctx, body + i, textend - i);
      out(ctx, "\r\n", 2);
      wrote = 1;
    }
    if (!lf) break;
    i = next;
  }
  if (!wrote && canon != DKIM_RELAXED) out(ctx, "\r\n", 2);
}
