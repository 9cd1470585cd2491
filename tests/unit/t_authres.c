/* tests/unit/t_authres.c: writing Authentication-Results (lib/authres_*.c):
 * the exact text of a full header, "none", quoting, folding under 78
 * bytes, overflow and invalid arguments, the dmarc= result; and
 * authres_is_ours on the forms RFC 8601 allows. */
#include <string.h>

#include "authres.h"
#include "dmarc.h"
#include "tap.h"

static int lines_short(const char *s)
{
  size_t col = 0;

  for (; *s != '\0'; s++) {
    if (*s == '\n') col = 0;
    else if (++col >= AUTHRES_FOLD) return 0;
  }
  return 1;
}

/* 1 if the dmarc= result of o (disposition dis) is written as want */
static int dmarc_is(const struct dmarc_out *o, const char *dis, const char *want)
{
  char buf[AUTHRES_MAX];
  struct authres b;

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_dmarc(&b, o, dis);
  return authres_end(&b) > 0 && strcmp(buf, want) == 0;
}

static int ours(const char *value, const char *id)
{
  return authres_is_ours(value, strlen(value), id);
}

int main(void)
{
  char buf[AUTHRES_MAX];
  struct authres b;
  long n;

  plan(35);

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_add(&b, "spf", "pass", "smtp.mailfrom", "example.org");
  authres_method(&b, "dkim", "pass", NULL);
  authres_prop(&b, "header.d", "example.org");
  authres_prop(&b, "header.s", "s2026");
  authres_prop(&b, "header.a", "rsa-sha256");
  authres_prop(&b, "header.b", "AbCd/123");
  authres_add(&b, "auth", "pass", "smtp.auth", "jane");
  n = authres_end(&b);
  ok(n == (long)strlen(buf) &&
         strcmp(buf, "Authentication-Results: mx.example.net;\n"
                     "\tspf=pass smtp.mailfrom=example.org;\n"
                     "\tdkim=pass header.d=example.org header.s=s2026 header.a=rsa-sha256\n"
                     "\t  header.b=\"AbCd/123\";\n"
                     "\tauth=pass smtp.auth=jane\n") == 0,
     "full header, folded, header.b quoted");
  ok(lines_short(buf), "lines under 78 bytes");

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  ok(authres_end(&b) > 0 && strcmp(buf, "Authentication-Results: mx.example.net; none\n") == 0,
     "no method: none");

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_add(&b, "spf", "softfail", "smtp.mailfrom", "user.name+tag@example.org");
  authres_add(&b, "spf", "none", "smtp.helo", "[192.0.2.1]");
  authres_method(&b, "dkim", "fail", "signature did not verify");
  authres_prop(&b, "header.d", "");
  authres_add(&b, "x-odd", "pass", "header.x", "a \"q\" \\ b\r\nInjected: yes");
  ok(authres_end(&b) > 0 &&
         strstr(buf, "smtp.mailfrom=user.name+tag@example.org;") != NULL &&
         strstr(buf, "smtp.helo=\"[192.0.2.1]\"") != NULL &&
         strstr(buf, "dkim=fail reason=\"signature did not verify\" header.d=\"\"") != NULL &&
         strstr(buf, "header.x=\"a \\\"q\\\" \\\\ b??Injected: yes\"") != NULL &&
         strstr(buf, "\nInjected") == NULL,
     "values: address plain, literal, empty and specials quoted, CR LF neutralized");

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_method(&b, "dkim", "pass", NULL);
  authres_comment(&b, "2048-bit key (RSA) \\ x\n");
  ok(authres_end(&b) > 0 && strstr(buf, "dkim=pass (2048-bit key \\(RSA\\) \\\\ x?)") != NULL,
     "comment escaped");

  authres_start(&b, buf, sizeof buf, "mx.example.net");
  for (int i = 0; i < 12; i++) {
    authres_method(&b, "dkim", "pass", NULL);
    authres_prop(&b, "header.d", "a-rather-long-subdomain-name.of-an-example-organization.example");
    authres_prop(&b, "header.i", "@a-rather-long-subdomain-name.of-an-example-organization.example");
  }
  ok(authres_end(&b) > 0 && lines_short(buf), "many long properties: every line folded");

  {
    char small[40];
    authres_start(&b, small, sizeof small, "mx.example.net");
    authres_add(&b, "spf", "pass", "smtp.mailfrom", "example.org");
    ok(authres_end(&b) == -1 && small[0] == '\0', "overflow: -1, nothing usable left");
  }
  authres_start(&b, buf, sizeof buf, "bad id;");
  ok(authres_end(&b) == -1, "authserv-id not a token");
  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_add(&b, "spf", "pass;dkim=pass", NULL, NULL);
  ok(authres_end(&b) == -1, "result not a token");
  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_add(&b, "spf", "pass", "mailfrom", "x");
  ok(authres_end(&b) == -1, "property without ptype");
  authres_start(&b, buf, sizeof buf, "mx.example.net");
  authres_prop(&b, "smtp.mailfrom", "x");
  ok(authres_end(&b) == -1, "property before a method");
  {
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    authres_start(&b, buf, sizeof buf, "mx.example.net");
    authres_add(&b, "spf", "pass", "smtp.mailfrom", big);
    ok(authres_end(&b) == -1, "value over the item limit");
  }

  /* dmarc= */
  {
    struct dmarc_out o;
    memset(&o, 0, sizeof o);
    o.result = DMARC_FAIL;
    o.p = DMARC_P_REJECT;
    o.policy = DMARC_P_QUARANTINE;
    o.testing = 1;
    strcpy(o.domain, "www.example.com");
    strcpy(o.policy_domain, "example.com");
    ok(dmarc_is(&o, "quarantine", "Authentication-Results: mx.example.net;\n"
                       "\tdmarc=fail (p=reject applied=quarantine t=y dis=quarantine)\n"
                       "\t  header.from=www.example.com policy.dmarc=quarantine\n"),
       "dmarc=fail with sp, t=y and disposition");
    memset(&o, 0, sizeof o);
    o.result = DMARC_NONE;
    strcpy(o.domain, "example.org");
    ok(dmarc_is(&o, NULL, "Authentication-Results: mx.example.net;\n"
                       "\tdmarc=none header.from=example.org\n"),
       "dmarc=none: no policy");
    o.result = DMARC_PASS;
    o.p = o.policy = DMARC_P_REJECT;
    strcpy(o.policy_domain, "example.org");
    ok(dmarc_is(&o, NULL, "Authentication-Results: mx.example.net;\n"
                       "\tdmarc=pass (p=reject) header.from=example.org policy.dmarc=reject\n"),
       "dmarc=pass");
    memset(&o, 0, sizeof o);
    o.result = DMARC_PERMERROR;
    ok(dmarc_is(&o, NULL, "Authentication-Results: mx.example.net;\n\tdmarc=permerror\n"),
       "dmarc=permerror: no domain");
  }

  /* authres_is_ours */
  ok(ours(" mx.example.net; spf=pass smtp.mailfrom=a.example", "mx.example.net"), "plain");
  ok(ours("MX.Example.NET; none", "mx.example.net"), "case ignored");
  ok(ours(" mx.example.net 1; spf=pass", "mx.example.net"), "version after the id");
  ok(ours("\r\n\t(comment (nested) \\) ) mx.example.net;none", "mx.example.net"),
     "folding and nested comments first");
  ok(ours(" \"mx.example.net\"; none", "mx.example.net"), "quoted-string id");
  ok(ours(" \"mx.exa\\mple.net\"; none", "mx.example.net"), "quoted-pair in the id");
  ok(ours("mx.example.net;", "mx.example.net"), "no space");
  ok(ours("mx.example.net", "mx.example.net"), "id alone");
  ok(!ours(" mx.example.net.evil; spf=pass", "mx.example.net"), "longer id");
  ok(!ours(" mx.example; spf=pass", "mx.example.net"), "shorter id");
  ok(!ours(" other.example; spf=pass (mx.example.net)", "mx.example.net"), "another id");
  ok(!ours(" (mx.example.net) other.example; none", "mx.example.net"), "our id in a comment");
  ok(!ours(" (unterminated mx.example.net; none", "mx.example.net"), "unterminated comment");
  ok(!ours(" \"mx.example.net; none", "mx.example.net"), "unterminated quote");
  ok(!ours("", "mx.example.net"), "empty");
  ok(!ours("   \r\n ", "mx.example.net"), "white space only");
  ok(!ours("; spf=pass", "mx.example.net"), "no id");
  ok(authres_is_ours("mx.example.net.evil", 14, "mx.example.net"), "len bounds the value");
  ok(!ours("mx.example.net\001; none", "mx.example.net\001"), "control byte ends the token");
  return done_testing();
}
