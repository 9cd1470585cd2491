/* tests/unit/t_logline.c: logline_delivery, qsend's delivery lines */
#include <string.h>

#include "tap.h"
#include "logline.h"

static int parse(const char *s, struct logline_delivery *d)
{
  return logline_delivery(s, strlen(s), d);
}

int main(void)
{
  struct logline_delivery d;
  const char *s;

  plan(6);
  s = "HKZ1Q0B7W83F2K.0 local ann@example.org ok: mail/example.org/ann/";
  ok(parse(s, &d) == 1 && d.id_len == 14 && !d.remote && d.status == LOGLINE_OK &&
     !strcmp(s + d.text, "mail/example.org/ann/"), "local ok");
  s = "12.10 remote \"a ok: b\"@far.example deferred: connection refused ok: no";
  ok(parse(s, &d) == 1 && d.id_len == 2 && d.remote && d.status == LOGLINE_OK,
     "a recipient holding \" ok: \": the first word wins (as qstats always did)");
  s = "12.1 remote x@far.example deferred: connection refused ok: not this";
  ok(parse(s, &d) == 1 && d.status == LOGLINE_DEFERRED &&
     !strcmp(s + d.text, "connection refused ok: not this"), "deferred, the text after it");
  s = "12.1 local nobody@example.org failed: no such user";
  ok(parse(s, &d) == 1 && d.status == LOGLINE_FAILED, "failed");
  ok(parse("99.0 sideways x@y ok: unknown channel", &d) == 0, "unknown channel");
  ok(parse("12 local x@y ok: no index", &d) == 0, "no index");
  return done_testing();
}
