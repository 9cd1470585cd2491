/* tests/unit/t_spf_macro.c: SPF macros against the examples of RFC 7208
 * 7.4, their syntax check, spf_subdomain. No DNS (no %{p}). */
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "tap.h"

static struct spf_ctx ctx;

static int expands(const char *in, const char *want)
{
  char out[SPF_EXPAND_MAX];
  long n = spf_expand(&ctx, "email.example.com", in, strlen(in), 0, out, sizeof out);
  return n >= 0 && strcasecmp(out, want) == 0;
}

int main(void)
{
  static const struct {
    const char *in;
    const char *out;
  } v4[] = {
    {"%{s}", "strong-bad@email.example.com"},
    {"%{o}", "email.example.com"},
    {"%{d}", "email.example.com"},
    {"%{d4}", "email.example.com"},
    {"%{d3}", "email.example.com"},
    {"%{d2}", "example.com"},
    {"%{d1}", "com"},
    {"%{dr}", "com.example.email"},
    {"%{d2r}", "example.email"},
    {"%{l}", "strong-bad"},
    {"%{l-}", "strong.bad"},
    {"%{lr}", "strong-bad"},
    {"%{lr-}", "bad.strong"},
    {"%{l1r-}", "strong"},
    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
    {"%{S}", "strong-bad%40email.example.com"},
    {"a%%b%_c%-d", "a%b c%20d"},
  };
  unsigned char ip4[4] = {192, 0, 2, 3};
  unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcb, 0x01};
  char out[SPF_EXPAND_MAX];
  char big[600];

  plan((int)(sizeof v4 / sizeof v4[0]) + 12);
  memcpy(ctx.ip, ip4, 4);
  ctx.v4 = 1;
  ctx.sender = "strong-bad@email.example.com";
  ctx.helo = "mx.example.org";
  for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) ok(expands(v4[i].in, v4[i].out), v4[i].in);

  memcpy(ctx.ip, ip6, 16);
  ctx.v4 = 0;
  ok(expands("%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0"
                                      ".1.0.0.2.ip6._spf.example.com"), "IPv6 %{ir}.%{v}");
  ok(spf_expand(&ctx, "d.example", "%{c}", 4, 1, out, sizeof out) > 0 &&
     strcmp(out, "2001:db8::cb01") == 0, "%{c} in an explanation");

  ok(spf_macro_valid("%{d}.example.com", 16, 0), "valid domain-spec");
  ok(!spf_macro_valid("%{x}", 4, 0), "unknown letter refused");
  ok(!spf_macro_valid("%{d0}", 5, 0), "zero parts refused");
  ok(!spf_macro_valid("abc%", 4, 0), "lone % refused");
  ok(!spf_macro_valid("%{c}", 4, 0) && spf_macro_valid("%{c} %{r} %{t}", 14, 1),
     "c r t only in explanations");

  /* over 253 bytes: labels cut from the left */
  memset(big, 'a', sizeof big);
  for (size_t i = 10; i < 590; i += 11) big[i] = '.';
  memcpy(big + 590, ".example.", 9);
  big[599] = 0;
  ctx.sender = big;
  {
    long n = spf_expand(&ctx, "x.example", "%{s}", 4, 0, out, sizeof out);
    ok(n > 240 && n <= SPF_DOMAIN_MAX && out[0] != '.', "long expansion cut to 253");
  }

  ok(spf_subdomain("mail.Example.com", "example.com"), "subdomain");
  ok(spf_subdomain("example.com.", "EXAMPLE.com"), "same domain");
  ok(!spf_subdomain("badexample.com", "example.com"), "suffix without a dot is no subdomain");
  ok(strcmp(spf_result_name(SPF_SOFTFAIL), "softfail") == 0, "result names");
  return done_testing();
}
