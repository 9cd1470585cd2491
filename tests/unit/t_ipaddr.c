/* tests/unit/t_ipaddr.c: which client addresses count as loopback (the
 * control/authplaintext rule of qsmtpd and qpop3d). */
#include "tap.h"
#include "ipaddr.h"

int main(void)
{
  plan(22);
  ok(ipaddr_isloopback("127.0.0.1"), "127.0.0.1");
  ok(ipaddr_isloopback("127.0.0.2"), "127.0.0.2: all of 127.0.0.0/8");
  ok(ipaddr_isloopback("127.255.255.254"), "127.255.255.254");
  ok(ipaddr_isloopback("127.0.0.0"), "127.0.0.0");
  ok(ipaddr_isloopback("::1"), "::1");
  ok(ipaddr_isloopback("0:0:0:0:0:0:0:1"), "::1 written out");
  ok(ipaddr_isloopback("::ffff:127.0.0.1"), "IPv4-mapped 127.0.0.1");
  ok(ipaddr_isloopback("::FFFF:127.3.2.1"), "IPv4-mapped, upper case");
  ok(ipaddr_isloopback("::ffff:7f00:1"), "IPv4-mapped in hex");
  ok(!ipaddr_isloopback("128.0.0.1"), "128.0.0.1 is not");
  ok(!ipaddr_isloopback("10.127.0.1"), "10.127.0.1 is not");
  ok(!ipaddr_isloopback("192.0.2.127"), "192.0.2.127 is not");
  ok(!ipaddr_isloopback("::2"), "::2 is not");
  ok(!ipaddr_isloopback("::"), ":: is not");
  ok(!ipaddr_isloopback("::ffff:192.0.2.1"), "IPv4-mapped 192.0.2.1 is not");
  ok(!ipaddr_isloopback("::127.0.0.1"), "IPv4-compatible ::127.0.0.1 is not");
  ok(!ipaddr_isloopback("2001:db8::1"), "2001:db8::1 is not");
  ok(!ipaddr_isloopback("127.1"), "a short form is not an address");
  ok(!ipaddr_isloopback("127.0.0.1x"), "trailing garbage");
  ok(!ipaddr_isloopback("127.example.org"), "a name starting with 127. is not");
  ok(!ipaddr_isloopback("unknown") && !ipaddr_isloopback(""), "unknown and empty");
  ok(!ipaddr_isloopback(NULL), "NULL");
  return done_testing();
}
