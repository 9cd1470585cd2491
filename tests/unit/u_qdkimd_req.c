/* tests/unit/u_qdkimd_req.c: qdkimd's request parser (dkimproto.h). */
#include <string.h>
#include "tap.h"
#include "qdkimd.h"

static char buf[DKIMP_REQ_MAX];

static int parse(struct dkreq *r, const char *s)
{
  size_t n = strlen(s);

  memcpy(buf, s, n);
  return dkreq_parse(r, buf, n);
}

int main(void)
{
  struct dkreq r;

  plan(10);
  ok(parse(&r, "op sign\noff 24\nlen 100\n\n") == 0 && r.op == DKREQ_SIGN && r.off == 24 &&
     r.len == 100 && r.id[0] == '\0', "sign");
  ok(parse(&r, "op verify\noff 24\nlen 5\nid mx.example.org\nip 192.0.2.7\nhelo h.example\n"
               "from a@b.example\nspf pass\nspfd b.example\nspfhelo 1\nfuture x\n\n") == 0 &&
     r.op == DKREQ_VERIFY && strcmp(r.id, "mx.example.org") == 0 && strcmp(r.ip, "192.0.2.7") == 0 &&
     strcmp(r.helo, "h.example") == 0 && strcmp(r.from, "a@b.example") == 0 &&
     strcmp(r.spf, "pass") == 0 && strcmp(r.spfd, "b.example") == 0 && r.spfhelo == 1,
     "verify with every key, an unknown one skipped");
  ok(parse(&r, "op verify\noff 24\nlen 5\nfrom \n\n") == 0 && r.from[0] == '\0', "empty value");
  ok(parse(&r, "op sign\noff 24\nlen 100\n") == -1, "no final empty line");
  ok(parse(&r, "op sign\nlen 100\n\n") == -1, "no off");
  ok(parse(&r, "op sign\noff 24\n\n") == -1, "no len");
  ok(parse(&r, "op frob\noff 24\nlen 1\n\n") == -1, "unknown op");
  ok(parse(&r, "op sign\noff 2x\nlen 1\n\n") == -1, "bad number");
  ok(parse(&r, "op sign\noff 99999999999999999999\nlen 1\n\n") == -1, "number too long");
  ok(parse(&r, "op sign\noff 24\nlen 1\nnovalue\n\n") == -1, "line without a value");
  return done_testing();
}
