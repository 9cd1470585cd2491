/* tests/unit/u_qremote_dns.c: qremote's readers of DNS answers
 * (qremote_dns.c qdns_mx_answer, qdns_ip_answer, qdns_tlsa_answer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stralloc.h>

#include "tap.h"
#include "dnsq.h"
#include "qremote.h"

static struct dnsq_rr rr[8];
static struct dnsq_answer ans;

static void start(int status)
{
  memset(&ans, 0, sizeof ans);
  ans.status = status;
  ans.rr = rr;
}

static void add(unsigned int type, unsigned int pref, const char *data, size_t len)
{
  rr[ans.count].type = type;
  rr[ans.count].pref = pref;
  rr[ans.count].data = data;
  rr[ans.count].len = len;
  ++ans.count;
}
#define ADD(t, p, lit) add(t, p, lit, sizeof lit - 1)

int main(void)
{
  struct mx *mx;
  size_t count;
  stralloc out = {0};

  plan(14);
  qdns_init();
  start(DNSQ_OK);
  ADD(DNSQ_T_MX, 10, "MX1.example.org");
  ADD(DNSQ_T_MX, 5, "mx2.example.org");
  ADD(DNSQ_T_CNAME, 0, "foo.example.org");
  ok(qdns_mx_answer(&ans, &mx, &count) == QDNS_OK && count == 2, "two MX, a CNAME skipped");
  ok(count == 2 && mx[0].pref == 5 && strcmp(mx[0].name, "mx2.example.org") == 0 &&
         mx[1].pref == 10 && strcmp(mx[1].name, "mx1.example.org") == 0,
     "sorted by preference, names lowercased");
  free(mx);
  start(DNSQ_OK);
  ADD(DNSQ_T_MX, 0, "");
  ok(qdns_mx_answer(&ans, &mx, &count) == QDNS_NULLMX && mx == NULL, "null MX");
  start(DNSQ_NXDOMAIN);
  ok(qdns_mx_answer(&ans, &mx, &count) == QDNS_NX, "NXDOMAIN");
  start(DNSQ_NODATA);
  ok(qdns_mx_answer(&ans, &mx, &count) == QDNS_OK && count == 0 && mx == NULL, "no MX");

  start(DNSQ_OK);
  ADD(DNSQ_T_A, 0, "\300\0\2\1");
  ok(qdns_ip_answer(&out, &ans, DNSQ_T_A) == QDNS_OK && out.len == 16 &&
         memcmp(out.s, "\0\0\0\0\0\0\0\0\0\0\377\377\300\0\2\1", 16) == 0,
     "an A record as ::ffff:192.0.2.1");
  start(DNSQ_OK);
  ADD(DNSQ_T_AAAA, 0, "\40\1\15\270\0\0\0\0\0\0\0\0\0\0\0\1");
  ADD(DNSQ_T_AAAA, 0, "\40\1\15\270\0\0\0\0\0\0\0\0\0\0\0\2");
  ok(qdns_ip_answer(&out, &ans, DNSQ_T_AAAA) == QDNS_OK && out.len == 48, "AAAA appended");
  start(DNSQ_OK);
  ADD(DNSQ_T_A, 0, "\300\0\2");
  ok(qdns_ip_answer(&out, &ans, DNSQ_T_A) == QDNS_OK && out.len == 48, "a short A skipped");
  start(DNSQ_NXDOMAIN);
  ok(qdns_ip_answer(&out, &ans, DNSQ_T_A) == QDNS_NX && out.len == 48, "NXDOMAIN");

  out.len = 0;
  count = 0;
  start(DNSQ_OK);
  ADD(DNSQ_T_TLSA, 0, "\3\1\1\xab\xcd");
  ADD(DNSQ_T_TLSA, 0, "\1\1\1\xab\xcd");      /* PKIX-EE: unusable for SMTP */
  ADD(DNSQ_T_TLSA, 0, "\2\0\2\x01");
  ADD(DNSQ_T_TLSA, 0, "\3\2\1\x01");          /* selector 2: unknown */
  ADD(DNSQ_T_TLSA, 0, "\3\1\1");              /* no data */
  ok(qdns_tlsa_answer(&out, &count, &ans) == QDNS_OK && count == 2, "two usable TLSA records");
  ok(out.len == sizeof "3 1 1 abcd\0002 0 2 01" &&
         memcmp(out.s, "3 1 1 abcd\0002 0 2 01", out.len) == 0,
     "as qtls-client -T wants them");
  ok(qdns_random(1) == 0, "random below 1");
  {
    int seen[3] = {0};
    for (unsigned int i = 0; i < 300; ++i) seen[qdns_random(3)]++;
    ok(seen[0] > 0 && seen[1] > 0 && seen[2] > 0, "random covers its range");
  }
  start(DNSQ_OK);
  ok(qdns_mx_answer(&ans, &mx, &count) == QDNS_OK && count == 0, "an empty answer");
  stralloc_free(&out);
  return done_testing();
}
