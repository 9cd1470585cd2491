/* tests/unit/u_qpop3d_cmd.c: qpop3d's parsing of client input (line
 * ends, command word and argument, message numbers, TOP's arguments) and
 * of the login request its root parent reads from the front end. */
#include <string.h>

#include <fmt.h>

#include "tap.h"
#include "addr.h"
#include "qpop3d.h"

static struct pop_cmd c;
static char line[POP_MAX_CMDLINE + 1];

static void parse(const char *s)
{
  size_t len = strlen(s);

  memcpy(line, s, len);
  pop_cmd_parse(&c, line, len);
}

int main(void)
{
  unsigned long n = 7;
  char first[FMT_ULONG + 2]; /* as qpop3d_session.c */
  char req[POP_MAX_REQUEST];
  char pass[POP_MAX_REQUEST];
  struct pop_req q;
  struct pop_req r;
  size_t len;

  plan(52);

  ok(pop_line_chomp("USER a\r\n", 8) == 6, "CRLF removed");
  ok(pop_line_chomp("USER a\n", 7) == 6, "bare LF removed");
  ok(pop_line_chomp("USER a", 6) == 6, "last line without LF kept");
  ok(pop_line_chomp("a\r\r\n", 4) == 2, "only one CR goes with the LF");
  ok(pop_line_chomp("\n", 1) == 0 && pop_line_chomp("", 0) == 0, "empty lines");

  parse("USER bob@example.org");
  ok(strcmp(c.word, "user") == 0 && strcmp(c.arg, "bob@example.org") == 0, "USER and its argument");
  parse("sTaT");
  ok(strcmp(c.word, "stat") == 0 && c.arg[0] == '\0', "mixed case, no argument");
  parse("PASS  two  blanks ");
  ok(strcmp(c.word, "pass") == 0 && strcmp(c.arg, " two  blanks ") == 0,
     "only the first blank separates: a password keeps its blanks");
  parse("LIST ");
  ok(strcmp(c.word, "list") == 0 && c.arg[0] == '\0' && c.arg == line + 5, "a trailing blank");
  parse("");
  ok(c.word[0] == '\0' && c.arg[0] == '\0', "empty line");
  parse(" 1");
  ok(c.word[0] == '\0' && strcmp(c.arg, "1") == 0, "no word before the blank");
  parse("ABCDEFG x");
  ok(strcmp(c.word, "abcdefg") == 0 && strcmp(c.arg, "x") == 0, "a 7-byte word fits");
  parse("ABCDEFGH x");
  ok(c.word[0] == '\0', "an 8-byte word is refused (its argument means nothing)");
  parse("QUITTING");
  ok(c.word[0] == '\0', "no prefix match for a long word");
  parse("US\tER");
  ok(strcmp(c.word, "us\ter") == 0, "a tab is not a separator");
  parse("PASS a");
  ok(line[6] == '\0', "the line is NUL-terminated at len");

  ok(pop_scan_number("1", &n) && n == 1, "1");
  ok(pop_scan_number("007", &n) && n == 7, "leading zeros");
  ok(pop_scan_number("0", &n) && n == 0, "0 is a number (LIST 0 gets no such message)");
  n = 5;
  ok(!pop_scan_number("", &n) && n == 5, "empty refused, n untouched");
  ok(!pop_scan_number("-1", &n) && !pop_scan_number("+1", &n), "no sign");
  ok(!pop_scan_number("1 ", &n) && !pop_scan_number(" 1", &n), "no blanks");
  ok(!pop_scan_number("1x", &n), "trailing garbage");
  ok(pop_scan_number("18446744073709551615", &n) && n == 18446744073709551615UL,
     "ULONG_MAX");
  ok(!pop_scan_number("18446744073709551616", &n), "ULONG_MAX + 1 overflows");
  ok(!pop_scan_number("99999999999999999999999", &n), "far too large");

  ok(pop_top_split("3 10", first, sizeof first, &n) == 1 && strcmp(first, "3") == 0 && n == 10,
     "TOP 3 10");
  ok(pop_top_split("3", first, sizeof first, &n) == 0, "TOP without lines");
  ok(pop_top_split("3 x", first, sizeof first, &n) == 0, "TOP with bad lines");
  ok(pop_top_split("3 10 1", first, sizeof first, &n) == 0, "TOP with a third argument");
  ok(pop_top_split(" 10", first, sizeof first, &n) == -1, "TOP without a message");
  ok(pop_top_split("123456789012345678901234567890123456789012345 0", first, sizeof first, &n) == -1,
     "TOP with a message number longer than its array");
  ok(pop_top_split("x 0", first, sizeof first, &n) == 1 && strcmp(first, "x") == 0,
     "the message is checked by the caller");

  q.kind = 'S';
  q.proto = "TLSv1.3";
  q.cipher = "AES";
  q.user = "bob@a.b";
  q.ulen = 7;
  q.pass = "pw";
  q.plen = 2;
  len = pop_req_fmt(req, &q);
  ok(len == 26 && memcmp(req, "\0\x18S" "TLSv1.3\0AES\0bob@a.b\0pw\0", 26) == 0,
     "request record as documented");
  ok(pop_req_parse(&r, req + 2, len - 2) == 1 && r.kind == 'S' && strcmp(r.proto, "TLSv1.3") == 0 &&
       strcmp(r.cipher, "AES") == 0 && r.ulen == 7 && strcmp(r.user, "bob@a.b") == 0 &&
       r.plen == 2 && strcmp(r.pass, "pw") == 0,
     "and back");
  q.kind = 'P';
  q.proto = q.cipher = "";
  q.pass = "";
  q.plen = 0;
  len = pop_req_fmt(req, &q);
  ok(len > 0 && pop_req_parse(&r, req + 2, len - 2) == 1 && r.kind == 'P' && r.proto[0] == '\0' &&
       r.plen == 0,
     "P with empty names and password");
  memset(pass, 'x', sizeof pass);
  q.pass = pass;
  q.plen = POP_MAX_REQUEST - 2 - 5 - 7;
  ok(pop_req_fmt(req, &q) == POP_MAX_REQUEST, "the largest request fits");
  q.plen++;
  ok(pop_req_fmt(req, &q) == 0, "one byte more does not");
  ok(pop_req_parse(&r, "X\0\0u\0p\0", 7) == 0, "unknown kind refused");
  ok(pop_req_parse(&r, "P\0\0u\0p", 6) == 0, "password without NUL refused");
  ok(pop_req_parse(&r, "P\0\0u\0p\0x", 8) == 0, "bytes after the password refused");
  ok(pop_req_parse(&r, "P\0\0u\0", 5) == 0 && pop_req_parse(&r, "", 0) == 0, "fields missing");
  memset(req, 'a', sizeof req);
  req[0] = 'P';
  req[1] = req[2] = '\0';
  req[3 + ADDR_MAX + 1] = '\0';
  req[3 + ADDR_MAX + 2] = '\0';
  ok(pop_req_parse(&r, req, 3 + ADDR_MAX + 3) == 0, "a user over ADDR_MAX refused");
  req[3 + ADDR_MAX] = '\0';
  req[3 + ADDR_MAX + 1] = '\0';
  ok(pop_req_parse(&r, req, 3 + ADDR_MAX + 2) == 1 && r.ulen == ADDR_MAX, "a user of ADDR_MAX");
  memset(req, 'a', sizeof req);
  req[0] = 'S';
  req[1 + POP_MAX_TLS_NAME] = req[2 + POP_MAX_TLS_NAME] = '\0';
  req[3 + POP_MAX_TLS_NAME] = req[4 + POP_MAX_TLS_NAME] = '\0';
  ok(pop_req_parse(&r, req, 5 + POP_MAX_TLS_NAME) == 0, "a TLS name of POP_MAX_TLS_NAME refused");

  /* AUTH PLAIN responses (RFC 4616) */
  {
    const char *u;
    const char *pw;
    size_t ul;
    size_t pl;
    ok(pop_sasl_plain("\0bob@a.b\0pw", 11, &u, &ul, &pw, &pl) == 1 && ul == 7 &&
         memcmp(u, "bob@a.b", 7) == 0 && pl == 2 && memcmp(pw, "pw", 2) == 0,
       "PLAIN without authzid");
    ok(pop_sasl_plain("bob@a.b\0bob@a.b\0pw", 18, &u, &ul, &pw, &pl) == 1 && ul == 7 && pl == 2,
       "PLAIN with authzid = login");
    ok(pop_sasl_plain("Bob@A.B\0bob@a.b\0pw", 18, &u, &ul, &pw, &pl) == 1 && ul == 7 &&
         memcmp(u, "bob@a.b", 7) == 0,
       "PLAIN with authzid = login in another case: the login");
    ok(pop_sasl_plain("eve@a.b\0bob@a.b\0pw", 18, &u, &ul, &pw, &pl) == -1,
       "PLAIN with another authzid refused");
    ok(pop_sasl_plain("bob@a\0bob@a.b\0pw", 16, &u, &ul, &pw, &pl) == -1,
       "PLAIN with a prefix of the login as authzid refused");
    ok(pop_sasl_plain("\0bob@a.b", 8, &u, &ul, &pw, &pl) == 0 &&
         pop_sasl_plain("", 0, &u, &ul, &pw, &pl) == 0 &&
         pop_sasl_plain("\0\0pw", 4, &u, &ul, &pw, &pl) == 0,
       "PLAIN without a second NUL or with an empty login refused");
    ok(pop_sasl_plain("\0bob@a.b\0", 9, &u, &ul, &pw, &pl) == 0 &&
         pop_sasl_plain("\0bob@a.b\0p\0w", 12, &u, &ul, &pw, &pl) == 0,
       "PLAIN with an empty password or a NUL in it refused");
  }
  return done_testing();
}
