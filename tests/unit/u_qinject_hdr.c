/* u_qinject_hdr: the header filter of local mail drops Authentication-Results
 * fields that name us, in any chunking, and passes everything else. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "qinject_hdr.h"

static char got[20000];
static size_t gotlen;

static void out(const char *s, size_t len)
{
  if (len > sizeof got - gotlen) len = sizeof got - gotlen;
  memcpy(got + gotlen, s, len);
  gotlen += len;
}

/* s through the filter in chunks of step bytes: 1 if the output is want */
static int check(const char *s, size_t step, const char *want)
{
  static struct hdrfilter h;
  size_t len = strlen(s);
  size_t i;

  gotlen = 0;
  hdr_init(&h, "mx.example.org", out);
  for (i = 0; i < len; i += step) hdr_feed(&h, s + i, len - i < step ? len - i : step);
  hdr_end(&h);
  if (gotlen == strlen(want) && memcmp(got, want, gotlen) == 0) return 1;
  printf("# got: %.*s\n", (int)gotlen, got);
  return 0;
}

static int all_steps(const char *s, const char *want)
{
  size_t step;

  for (step = 1; step <= strlen(s) + 1; step++)
    if (!check(s, step, want)) return 0;
  return 1;
}

int main(void)
{
  static char big[12000];
  static char bigwant[100];

  plan(8);
  ok(all_steps("Subject: hi\nAuthentication-Results: mx.example.org; dkim=pass\n\tspf=pass\n"
               "From: a@b\n\nAuthentication-Results: mx.example.org; body\n",
               "Subject: hi\nFrom: a@b\n\nAuthentication-Results: mx.example.org; body\n"),
     "ours is dropped with its continuation, the body is left alone");
  ok(all_steps("authentication-results :  (c) MX.Example.Org; auth=pass\nX: y\n\nb\n",
               "X: y\n\nb\n"),
     "any case, blanks and a comment before the id");
  ok(all_steps("Authentication-Results: other.example; dkim=pass\n\nb\n",
               "Authentication-Results: other.example; dkim=pass\n\nb\n"),
     "another host's is kept");
  ok(all_steps("X-Authentication-Results: mx.example.org; dkim=pass\n\n",
               "X-Authentication-Results: mx.example.org; dkim=pass\n\n"),
     "another field's name is not ours");
  ok(all_steps("Subject: no body\nAuthentication-Results: mx.example.org; x=y",
               "Subject: no body\n"),
     "at the end of a message with no body");
  ok(all_steps("Subject: a\n\tb\nSub", "Subject: a\n\tb\nSub"), "a cut field name passes");
  memcpy(big, "Authentication-Results: mx.example.org; ", 40);
  memset(big + 40, 'x', sizeof big - 40 - 20);
  memcpy(big + sizeof big - 20, "\n\tmore\nX: y\n\nb\n", 16);
  strcpy(bigwant, "X: y\n\nb\n");
  ok(check(big, 1000, bigwant), "one too long to read is dropped whole");
  ok(all_steps("A: 1\n\nAuthentication-Results: mx.example.org; in the body\n",
               "A: 1\n\nAuthentication-Results: mx.example.org; in the body\n"),
     "nothing in the body is touched");
  return done_testing();
}
