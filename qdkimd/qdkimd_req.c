/* dkreq_parse, dkans_add, dkans_note: the request and the answer of
 * qdkimd's protocol (dkimproto.h), pure: tests/unit/u_qdkimd_req.c. */
#include <string.h>

#include "qdkimd.h"

/* A decimal number of at most 19 digits: 0, or -1 */
static int scan_num(const char *s, unsigned long long *n)
{
  size_t i;

  *n = 0;
  for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
    if (i >= 19) return -1;
    *n = *n * 10 + (unsigned long long)(s[i] - '0');
  }
  return i > 0 && s[i] == '\0' ? 0 : -1;
}

int dkreq_parse(struct dkreq *r, char *buf, size_t len)
{
  size_t pos = 0;
  int have_off = 0;
  int have_len = 0;

  memset(r, 0, sizeof *r);
  r->id = r->ip = r->helo = r->from = r->spf = r->spfd = "";
  for (;;) {
    char *line = buf + pos;
    char *nl = memchr(line, '\n', len - pos);
    char *val;

    if (nl == NULL) return -1;  /* no final empty line */
    *nl = '\0';
    pos = (size_t)(nl - buf) + 1;
    if (line[0] == '\0') break; /* the end of the request */
    if (strlen(line) != (size_t)(nl - line)) return -1; /* a NUL inside */
    val = strchr(line, ' ');
    if (val == NULL) return -1;
    *val++ = '\0';
    if (strlen(val) > DKIMP_VALUE_MAX) return -1;
    if (strcmp(line, "op") == 0) {
      if (strcmp(val, "sign") == 0) r->op = DKREQ_SIGN;
      else if (strcmp(val, "verify") == 0) r->op = DKREQ_VERIFY;
      else return -1;
    } else if (strcmp(line, "off") == 0) {
      if (scan_num(val, &r->off) == -1) return -1;
      have_off = 1;
    } else if (strcmp(line, "len") == 0) {
      if (scan_num(val, &r->len) == -1) return -1;
      have_len = 1;
    } else if (strcmp(line, "id") == 0) {
      r->id = val;
    } else if (strcmp(line, "ip") == 0) {
      r->ip = val;
    } else if (strcmp(line, "helo") == 0) {
      r->helo = val;
    } else if (strcmp(line, "from") == 0) {
      r->from = val;
    } else if (strcmp(line, "spf") == 0) {
      r->spf = val;
    } else if (strcmp(line, "spfd") == 0) {
      r->spfd = val;
    } else if (strcmp(line, "spfhelo") == 0) {
      r->spfhelo = strcmp(val, "1") == 0;
    } /* unknown keys are skipped */
    if (pos >= len) return -1;
  }
  if (r->op == 0 || !have_off || !have_len) return -1;
  if (r->off > (1ULL << 62) || r->len > (1ULL << 62)) return -1;
  return 0;
}

int dkans_add(struct dkans *a, const char *s, size_t len)
{
  if (len > sizeof a->fields - a->fieldslen) return -1;
  memcpy(a->fields + a->fieldslen, s, len);
  a->fieldslen += len;
  return 0;
}

void dkans_note(struct dkans *a, const char *s)
{
  size_t n = strnlen(s, DKIMP_REASON_MAX);

  memcpy(a->note, s, n);
  a->note[n] = '\0';
}
