/*
 * fuzz_cmd: libFuzzer target for qsmtpd's command parsers
 * (qsmtpd/qsmtpd_parse.c) and the access/alias reply builders
 * (qsmtpd/qsmtpd_policy.c). The input is one command line without CRLF.
 * Checks beyond the sanitizers: every reply a parser returns is one line
 * ending in CRLF with a 4xx/5xx code; decoded values stay in their bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "qsmtpd.h"

static void check_reply(const char *r)
{
  size_t n;

  if (r == NULL) return;
  n = strlen(r);
  if (n < 6 || (r[0] != '4' && r[0] != '5') || r[n - 2] != '\r' || r[n - 1] != '\n') abort();
  if (memchr(r, '\n', n - 1) != NULL || memchr(r, '\r', n - 2) != NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  size_t arg;
  int verb;
  struct mail_args m;
  struct rcpt_args r;
  char out[MAX_AUTHLINE];
  char reply[ACCESS_REPLY_MAX];
  unsigned long long bsize;
  int last;
  size_t n;

  if (size > MAX_AUTHLINE) return 0;
  verb = smtp_verb(s, size, &arg);
  if (arg > size) abort();
  smtp_helo_ok(s + arg, size - arg);
  if (verb == VERB_MAIL || size < 64) {
    check_reply(smtp_mail_parse(&m, s + arg, size - arg, 1));
    check_reply(smtp_mail_parse(&m, s + arg, size - arg, 0));
    if (strlen(m.envid) > MAX_ENVID) abort();
  }
  if (verb == VERB_RCPT || size < 64) {
    check_reply(smtp_rcpt_parse(&r, s + arg, size - arg, 1, 0));
    check_reply(smtp_rcpt_parse(&r, s + arg, size - arg, 1, 1));
    if (strlen(r.orcpt) > MAX_ORCPT || strlen(r.notify) > MAX_NOTIFY) abort();
  }
  smtp_bdat_parse(s + arg, size - arg, &bsize, &last);
  n = b64_decode(out, sizeof out, s, size);
  if (n != (size_t)-1 && n > size) abort();
  n = smtp_xtext_decode(out, sizeof out, s, size);
  if (n != (size_t)-1 && n > size) abort();
  reply[0] = '\0';
  switch (policy_access_action(s, size, "554", reply, sizeof reply)) {
    case ACT_REJECT:
    case ACT_ERROR: check_reply(reply); break;
    default: break;
  }
  if (policy_alias_error(s, size, reply, sizeof reply)) check_reply(reply);
  return 0;
}
