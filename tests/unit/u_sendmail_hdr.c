/* u_sendmail_hdr: address lists and field names as sendmail reads them. */
#include <string.h>

#include "tap.h"
#include "sendmail_hdr.h"

static struct hdr_span spans[8];
static const char *text;

static long scan(const char *s)
{
  text = s;
  return hdr_addrlist(s, strlen(s), spans, 8);
}

/* 1 if span k is the string want. */
static int span_is(long k, const char *want)
{
  return spans[k].len == strlen(want) && memcmp(text + spans[k].start, want, spans[k].len) == 0;
}

int main(void)
{
  plan(22);
  ok(scan("ann@example.org") == 1 && span_is(0, "ann@example.org"), "one bare address");
  ok(scan(" Ann <ann@example.org> ") == 1 && span_is(0, "ann@example.org"), "angle address");
  ok(scan("a@x.example, b@y.example,c@z.example") == 3 && span_is(1, "b@y.example") &&
     span_is(2, "c@z.example"), "a list");
  ok(scan("\"Doe, John\" <jd@example.org>, x@y.example") == 2 && span_is(0, "jd@example.org"),
     "comma inside a quoted display name");
  ok(scan("jd@example.org (Doe, John)") == 1 && span_is(0, "jd@example.org"),
     "old-style comment after the address");
  ok(scan("(c) <a@b.example>") == 1 && span_is(0, "a@b.example"), "comment before");
  ok(scan("team: a@b.example, c@d.example;, e@f.example") == 3 && span_is(0, "a@b.example") &&
     span_is(2, "e@f.example"), "group");
  ok(scan("undisclosed-recipients:;") == 0, "empty group");
  ok(scan("") == 0 && scan("  ") == 0, "empty value");
  ok(scan("<@relay.example,@r2.example:u@h.example>") == 1 && span_is(0, "u@h.example"),
     "source route dropped");
  ok(scan("\"a b\"@example.org") == 1 && span_is(0, "\"a b\"@example.org"), "quoted local part");
  ok(scan("bob") == 1 && span_is(0, "bob"), "bare local name");
  ok(scan("X <a@b.example") == -1, "unterminated angle");
  ok(scan("\"open") == -1, "unterminated quote");
  ok(scan("a@b.example (open") == -1, "unterminated comment");
  ok(scan("a@b.example,\r\n b@c.example") == 2 && span_is(1, "b@c.example"), "folded");
  ok(scan("a, b, c, d, e, f, g, h, i, j") == 10, "count beyond max reported");

  ok(hdr_fieldname("Subject: x\n", 11) == 7, "field name");
  ok(hdr_fieldname("Subject : x\n", 12) == 7, "obsolete blank before colon");
  ok(hdr_fieldname("not a header\n", 13) == 0, "not a field");
  ok(hdr_fieldname(": x\n", 4) == 0, "empty name");
  ok(hdr_is("CC", 2, "cc") && !hdr_is("Ccc", 3, "cc"), "hdr_is ignores case, checks length");
  return done_testing();
}
