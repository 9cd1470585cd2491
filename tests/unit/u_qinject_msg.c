/* u_qinject_msg: the CRLF conversion and the Received: line of queued messages. */
#include <string.h>

#include "tap.h"
#include "qinject_msg.h"

/* Runs crlf_strip over the chunks of s (cut after each offset in cuts,
 * ending with 0) and compares the stream it gives with want. */
static int stream(const char *s, const size_t *cuts, const char *want)
{
  char out[256];
  char chunk[256];
  size_t o = 0;
  size_t from = 0;
  size_t len = strlen(s);
  int cr = 0;

  for (;;) {
    size_t to = *cuts != 0 ? *cuts++ : len;
    size_t n;
    int lead;

    memcpy(chunk, s + from, to - from);
    n = crlf_strip(chunk, to - from, &cr, &lead);
    if (lead) out[o++] = '\r';
    memcpy(out + o, chunk, n);
    o += n;
    from = to;
    if (to == len) break;
  }
  if (cr) out[o++] = '\r';
  return o == strlen(want) && memcmp(out, want, o) == 0;
}

int main(void)
{
  static const size_t whole[] = {0};
  static const size_t at_cr[] = {2, 0};      /* "a\r" | "\nb" */
  static const size_t lone_cr[] = {2, 0};    /* "a\r" | "b" */
  static const size_t each[] = {1, 2, 3, 4, 5, 0};
  char line[RECEIVED_LINE_MAX];
  size_t n;

  plan(10);
  ok(stream("a\r\nb\r\n", whole, "a\nb\n"), "CRLF becomes LF");
  ok(stream("a\rb\n", whole, "a\rb\n"), "a lone CR stays");
  ok(stream("a\r\nb", at_cr, "a\nb"), "CRLF cut between CR and LF");
  ok(stream("a\rb", lone_cr, "a\rb"), "a lone CR at the end of a chunk is put back");
  ok(stream("a\r", whole, "a\r"), "a CR at the very end stays");
  ok(stream("\r\r\n\r\n\r", each, "\r\n\n\r"), "byte by byte");
  ok(stream("", whole, ""), "nothing");

  n = received_line(line, 42, 1000, 0, NULL);
  ok(n == strlen("Received: (qmta 42 invoked by uid 1000); Thu, 01 Jan 1970 00:00:00 +0000\n") &&
         memcmp(line, "Received: (qmta 42 invoked by uid 1000); Thu, 01 Jan 1970 00:00:00 +0000\n", n) == 0,
     "the Received: line");
  n = received_line(line, 4294967295UL, 4294967295UL, (time_t)253402300799LL,
                    "0123456789012345678901234567890");
  ok(n > 0 && n <= RECEIVED_LINE_MAX && line[n - 1] == '\n', "the longest numbers fit");
  n = received_line(line, 42, 1000, 0, "HKZ1Q0B7W83F2K");
  ok(n == strlen("Received: (qmta 42 invoked by uid 1000 id HKZ1Q0B7W83F2K); "
                 "Thu, 01 Jan 1970 00:00:00 +0000\n") &&
         memcmp(line, "Received: (qmta 42 invoked by uid 1000 id HKZ1Q0B7W83F2K); ", 59) == 0,
     "the Received: line with the queue id");
  return done_testing();
}
