/*
 * qremote_reply: a server's reply (RFC 5321 4.2) and the keywords of its
 * EHLO reply (RFC 5321 4.1.1.1), read from a libowfat buffer. No other
 * I/O and no state of its own: qremote_wire.c owns the connection, the
 * fuzz target feeds it bytes from memory.
 */
#include <errno.h>
#include <string.h>

#include <buffer.h>
#include <case.h>
#include <scan.h>
#include <stralloc.h>

#include "line.h"
#include "qremote.h"

#define REPLY_LINE_MAX 2048   /* RFC 5321 4.5.3.1.5 says 512; we take more */
#define REPLY_LINES_MAX 200   /* lines of one multi-line reply */

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

int smtp_reply_read(buffer *in, stralloc *reply, stralloc *lines)
{
  char line[REPLY_LINE_MAX];
  size_t len;
  int code = -1;
  size_t count = 0;

  reply->len = 0;
  lines->len = 0;
  for (;;) {
    int r = line_get(in, line, sizeof line, &len);

    if (r == 0) {
      errno = 0;
      return -1;
    }
    if (r == -1) return -1;
    if (r == -2) len = 0;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) --len;
    if (len < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        line[0] < '2' || line[0] > '5' || (len > 3 && line[3] != ' ' && line[3] != '-') ||
        ++count > REPLY_LINES_MAX) {
      errno = EPROTO;
      return -1;
    }
    if (code == -1) {
      code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      if (!stralloc_catb(reply, line, 3)) goto nomem;
    }
    /* the text of each line after a blank, while it fits (the blank too) */
    if (len > 4 && reply->len + 1 < SMTP_TEXT_MAX) {
      size_t take = len - 4;

      if (take > SMTP_TEXT_MAX - reply->len - 1) take = SMTP_TEXT_MAX - reply->len - 1;
      if (!stralloc_append(reply, " ")) goto nomem;
      for (size_t k = 0; k < take; ++k) {
        char ch = line[4 + k];
        if ((unsigned char)ch < 0x20 || ch == 0x7f) ch = '?';
        if (!stralloc_append(reply, &ch)) goto nomem;
      }
    }
    if (!stralloc_catb(lines, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0) ||
        !stralloc_0(lines))
      goto nomem;
    if (len == 3 || line[3] == ' ') return code;
  }

nomem:
  errno = ENOMEM;
  return -1;
}

void smtp_ehlo_parse(struct ehlo_ext *ext, const stralloc *lines)
{
  size_t pos = 0;
  int first = 1;

  memset(ext, 0, sizeof *ext);
  while (pos < lines->len) {
    const char *l = lines->s + pos;
    size_t len = strlen(l);

    pos += len + 1;
    if (first) { /* the greeting line of the EHLO reply names the server */
      first = 0;
      continue;
    }
    if (case_equals(l, "PIPELINING")) ext->pipelining = 1;
    else if (case_equals(l, "8BITMIME")) ext->eightbit = 1;
    else if (case_equals(l, "SMTPUTF8")) ext->smtputf8 = 1;
    else if (case_equals(l, "DSN")) ext->dsn = 1;
    else if (case_equals(l, "STARTTLS")) ext->starttls = 1;
    else if (case_equals(l, "SIZE")) ext->size = 1;
    else if (len > 5 && case_equalb(l, 5, "SIZE ")) {
      unsigned long n;

      ext->size = 1;
      if (scan_ulong(l + 5, &n) > 0) ext->sizemax = n;
    } else if (len > 5 && (case_equalb(l, 5, "AUTH ") || case_equalb(l, 5, "AUTH="))) {
      size_t i = 5;

      while (i < len) {
        size_t start;

        while (i < len && l[i] == ' ') ++i;
        start = i;
        while (i < len && l[i] != ' ') ++i;
        if (i - start == 5 && case_equalb(l + start, 5, "PLAIN")) ext->auth_plain = 1;
        if (i - start == 5 && case_equalb(l + start, 5, "LOGIN")) ext->auth_login = 1;
      }
    }
  }
}
