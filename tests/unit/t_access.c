/* tests/unit/t_access.c: control/access compiled by maps_access (with the
 * tcpserver rules) and read back by access_lookup, in a temporary instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "access.h"
#include "cdbmap.h"
#include "maps.h"

static char dir[] = "/tmp/t_access.XXXXXX";
static int errors;

static void put(const char *fn, const char *text)
{
  FILE *f = fopen(fn, "w");
  if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF) {
    perror(fn);
    exit(111);
  }
}

static void count(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  printf("# %s:%lu: %s%s\n", fn, lineno, what, what2 ? what2 : "");
  errors++;
}

/* kind, key, host -> want (NULL: not found) */
static int is(int kind, const char *key, const char *host, const char *want)
{
  stralloc val = {0};
  int r = access_lookup(kind, key, strlen(key), host, &val);
  int good;

  if (want == NULL) {
    good = (r == 0);
  } else {
    good = (r == 1 && val.len == strlen(want) && strcmp(val.s, want) == 0);
  }
  if (!good) printf("# %c %s: r=%d val='%s'\n", kind, key, r, r == 1 ? val.s : "");
  stralloc_free(&val);
  return good;
}

static int rule(const char *key, const char *want)
{
  stralloc val = {0};
  int r = cdbmap_lookup(TCPRULES_CDB, key, strlen(key), &val);
  int good = (want == NULL) ? (r == 0)
                            : (r == 1 && val.len == strlen(want) + 1 &&
                               memcmp(val.s, want, val.len) == 0);
  stralloc_free(&val);
  return good;
}

int main(void)
{
  char cmd[128];

  plan(62);
  if (mkdtemp(dir) == NULL || chdir(dir) == -1 || mkdir("control", 0755) == -1) {
    perror("temp dir");
    return 111;
  }
  maps_report = count;

  ok(is(ACCESS_CONNECT, "192.168.0.1", NULL, NULL), "no map: nothing");
  ok(access_hostkeys() == 0, "no map: no host-name keys");

  put("control/access",
      "# comment\n"
      "192.168.0        RELAY\n"
      "192.168.0.66     reject\n"
      "Connect:10       ERROR:4.7.1:421 come back later\n"
      "10.1.2.3         OK\n"
      "IPv6:2001:DB8    RELAY\n"
      "IPv6:2001:db8::bad:1  REJECT\n"
      "Connect:dialup.example.net REJECT\n"
      "example.net      OK\n"
      "From:spammer@    DISCARD\n"
      "spammer@friend.org OK\n"
      "To:example.com   ERROR:5.7.1:550 we do not deliver there\n"
      "example.com      REJECT\n"
      "From:<>          ERROR:550 no bounces here\n"
      "127.0.0.1        RELAY\n");
  ok(maps_access() == 0 && errors == 0, "compiles");

  ok(is(ACCESS_CONNECT, "192.168.0.1", NULL, "RELAY"), "IPv4 prefix");
  ok(is(ACCESS_CONNECT, "192.168.0.66", NULL, "REJECT"), "exact address before the prefix");
  ok(is(ACCESS_CONNECT, "192.168.1.1", NULL, NULL), "other prefix: nothing");
  ok(is(ACCESS_CONNECT, "10.9.9.9", NULL, "ERROR:4.7.1:421 come back later"), "Connect: tag");
  ok(is(ACCESS_CONNECT, "10.1.2.3", NULL, "OK"), "more specific untagged beats shorter tagged");
  ok(is(ACCESS_CONNECT, "::ffff:10.1.2.3", NULL, "OK"), "IPv4-mapped IPv6 address");
  ok(is(ACCESS_CONNECT, "2001:db8::1", NULL, "RELAY"), "IPv6 prefix");
  ok(is(ACCESS_CONNECT, "2001:0db8:0:0::bad:1", NULL, "REJECT"), "IPv6 address in any form");
  ok(is(ACCESS_CONNECT, "2001:db9::1", NULL, NULL), "other IPv6: nothing");
  ok(is(ACCESS_CONNECT, "172.16.0.1", "ppp1.dialup.example.net", "REJECT"),
     "host name: parent domain, tagged");
  ok(is(ACCESS_CONNECT, "172.16.0.1", "mail.example.net.", "OK"), "host name: untagged domain");
  ok(is(ACCESS_CONNECT, "192.168.0.1", "ppp1.dialup.example.net", "RELAY"),
     "the address comes before the host name");
  ok(is(ACCESS_FROM, "joe@example.net", NULL, "OK"), "sender domain");
  ok(is(ACCESS_FROM, "spammer@anywhere.org", NULL, "DISCARD"), "user@");
  ok(is(ACCESS_FROM, "Spammer@Friend.ORG", NULL, "OK"), "exact address first, any case");
  ok(is(ACCESS_TO, "spammer@anywhere.org", NULL, NULL), "From: entries do not apply to To:");
  ok(is(ACCESS_TO, "a@sub.example.com", NULL, "ERROR:5.7.1:550 we do not deliver there"),
     "To: tag on a parent domain");
  ok(is(ACCESS_FROM, "a@sub.example.com", NULL, "REJECT"), "untagged domain for From:");
  ok(is(ACCESS_FROM, "", NULL, "ERROR:550 no bounces here"), "null sender as <>");
  ok(is(ACCESS_FROM, "a@other.org", NULL, NULL), "unknown sender: nothing");

  ok(rule("192.168.0.", "+RELAYCLIENT="), "tcp rules: IPv4 prefix as tcprules writes it");
  ok(rule("127.0.0.1", "+RELAYCLIENT="), "tcp rules: IPv4 address");
  ok(rule("2001:db8:", "+RELAYCLIENT="), "tcp rules: IPv6 prefix");
  ok(rule("10.", NULL), "tcp rules: only RELAY lines");
  ok(access_hostkeys() == 1, "Connect: and untagged domain keys: marked for qsmtpd's DNS lookup");

  errors = 0;
  put("control/access",
      "1.2.3.4 RELAY\n"
      "300.1 OK\n"
      "IPv6:2001:db8:::1 OK\n"
      "Connect:joe@example.org OK\n"
      "From:10.0.0.1 OK\n"
      "example.org MAYBE\n"
      "example.org ERROR:5.7.1:450 mixed classes\n"
      "example.org\n"
      "x.org OK\nX.org REJECT\n");
  ok(maps_access() == 1, "syntax errors: 1");
  ok(errors == 8, "one report per bad line");
  ok(is(ACCESS_CONNECT, "192.168.0.1", NULL, "RELAY"), "old map kept");
  ok(rule("1.2.3.4", NULL) && rule("127.0.0.1", "+RELAYCLIENT="), "old tcp rules kept");
  ok(access_hostkeys() == 1, "old marker kept");

  errors = 0;
  put("control/access", "From:<> OK\nIPv6:::1 RELAY\n");
  ok(maps_access() == 0 && errors == 0, "recompiles");
  ok(is(ACCESS_CONNECT, "::1", NULL, "RELAY"), "::1");
  ok(rule("::1", "+RELAYCLIENT=") && rule("127.0.0.1", NULL), "tcp rules replaced");
  ok(is(ACCESS_CONNECT, "not an ip", NULL, NULL), "garbage address: nothing");
  ok(access_hostkeys() == 0, "addresses only: no marker");

  put("control/access",
      "From:example.org REJECT\nTo:example.com OK\n10.1 RELAY\nuser@example.net OK\n");
  ok(maps_access() == 0 && access_hostkeys() == 0, "From:/To: domains and addresses: no marker");
  put("control/access", "10.1 RELAY\nconnect:Host.Example RELAY\n");
  ok(maps_access() == 0 && access_hostkeys() == 1, "one Connect: host name: marker");
  ok(is(ACCESS_CONNECT, "172.16.0.1", "a.host.example", "RELAY") &&
     is(ACCESS_CONNECT, "172.16.0.1", NULL, NULL), "the host name matches only when given");

  /* CIDR networks: the longest prefix wins, whatever form it is written in */
  errors = 0;
  put("control/access",
      "192.168.0.0/16       RELAY\n"
      "192.168.16.0/20      REJECT\n"
      "192.168.17           OK\n"
      "192.168.17.128/25    DISCARD\n"
      "Connect:10.0.0.0/8   REJECT\n"
      "10.64.0.0/10         OK\n"
      "IPv6:2001:db8::/32   RELAY\n"
      "IPv6:2001:db8:8000::/33 REJECT\n"
      "IPv6:2001:db8:8000::/48 OK\n");
  ok(maps_access() == 0 && errors == 0, "CIDR: compiles");
  ok(is(ACCESS_CONNECT, "192.168.1.1", NULL, "RELAY"), "CIDR: /16");
  ok(is(ACCESS_CONNECT, "192.168.31.255", NULL, "REJECT"), "CIDR: /20 inside the /16");
  ok(is(ACCESS_CONNECT, "192.168.32.0", NULL, "RELAY"), "CIDR: just past the /20");
  ok(is(ACCESS_CONNECT, "192.168.17.1", NULL, "OK"), "CIDR: an octet prefix inside the /20");
  ok(is(ACCESS_CONNECT, "192.168.17.200", NULL, "DISCARD"), "CIDR: /25 inside that");
  ok(is(ACCESS_CONNECT, "10.65.1.1", NULL, "OK"), "CIDR: untagged /10 beats tagged /8");
  ok(is(ACCESS_CONNECT, "10.128.0.1", NULL, "REJECT"), "CIDR: /8 outside the /10");
  ok(is(ACCESS_CONNECT, "::ffff:10.65.0.1", NULL, "OK"), "CIDR: IPv4-mapped address");
  ok(is(ACCESS_CONNECT, "2001:db8:1::1", NULL, "RELAY"), "CIDR: IPv6 /32");
  ok(is(ACCESS_CONNECT, "2001:db8:ffff::1", NULL, "REJECT"), "CIDR: IPv6 /33");
  ok(is(ACCESS_CONNECT, "2001:db8:8000::2", NULL, "OK"), "CIDR: IPv6 /48 inside the /33");
  ok(is(ACCESS_CONNECT, "2001:db9::1", NULL, NULL), "CIDR: other IPv6, nothing");
  ok(rule("192.168.", "+RELAYCLIENT="), "CIDR: tcp rules, /16 as an octet prefix");
  ok(rule("2001:db8:", "+RELAYCLIENT="), "CIDR: tcp rules, IPv6 /32 as a group prefix");

  errors = 0;
  put("control/access",
      "192.168.0.1/16 OK\n192.168.0.0/33 OK\n192.168.0.0/0 OK\n192.168/16 OK\n"
      "IPv6:2001:db8::1/32 OK\n10.0.0.0/x OK\n");
  ok(maps_access() == 1 && errors == 6, "CIDR: bits past the length, bad lengths, short address");

  errors = 0;
  put("control/access", "10.0.0.0/8 RELAY\n10 OK\n");
  ok(maps_access() == 1 && errors == 1, "CIDR: /8 and the octet prefix are one key");

  errors = 0;
  put("control/access", "Connect:172.16.4.0/22 RELAY\n");
  ok(maps_access() == 0 && errors == 0, "CIDR: /22 compiles");
  ok(rule("172.16.4.", "+RELAYCLIENT=") && rule("172.16.7.", "+RELAYCLIENT=") &&
     rule("172.16.8.", NULL) && rule("172.16.3.", NULL), "CIDR: tcp rules, /22 as four /24");
  ok(is(ACCESS_CONNECT, "172.16.6.9", NULL, "RELAY") &&
       is(ACCESS_CONNECT, "172.16.8.1", NULL, NULL),
     "CIDR: /22 lookup");
  ok(access_hostkeys() == 0, "CIDR: no host-name marker");

  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 111;
  return done_testing();
}
