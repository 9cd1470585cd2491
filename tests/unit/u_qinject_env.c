/* u_qinject_env: the qmail-queue envelope reader of qinject. */
#include <string.h>

#include <buffer.h>
#include <stralloc.h>

#include "tap.h"
#include "addr.h"
#include "qinject_env.h"

static stralloc out;
static size_t rcpts;

/* Runs env_read on the len bytes of s; returns its exit code. */
static int run(const char *s, size_t len)
{
  buffer b;

  buffer_frombuf(&b, s, len);
  out.len = 0;
  return env_read(&b, &out, 1700000000ULL, &rcpts);
}
#define RUN(lit) run(lit, sizeof lit - 1)

static int out_is(const char *lit, size_t len)
{
  return out.len == len && memcmp(out.s, lit, len) == 0;
}
#define OUT_IS(lit) out_is(lit, sizeof lit - 1)

int main(void)
{
  char big[1200];
  size_t i;

  plan(28);
  ok(RUN("Fa@b.example\0Tc@d.example\0\0") == QQ_OK, "plain envelope");
  ok(OUT_IS("T1700000000\0Fa@b.example\0Rc@d.example\0") && rcpts == 1, "records as in queue.h");
  ok(RUN("F\0Tc@d.example\0Te@f.example\0\0") == QQ_OK && rcpts == 2, "null sender, two rcpts");
  ok(RUN("Fa@b.example\0VHDRS\0Xid-1\0Tc@d.example\0NSUCCESS,FAILURE\0"
         "Orfc822;c@d.example\0Tx@y.example\0NNEVER\0\0") == QQ_OK, "DSN records");
  ok(OUT_IS("T1700000000\0Fa@b.example\0VHDRS\0Xid-1\0Rc@d.example\0NSUCCESS,FAILURE\0"
            "Orfc822;c@d.example\0Rx@y.example\0NNEVER\0"), "DSN records kept in order");
  ok(RUN("Fa@b.example\0Tc@d.example\0NNEVER\0Tx@y.example\0Tc@D.Example\0NSUCCESS\0"
         "Orfc822;c@d.example\0TC@d.example\0\0") == QQ_OK && rcpts == 3,
     "a recipient named twice (domain in another case) is kept once");
  ok(OUT_IS("T1700000000\0Fa@b.example\0Rc@d.example\0NNEVER\0Rx@y.example\0"
            "RC@d.example\0"), "with the N of its first naming; another local part's case stays");
  ok(RUN("Fa@b.example\0Tc@d.example\0Tc@d.example\0NNEVER\0NNEVER\0\0") == QQ_ENVELOPE,
     "a repeated recipient's records are still checked");
  ok(env_rcpt_seen(&out, "x@Y.EXAMPLE", 11) == 0 && RUN("Fa@b.example\0Tx@y.example\0\0") == QQ_OK &&
     env_rcpt_seen(&out, "x@Y.EXAMPLE", 11) == 1 && env_rcpt_seen(&out, "X@y.example", 11) == 0,
     "env_rcpt_seen: the domain in any case, the local part as it is");
  ok(RUN("Tc@d.example\0\0") == QQ_ENVELOPE, "F must come first");
  ok(RUN("\0") == QQ_ENVELOPE, "empty envelope");
  ok(RUN("Fa@b.example\0\0") == QQ_ENVELOPE, "no recipient");
  ok(RUN("Fa@b.example\0Tc@d.example\0") == QQ_READ, "missing final record");
  ok(RUN("Fa@b.example\0Tc@d.exa") == QQ_READ, "truncated record");
  ok(RUN("") == QQ_READ, "nothing at all");
  ok(RUN("Fa@b.example\0Tc@d.example\0Qx\0\0") == QQ_ENVELOPE, "unknown tag");
  ok(RUN("Fa@b.example\0Tc@d.example\0VFULL\0\0") == QQ_ENVELOPE, "V after T");
  ok(RUN("Fa@b.example\0NNEVER\0Tc@d.example\0\0") == QQ_ENVELOPE, "N before any T");
  ok(RUN("Fa@b.example\0Tc@d.example\0NNEVER\0NNEVER\0\0") == QQ_ENVELOPE, "N twice");
  ok(RUN("Fa@b.example\0Tc@d.example\0NSOMETIMES\0\0") == QQ_ENVELOPE, "bad NOTIFY");
  ok(RUN("Fa@b.example\0VPART\0Tc@d.example\0\0") == QQ_ENVELOPE, "bad RET");
  ok(RUN("Fa@b.example\0Fa@b.example\0Tc@d.example\0\0") == QQ_ENVELOPE, "F twice");
  ok(RUN("Fa@b..example\0Tc@d.example\0\0") == QQ_ENVELOPE, "malformed sender");
  ok(RUN("Fa@b.example\0Tc d@e..f\0\0") == QQ_ENVELOPE, "malformed recipient");
  ok(RUN("Fa@b.example\0T\0\0") == QQ_ENVELOPE, "empty recipient");

  big[0] = 'T';
  for (i = 1; i < sizeof big - 1; i++) big[i] = 'a';
  big[sizeof big - 1] = 0;
  {
    stralloc in = {0};
    stralloc_copyb(&in, "Fa@b.example\0", 13);
    stralloc_catb(&in, big, sizeof big);
    stralloc_catb(&in, "\0", 1);
    ok(run(in.s, in.len) == QQ_ADDR_TOO_LONG, "recipient record over the limit: 11");
    in.len = 0;
    stralloc_copyb(&in, "Fa@b.example\0T", 14);
    for (i = 0; i < 330; i++) stralloc_catb(&in, "a", 1);
    stralloc_catb(&in, "@b.example\0\0", 12);
    ok(run(in.s, in.len) == QQ_ADDR_TOO_LONG, "address over 320 bytes: 11");
    stralloc_free(&in);
  }
  {
    struct addr a;
    ok(env_addr_check(&a, "", 0, 1) == QQ_OK && env_addr_check(&a, "", 0, 0) == QQ_ENVELOPE,
       "null address only as sender");
  }
  stralloc_free(&out);
  return done_testing();
}
