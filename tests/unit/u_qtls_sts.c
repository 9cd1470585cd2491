/* tests/unit/u_qtls_sts.c: MTA-STS policy files and MX patterns (RFC 8461). */
#include <string.h>

#include "tap.h"
#include "qtls_sts.h"

static struct sts_policy p;
static const char *why;

static int parse(const char *s)
{
  return sts_parse(&p, s, strlen(s), &why);
}

int main(void)
{
  plan(27);

  ok(parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
           "max_age: 604800\r\n") == 0,
     "the RFC's example shape parses");
  ok(p.mode == STS_ENFORCE && p.max_age == 604800 && p.mx_count == 2, "mode, max_age, two mx");
  ok(strcmp(p.mx[0], "mail.example.com") == 0 && strcmp(p.mx[1], "*.example.net") == 0,
     "patterns kept in order");
  ok(parse("version: STSv1\nmode: testing\nmx: MX1.Example.COM.\nmax_age:86400") == 0 &&
         p.mode == STS_TESTING && strcmp(p.mx[0], "mx1.example.com") == 0,
     "bare LF, no final newline, case and final dot folded");
  ok(parse("version: STSv1\nmode: none\nmax_age: 0\n") == 0 && p.mode == STS_NONE,
     "mode none needs no mx");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nfuture_key: x\n") == 0,
     "an unknown key is ignored");
  ok(parse("mode: enforce\nmx: a.example\nmax_age: 1\n") == -1, "no version: invalid");
  ok(parse("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n") == -1,
     "another version: invalid");
  ok(parse("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n") == -1,
     "an unknown mode: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmax_age: 1\n") == -1, "enforce without mx: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n") == -1,
     "max_age over a year: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n") == 0,
     "max_age of a year: valid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n") == -1,
     "a negative max_age: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.example\n") == -1, "no max_age: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n") == -1,
     "mode twice: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n") == -1,
     "an empty label: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n") == -1,
     "a wildcard not first: invalid");
  ok(parse("version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n") == -1,
     "a line without a colon: invalid");
  ok(sts_parse(&p, "version: STSv1\nmo\0de: none\nmax_age: 1\n", 37, &why) == -1,
     "a NUL: invalid");

  parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 1\n");
  ok(sts_mx_match(&p, "mail.example.com"), "exact name matches");
  ok(sts_mx_match(&p, "MAIL.Example.Com."), "any case, final dot");
  ok(!sts_mx_match(&p, "mail2.example.com"), "another name does not");
  ok(sts_mx_match(&p, "mx1.example.net"), "*. matches one label");
  ok(!sts_mx_match(&p, "a.b.example.net"), "*. never matches two labels");
  ok(!sts_mx_match(&p, "example.net"), "*. never matches the parent itself");
  ok(!sts_mx_match(&p, "*.example.net"), "a host named with a star never matches");
  ok(!sts_mx_match(&p, "xexample.net"), "no match across a label boundary");
  return done_testing();
}
