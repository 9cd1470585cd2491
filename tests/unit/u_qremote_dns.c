/* tests/unit/u_qremote_dns.c: qremote's walkers of DNS answers
 * (qremote_dns.c dnsq_mx_packet, dnsq_ip_packet). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dns.h>
#include <stralloc.h>

#include "tap.h"
#include "qremote.h"

static char pkt[1024];
static unsigned int len;

/* A reply header and the question "example.org", type t; rcode, answer count. */
static void start(const char t[2], int rcode, unsigned int answers)
{
  static const char q[] = "\7example\3org";

  memcpy(pkt, "\1\2\201", 3);
  pkt[3] = (char)(0x80 | rcode);
  memcpy(pkt + 4, "\0\1", 2);
  pkt[6] = (char)(answers >> 8);
  pkt[7] = (char)answers;
  memcpy(pkt + 8, "\0\0\0\0", 4);
  memcpy(pkt + 12, q, sizeof q); /* with its final zero label */
  len = 12 + sizeof q;
  memcpy(pkt + len, t, 2);
  memcpy(pkt + len + 2, DNS_C_IN, 2);
  len += 4;
}

/* An answer for the name of the question (a pointer to offset 12). */
static void answer(const char t[2], const char *rdata, unsigned int rdlen)
{
  memcpy(pkt + len, "\300\14", 2);
  memcpy(pkt + len + 2, t, 2);
  memcpy(pkt + len + 4, DNS_C_IN, 2);
  memcpy(pkt + len + 6, "\0\0\16\20", 4);
  pkt[len + 10] = (char)(rdlen >> 8);
  pkt[len + 11] = (char)rdlen;
  memcpy(pkt + len + 12, rdata, rdlen);
  len += 12 + rdlen;
}
#define ANSWER(t, lit) answer(t, lit, sizeof lit - 1)

int main(void)
{
  struct mx *mx;
  size_t count;
  stralloc out = {0};

  plan(12);
  start(DNS_T_MX, 0, 3);
  ANSWER(DNS_T_MX, "\0\12\3MX1\7example\3org\0");
  ANSWER(DNS_T_MX, "\0\5\3mx2\300\14");
  ANSWER(DNS_T_CNAME, "\3foo\300\14");
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_OK && count == 2, "two MX, a CNAME skipped");
  ok(count == 2 && mx[0].pref == 5 && strcmp(mx[0].name, "mx2.example.org") == 0 &&
     mx[1].pref == 10 && strcmp(mx[1].name, "mx1.example.org") == 0,
     "sorted by preference, lowercased, compressed names read");
  free(mx);

  start(DNS_T_MX, 0, 1);
  ANSWER(DNS_T_MX, "\0\0\0");
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_NULLMX && mx == NULL, "null MX");
  start(DNS_T_MX, 3, 0);
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_NX, "NXDOMAIN");
  start(DNS_T_MX, 0, 0);
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_OK && count == 0, "no MX");
  start(DNS_T_MX, 0, 2);
  ANSWER(DNS_T_MX, "\0\12\3mx1\300\14");
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_TEMP && errno == EPROTO && mx == NULL,
     "fewer answers than counted: malformed");
  start(DNS_T_MX, 0, 65535);
  ok(dnsq_mx_packet(pkt, len, &mx, &count) == DNSQ_TEMP && errno == EPROTO,
     "an answer count that cannot fit: malformed at once");
  ok(dnsq_mx_packet(pkt, 20, &mx, &count) == DNSQ_TEMP && errno == EPROTO, "cut question");

  start(DNS_T_A, 0, 2);
  ANSWER(DNS_T_A, "\300\0\2\1");
  ANSWER(DNS_T_A, "\300\0\2");
  if (!stralloc_copys(&out, "")) return 1;
  ok(dnsq_ip_packet(&out, pkt, len, DNS_T_A) == DNSQ_OK && out.len == 16 &&
     memcmp(out.s, "\0\0\0\0\0\0\0\0\0\0\377\377\300\0\2\1", 16) == 0,
     "A as ::ffff:192.0.2.1, a short one skipped");
  start(DNS_T_AAAA, 0, 1);
  ANSWER(DNS_T_AAAA, "\40\1\15\270\0\0\0\0\0\0\0\0\0\0\0\1");
  ok(dnsq_ip_packet(&out, pkt, len, DNS_T_AAAA) == DNSQ_OK && out.len == 32 &&
     memcmp(out.s + 16, "\40\1\15\270", 4) == 0, "AAAA appended");
  start(DNS_T_A, 0, 3);
  ANSWER(DNS_T_A, "\300\0\2\2");
  ANSWER(DNS_T_A, "\300\0\2\3");
  ANSWER(DNS_T_A, "\300\0\2\4");
  len -= 4;
  pkt[len - 1] = 4; /* the third one's rdata is missing */
  ok(dnsq_ip_packet(&out, pkt, len, DNS_T_A) == DNSQ_TEMP && errno == EPROTO && out.len == 32,
     "a malformed answer adds none of its addresses");
  start(DNS_T_A, 3, 0);
  ok(dnsq_ip_packet(&out, pkt, len, DNS_T_A) == DNSQ_NX && out.len == 32, "NXDOMAIN");
  stralloc_free(&out);
  return done_testing();
}
