/* tests/unit/u_dsn_parse.c: the pure parts of qsend_dsn.c (the reasons and
 * original headers they read, the fields and boundary built from them). */
#include <string.h>

#include <stralloc.h>

#include "tap.h"
#include "qsend_dsn.h"

static struct dsn_reason p;

static int status_is(const char *reason, int kind, const char *want)
{
  dsn_reason_parse(&p, reason, kind);
  return strcmp(p.status, want) == 0;
}

static int field_is(const char *value, const char *want)
{
  static stralloc sa;
  int ok;

  sa.len = 0;
  ok = dsn_cat_field(&sa, "Diagnostic-Code", value) && stralloc_0(&sa);
  return ok && strcmp(sa.s, want) == 0;
}

#define HDR_LEN(lit) dsn_header_len(lit, sizeof lit - 1)

int main(void)
{
  stralloc orig = {0};
  stralloc b = {0};
  char num[64];

  plan(17);
  ok(status_is("mx.example [192.0.2.1] said: 550 5.1.1 unknown user", DSN_FAILED, "5.1.1"),
     "enhanced code of the reply");
  ok(p.remote != NULL && strncmp(p.remote, "550 5.1.1", 9) == 0 && p.hostlen == 10,
     "remote reply and host found");
  ok(status_is("mx.example [192.0.2.1] said: 550 no such user", DSN_FAILED, "5.0.0"),
     "reply without enhanced code: X.0.0");
  ok(status_is("mx.example [192.0.2.1] said: 421 4.3.2 busy", DSN_FAILED, "5.4.7"),
     "temporary reply in a failure: 5.4.7");
  /* a failure report said 4.0.0, a delay report took any first digit */
  ok(status_is("mx.example [192.0.2.1] said: 421 busy", DSN_FAILED, "5.4.7"),
     "temporary reply without enhanced code in a failure: 5.4.7");
  ok(status_is(" said: 134 sax", DSN_DELAYED, "4.0.0"), "reply code of no class: 4.0.0");
  ok(status_is("x said: 550 refused", DSN_DELAYED, "4.0.0"), "class of the report's kind");
  ok(status_is("x said: 999 what", DSN_DELIVERED, "2.0.0"), "delivered: 2.0.0");
  ok(status_is("5.2.2 mailbox full", DSN_FAILED, "5.2.2"), "our own status");
  ok(status_is("mailbox full (#5.2.2)", DSN_FAILED, "5.2.2"), "qmail-style status");
  ok(status_is("4.4.1 unable to connect", DSN_FAILED, "5.4.7"), "our temporary reason made final");

  ok(field_is("smtp; 550 x", "Diagnostic-Code: smtp; 550 x\n"), "short field");
  ok(field_is("a\r\nFrom: evil", "Diagnostic-Code: a??From: evil\n"), "no line end from a value");

  ok(HDR_LEN("A: b\nC: d\n\nbody\n") == 10, "header up to the empty line");
  ok(HDR_LEN("\nbody\n") == 0 && HDR_LEN("A: b\nC: d") == 5, "no header; complete lines only");

  memcpy(num, "=_qmta_7_1700000000_", 20);
  if (!stralloc_copyb(&orig, num, 20)) return 1;
  ok(dsn_boundary(&b, &orig, 7, 1700000000) && b.len <= 70, "a boundary");
  ok(b.len > 0 && memmem(orig.s, orig.len, b.s, b.len) == NULL, "not in the original");
  stralloc_free(&orig);
  stralloc_free(&b);
  return done_testing();
}
