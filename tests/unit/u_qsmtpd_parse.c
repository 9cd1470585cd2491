/* Unit tests of qsmtpd's command parsers (qsmtpd/qsmtpd_parse.c). */
#include <string.h>

#include "tap.h"
#include "b64.h"
#include "qsmtpd.h"

static int verb(const char *s, size_t *arg)
{
  return smtp_verb(s, strlen(s), arg);
}

static int helo(const char *s)
{
  return smtp_helo_ok(s, strlen(s));
}

static const char *mail(struct mail_args *m, const char *s, int ehlo)
{
  return smtp_mail_parse(m, s, strlen(s), ehlo);
}

static const char *rcpt(struct rcpt_args *r, const char *s, int utf8)
{
  return smtp_rcpt_parse(r, s, strlen(s), 1, utf8);
}

static int starts(const char *s, const char *p)
{
  return s != NULL && strncmp(s, p, strlen(p)) == 0;
}

int main(void)
{
  size_t arg;
  struct mail_args m;
  struct rcpt_args r;
  char out[64];
  unsigned long long size;
  int last;

  plan(63);

  ok(verb("MAIL FROM:<a@b>", &arg) == VERB_MAIL && arg == 5, "MAIL verb and argument");
  ok(verb("mail from:<a@b>", &arg) == VERB_MAIL, "verbs without regard to case");
  ok(verb("QUIT", &arg) == VERB_QUIT && arg == 4, "verb alone");
  ok(verb("StartTLS", &arg) == VERB_STARTTLS, "STARTTLS");
  ok(verb("MAILX", &arg) == VERB_UNKNOWN, "a longer word is no verb");
  ok(verb("", &arg) == VERB_UNKNOWN, "empty line");
  ok(verb("EHLO   x.org", &arg) == VERB_EHLO && arg == 7, "blanks after the verb skipped");

  ok(helo("mail.example.org"), "host name");
  ok(helo("mail.example.org."), "trailing dot");
  ok(helo("localhost"), "single label");
  ok(helo("[192.0.2.1]"), "IPv4 literal");
  ok(helo("[IPv6:2001:db8::1]"), "IPv6 literal");
  ok(!helo("[IPv6:2001:db8::g]"), "bad IPv6 literal");
  ok(!helo("[192.0.2.256]"), "IPv4 literal out of range");
  ok(!helo("[192.0.2]"), "short IPv4 literal");
  ok(!helo(""), "empty");
  ok(!helo("a..b"), "empty label");
  ok(!helo("-a.b"), "leading hyphen");
  ok(!helo("a b"), "blank inside");
  ok(!helo("a\xc3\xa9.org"), "8-bit host name");

  ok(mail(&m, "FROM:<a@Example.ORG>", 1) == NULL && strcmp(m.addr.s, "a@example.org") == 0,
     "sender, domain lowercased");
  ok(mail(&m, "FROM:<>", 1) == NULL && m.addr.null, "null sender");
  ok(mail(&m, "FROM: <a@b.org>", 1) == NULL, "blank after the colon");
  ok(mail(&m, "FROM:<a@b.org> SIZE=1000 BODY=8BITMIME", 1) == NULL && m.size == 1000 && m.body8,
     "SIZE and BODY");
  ok(starts(mail(&m, "FROM:<a@b.org> SIZE=1000", 0), "555 5.5.4"), "no parameters after HELO");
  ok(starts(mail(&m, "FROM:<a@b.org> FOO=1", 1), "555 5.5.4"), "unknown parameter");
  ok(starts(mail(&m, "FROM:<a@b.org> SIZE=1 SIZE=2", 1), "501 5.5.4"), "SIZE twice");
  ok(starts(mail(&m, "FROM:<a@b.org> SIZE=x", 1), "501 5.5.4"), "bad SIZE");
  ok(mail(&m, "FROM:<a@b.org> SIZE=99999999999999999999", 1) == NULL && m.size == ~0ULL,
     "huge SIZE saturates");
  ok(mail(&m, "FROM:<a@b.org> RET=hdrs ENVID=QQ+2B1", 1) == NULL && strcmp(m.ret, "HDRS") == 0 &&
       strcmp(m.envid, "QQ+1") == 0,
     "RET and ENVID decoded");
  ok(starts(mail(&m, "FROM:<a@b.org> ENVID=a+00b", 1), "501 5.5.4"), "ENVID with NUL refused");
  ok(starts(mail(&m, "FROM:a@b.org>", 1), "501 5.1.7"), "broken path");
  ok(starts(mail(&m, "TO:<a@b.org>", 1), "501 5.5.4"), "MAIL without FROM:");
  ok(starts(mail(&m, "FROM:<\xc3\xa9@b.org>", 1), "553 5.6.7"), "UTF-8 without SMTPUTF8");
  ok(mail(&m, "FROM:<\xc3\xa9@b.org> SMTPUTF8", 1) == NULL && m.smtputf8, "UTF-8 with SMTPUTF8");
  ok(mail(&m, "FROM:<a@b.org> AUTH=<>", 1) == NULL, "AUTH=<> accepted");

  ok(rcpt(&r, "TO:<u@example.org>", 0) == NULL && strcmp(r.addr.s, "u@example.org") == 0,
     "recipient");
  ok(rcpt(&r, "TO:<Postmaster>", 0) == NULL && r.addr.at == r.addr.len, "bare postmaster");
  ok(starts(rcpt(&r, "TO:<>", 0), "501 5.1.3"), "null recipient refused");
  ok(rcpt(&r, "TO:<u@example.org> NOTIFY=failure,delay", 0) == NULL &&
       strcmp(r.notify, "FAILURE,DELAY") == 0,
     "NOTIFY normalized");
  ok(starts(rcpt(&r, "TO:<u@example.org> NOTIFY=never,delay", 0), "501"), "NEVER stands alone");
  ok(starts(rcpt(&r, "TO:<u@example.org> NOTIFY=bogus", 0), "501"), "bad NOTIFY");
  ok(rcpt(&r, "TO:<u@example.org> ORCPT=rfc822;u+40example.org", 0) == NULL &&
       strcmp(r.orcpt, "rfc822;u@example.org") == 0,
     "ORCPT decoded");
  ok(starts(rcpt(&r, "TO:<u@example.org> ORCPT=rfc822", 0), "501"), "ORCPT without ';'");
  ok(rcpt(&r, "TO:<u@example.org> ORCPT=utf-8;\xc3\xbcser@example.org", 1) == NULL &&
       strcmp(r.orcpt, "utf-8;\xc3\xbcser@example.org") == 0,
     "ORCPT utf-8, raw UTF-8 under SMTPUTF8 (RFC 6533)");
  ok(rcpt(&r, "TO:<u@example.org> ORCPT=UTF-8;\\x{FC}ser+2Bx@example.org", 0) == NULL &&
       strcmp(r.orcpt, "utf-8;\xc3\xbcser+x@example.org") == 0,
     "ORCPT utf-8-addr-xtext: \\x{HEX} and +XX");
  ok(starts(rcpt(&r, "TO:<u@example.org> ORCPT=utf-8;\\x{D800}@example.org", 0), "501"),
     "ORCPT utf-8: a surrogate refused");
  ok(starts(rcpt(&r, "TO:<u@example.org> ORCPT=utf-8;\xc3@example.org", 1), "501"),
     "ORCPT utf-8: a broken sequence refused");
  ok(starts(rcpt(&r, "TO:<u@example.org> ORCPT=utf-8;\\x{85}@example.org", 0), "501"),
     "ORCPT utf-8: a C1 control refused");
  ok(starts(rcpt(&r, "TO:<\xc3\xa9@example.org>", 0), "553 5.6.7"), "8-bit rcpt without SMTPUTF8");
  ok(rcpt(&r, "TO:<\xc3\xa9@example.org>", 1) == NULL, "8-bit rcpt with SMTPUTF8");
  ok(rcpt(&r, "TO:<@relay.org:u@example.org>", 0) == NULL && r.addr.routed &&
       strcmp(r.addr.s, "u@example.org") == 0,
     "source route dropped");
  ok(rcpt(&r, "TO:<u%x.org@example.org>", 0) == NULL &&
       strcmp(r.addr.s, "u%x.org@example.org") == 0,
     "percent hack is a local part");

  ok(smtp_xtext_decode(out, sizeof out, "a+2Bb", 5) == 3 && memcmp(out, "a+b", 3) == 0, "xtext");
  ok(smtp_xtext_decode(out, sizeof out, "a+2", 3) == (size_t)-1, "short hexchar");
  ok(smtp_xtext_decode(out, sizeof out, "a=b", 3) == (size_t)-1, "'=' is not xchar");
  ok(b64_decode(out, sizeof out, "AHVzZXIAcGFzcw==", 16) == 10 &&
       memcmp(out, "\0user\0pass", 10) == 0,
     "base64");
  ok(b64_decode(out, sizeof out, "AHVzZXIAcGFzcw=", 15) == (size_t)-1, "base64 length");
  ok(b64_decode(out, sizeof out, "A=VzZXIA", 8) == (size_t)-1, "base64 '=' inside");
  ok(b64_decode(out, 2, "AHVzZXIA", 8) == (size_t)-1, "base64 too long for out");

  ok(smtp_bdat_parse("100 LAST", 8, &size, &last) && size == 100 && last, "BDAT LAST");
  ok(smtp_bdat_parse("0", 1, &size, &last) && size == 0 && !last, "BDAT 0");
  ok(!smtp_bdat_parse("12x", 3, &size, &last) && !smtp_bdat_parse("99999999999999999999", 20,
                                                                 &size, &last),
     "bad BDAT sizes");
  return done_testing();
}
