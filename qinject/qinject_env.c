/*
 * qinject_env: reads and checks the envelope of the qmail-queue protocol
 * (see qinject_env.h) and turns it into queue file records (queue.h).
 * qmail-queue's rules: the first record must be F (else 91), an address
 * longer than the limit is 11, EOF or a read error before the final empty
 * record is 54. Ours on top: every address is checked (addr_set), optional
 * records are checked and may only sit where queue.h allows them, an
 * envelope without any recipient is 91, and a recipient named twice (the
 * same local part, the domain in any case) is kept once, with the N and O
 * of its first naming.
 */
#include <errno.h>

#include <buffer.h>
#include <byte.h>
#include <case.h>
#include <fmt.h>
#include <str.h>
#include <stralloc.h>

#include "addr.h"
#include "queue.h"
#include "qinject_env.h"

int env_addr_check(struct addr *a, const char *s, size_t len, int null_ok)
{
  size_t i;

  if (len > ADDR_MAX) return QQ_ADDR_TOO_LONG;
  for (i = 0; i < len; i++)
    if (s[i] == 0) return QQ_ENVELOPE;
  if (addr_set(a, s, len) != 1) return QQ_ENVELOPE;
  if (a->null && !null_ok) return QQ_ENVELOPE;
  return QQ_OK;
}

static int printable(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f) return 0;
  }
  return 1;
}

/* RFC 3461 4.1: NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY. */
static int notify_ok(const char *s, size_t len)
{
  size_t i = 0;
  int seen = 0;

  if (len == 5 && case_equalb(s, 5, "NEVER")) return 1;
  while (i < len) {
    size_t j = i;
    size_t n;
    int bit;

    while (j < len && s[j] != ',') j++;
    n = j - i;
    if (n == 7 && case_equalb(s + i, 7, "SUCCESS")) bit = 1;
    else if (n == 7 && case_equalb(s + i, 7, "FAILURE")) bit = 2;
    else if (n == 5 && case_equalb(s + i, 5, "DELAY")) bit = 4;
    else return 0;
    if (seen & bit) return 0;
    seen |= bit;
    if (j == len) return 1;
    i = j + 1;
    if (i == len) return 0; /* trailing comma */
  }
  return 0;
}

int env_value_ok(char tag, const char *s, size_t len)
{
  switch (tag) {
    case 'V':
      return len == 4 && (case_equalb(s, 4, "FULL") || case_equalb(s, 4, "HDRS"));
    case 'X':
      return len > 0 && len <= ENVID_MAX && printable(s, len);
    case 'N':
      return notify_ok(s, len);
    case 'O': /* "addr-type;xtext-decoded address" */
      return len > 2 && len <= QUEUE_FIELD_MAX - 1 && printable(s, len) &&
             byte_chr(s, len, ';') < len;
  }
  return 0;
}

#define REC_EOF (-2)
#define REC_LONG (-3)

/* One record, without its NUL, into rec (QUEUE_FIELD_MAX bytes); *len set.
 * 1 a record, -1 read error (errno), REC_EOF, REC_LONG (longer than the limit). */
static int get_record(buffer *b, char *rec, size_t *len)
{
  size_t n = 0;

  for (;;) {
    char c;
    ssize_t r = buffer_getc(b, &c);

    if (r == -1) return -1;
    if (r == 0) return REC_EOF;
    if (c == 0) break;
    if (n == QUEUE_FIELD_MAX) return REC_LONG;
    rec[n++] = c;
  }
  *len = n;
  return 1;
}

static int add_record(stralloc *out, char tag, const char *s, size_t len)
{
  size_t total;

  if (__builtin_add_overflow(out->len, len, &total) || total > ENV_MAX) return QQ_NOMEM;
  if (!stralloc_append(out, &tag)) return QQ_NOMEM;
  if (!stralloc_catb(out, s, len)) return QQ_NOMEM;
  if (!stralloc_0(out)) return QQ_NOMEM;
  return QQ_OK;
}

int env_rcpt_seen(const stralloc *out, const char *s, size_t len)
{
  size_t at = len;
  size_t pos = 0;

  while (at > 0 && s[at - 1] != '@') at--;
  while (pos < out->len) {
    const char *r = out->s + pos;
    size_t n = str_len(r);

    if (r[0] == 'R' && n - 1 == len && byte_equal(r + 1, at, s) &&
        case_diffb(r + 1 + at, len - at, s + at) == 0)
      return 1;
    pos += n + 1;
  }
  return 0;
}

int env_read(buffer *b, stralloc *out, unsigned long long now, size_t *rcpt_count)
{
  char rec[QUEUE_FIELD_MAX];
  struct addr a;
  char num[FMT_ULONG];
  size_t len = 0;
  size_t rcpts = 0;
  int seen_f = 0;
  int seen_v = 0;
  int seen_x = 0;
  int seen_n = 0;
  int seen_o = 0;
  int dup = 0; /* the last T named a recipient already there: it and its N, O go */
  int r;
  int code;

  *rcpt_count = 0;
  len = fmt_ulonglong(num, now);
  if (add_record(out, 'T', num, len) != QQ_OK) return QQ_NOMEM;

  for (;;) {
    r = get_record(b, rec, &len);
    if (r == -1) return errno == ETIMEDOUT ? QQ_TIMEOUT : QQ_READ;
    if (r == REC_EOF) return QQ_READ;
    if (r == REC_LONG) { /* the tag is in rec[0] */
      if (rec[0] == 'F' || rec[0] == 'T') return QQ_ADDR_TOO_LONG;
      return QQ_ENVELOPE;
    }

    if (len == 0) break; /* the empty record ends the envelope */
    if (!seen_f && rec[0] != 'F') return QQ_ENVELOPE; /* F comes first */

    switch (rec[0]) {
      case 'F':
        if (seen_f++) return QQ_ENVELOPE;
        code = env_addr_check(&a, rec + 1, len - 1, 1);
        if (code != QQ_OK) return code;
        code = add_record(out, 'F', a.s, a.len);
        if (code != QQ_OK) return code;
        continue;
      case 'T':
        code = env_addr_check(&a, rec + 1, len - 1, 0);
        if (code != QQ_OK) return code;
        seen_n = seen_o = 0;
        dup = rcpts > 0 && env_rcpt_seen(out, a.s, a.len);
        if (dup) continue; /* one copy a mailbox, as sendmail does */
        code = add_record(out, 'R', a.s, a.len);
        if (code != QQ_OK) return code;
        rcpts++;
        continue;
      case 'V':
      case 'X':
        if (rcpts > 0) return QQ_ENVELOPE;
        if (rec[0] == 'V' ? seen_v++ : seen_x++) return QQ_ENVELOPE;
        if (!env_value_ok(rec[0], rec + 1, len - 1)) return QQ_ENVELOPE;
        break;
      case 'N':
      case 'O':
        if (rcpts == 0) return QQ_ENVELOPE;
        if (rec[0] == 'N' ? seen_n++ : seen_o++) return QQ_ENVELOPE;
        if (!env_value_ok(rec[0], rec + 1, len - 1)) return QQ_ENVELOPE;
        if (dup) continue;
        break;
      default:
        return QQ_ENVELOPE;
    }
    code = add_record(out, rec[0], rec + 1, len - 1);
    if (code != QQ_OK) return code;
  }

  if (!seen_f || rcpts == 0) return QQ_ENVELOPE;
  *rcpt_count = rcpts;
  return QQ_OK;
}
