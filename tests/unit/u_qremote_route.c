/* tests/unit/u_qremote_route.c: control/smtproutes entries and their lookup. */
#include <string.h>

#include "tap.h"
#include "qremote.h"

static int find(struct route *r, const char *list, size_t len, const char *d)
{
  return route_find(r, list, len, d, strlen(d));
}

int main(void)
{
  static const char list[] =
      "example.org:relay.example.net:2525\0"
      ".sub.example.org:[192.0.2.7] tls=verify ca=/etc/ca.pem\0"
      "bad.example:host:99999\0"
      "mx.example:\ttls=require\0"
      "auth.example:Smart.Example.NET:587 auth=control/smarthost.auth tls=no\0"
      ":fallback.example.com\0";
  size_t len = sizeof list - 1;
  struct route r;

  plan(34);

  ok(find(&r, list, len, "example.org") == 1, "exact domain found");
  ok(strcmp(r.host, "relay.example.net") == 0 && r.port == 2525, "host and port");
  ok(r.tls == ROUTE_TLS_MAY && r.authfile[0] == '\0', "defaults: tls=may, no auth");

  ok(find(&r, list, len, "EXAMPLE.ORG") == 1, "domain compared without case");

  ok(find(&r, list, len, "a.b.sub.example.org") == 1, "subdomain matches .parent");
  ok(strcmp(r.host, "[192.0.2.7]") == 0 && r.port == 25, "literal host, default port");
  ok(r.tls == ROUTE_TLS_VERIFY && strcmp(r.cafile, "/etc/ca.pem") == 0, "tls=verify ca=");

  ok(find(&r, list, len, "sub.example.org") == 1 && strcmp(r.host, "fallback.example.com") == 0,
     ".sub.example.org does not match sub.example.org itself");

  ok(find(&r, list, len, "bad.example") == -1, "port out of range is malformed");

  ok(find(&r, list, len, "mx.example") == 1 && r.host[0] == '\0', "empty host: MX");
  ok(r.tls == ROUTE_TLS_REQUIRE, "options after an empty host");

  ok(find(&r, list, len, "auth.example") == 1, "auth route found");
  ok(strcmp(r.host, "smart.example.net") == 0 && r.port == 587, "host lowercased");
  ok(strcmp(r.authfile, "control/smarthost.auth") == 0 && r.tls == ROUTE_TLS_NO,
     "auth= and tls=no");

  ok(find(&r, list, len, "other.test") == 1 && strcmp(r.host, "fallback.example.com") == 0,
     "':host' catches everything else");
  ok(find(&r, "x.test:h\0", 9, "other.test") == 0, "no entry: 0");
  ok(find(&r, "", 0, "other.test") == 0 && r.host[0] == '\0' && r.port == 25, "empty list");

  ok(route_parse(&r, "h:25 tls=maybe", 14) == -1, "unknown tls value refused");
  ok(route_parse(&r, "h:25 frob=1", 11) == -1, "unknown option refused");
  ok(route_parse(&r, "h:x", 3) == -1, "port not a number");
  ok(route_parse(&r, "[::1", 4) == -1, "unterminated literal");
  ok(route_parse(&r, "[IPv6:2001:db8::1]:26", 21) == 0 && r.port == 26 &&
     strcmp(r.host, "[ipv6:2001:db8::1]") == 0, "IPv6 literal with port");
  ok(route_parse(&r, "h auth=", 7) == -1, "empty auth file refused");
  ok(route_parse(&r, "h:0", 3) == -1, "port 0 refused");

  /* tls= with the levels of control/tlspolicy */
  ok(route_parse(&r, "h tls=dane-only", 15) == 0 && r.tls == ROUTE_TLS_DANE_ONLY && r.tls_set,
     "tls=dane-only");
  ok(route_parse(&r, "h", 1) == 0 && !r.tls_set, "no tls=: control/tlspolicy decides");
  ok(route_parse(&r, "h tls=sure", 10) == -1, "an unknown level refused");

  /* control/tlspolicy */
  {
    static const char pol[] = "example.org dane-only\0"
                              ".example.net	encrypt\0"
                              "[mx.example.com] verify\0"
                              "bad.example secure\0"
                              "* dane\0";
    size_t plen = sizeof pol - 1;
    int level;

    ok(tlspolicy_find(pol, plen, "example.org", "mx.example.org", &level) == 1 &&
           level == ROUTE_TLS_DANE_ONLY, "a domain");
    ok(tlspolicy_find(pol, plen, "a.b.example.net", "x", &level) == 1 &&
           level == ROUTE_TLS_REQUIRE, "a parent domain: encrypt");
    ok(tlspolicy_find(pol, plen, "example.net", "x", &level) == 1 && level == ROUTE_TLS_DANE,
       ".example.net is not example.net: the default");
    ok(tlspolicy_find(pol, plen, "EXAMPLE.ORG", "mx.example.com", &level) == 1 &&
           level == ROUTE_TLS_VERIFY, "[host] wins over the domain");
    ok(tlspolicy_find(pol, plen, "bad.example", "x", &level) == -1, "an unknown level: malformed");
    ok(tlspolicy_find("", 0, "example.org", "x", &level) == 0 && level == ROUTE_TLS_MAY,
       "no file: may");
    ok(strcmp(tlspolicy_name(ROUTE_TLS_DANE_ONLY), "dane-only") == 0 &&
           tlspolicy_level("NONE", 4) == ROUTE_TLS_NO, "names and levels");
  }
  return done_testing();
}
