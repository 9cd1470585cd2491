/* Unit tests of the DATA/BDAT state machine (qsmtpd/qsmtpd_data.c). */
#include <string.h>

#include "tap.h"
#include "qsmtpd.h"

static char got[8192];
static size_t gotlen;

static void put(void *cookie, const char *s, size_t len)
{
  (void)cookie;
  if (gotlen + len <= sizeof got) {
    memcpy(got + gotlen, s, len);
    gotlen += len;
  }
}

/* the drop hook of the A-R tests: drops a field whose value starts " ours" */
static int drop_ours(void *cookie, const char *field, size_t len)
{
  const char *colon = memchr(field, ':', len);

  (void)cookie;
  return colon != NULL && (size_t)(field + len - colon) > 5 && memcmp(colon + 1, " ours", 5) == 0;
}
static int (*drop_hook)(void *cookie, const char *field, size_t len);

/* the missing hook: "D\n" and "M\n" for the fields not seen; calls counted */
static int missing_calls;
static size_t add_missing(void *cookie, int seen, const char **out)
{
  static char buf[8];
  size_t n = 0;

  (void)cookie;
  missing_calls++;
  if (!(seen & DATA_SEEN_DATE)) {
    buf[n++] = 'D';
    buf[n++] = '\n';
  }
  if (!(seen & DATA_SEEN_MSGID)) {
    buf[n++] = 'M';
    buf[n++] = '\n';
  }
  *out = buf;
  return n;
}
static size_t (*missing_hook)(void *cookie, int seen, const char **out);

/* Runs in through the machine in one piece (or one byte at a time). */
static struct smtpdata d;
static size_t run(int mode, int barelf, const char *in, size_t len, int bytewise)
{
  size_t used = 0;

  gotlen = 0;
  smtpdata_init(&d, mode, barelf, put, NULL);
  d.drop = drop_hook;
  d.missing = missing_hook;
  missing_calls = 0;
  if (bytewise) {
    while (used < len && !d.done) used += smtpdata_feed(&d, in + used, 1);
  } else {
    used = smtpdata_feed(&d, in, len);
  }
  smtpdata_finish(&d);
  got[gotlen] = '\0';
  return used;
}

static int is(const char *want)
{
  return gotlen == strlen(want) && memcmp(got, want, gotlen) == 0;
}

/* Each smuggling variant followed by a second "message" and the real end. */
static int smuggle(const char *variant, int barelf)
{
  char in[256];
  size_t n;
  size_t used;

  strcpy(in, "Subject: a\r\n\r\nfirst");
  strcat(in, variant);
  strcat(in, "MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nsecond\r\n.\r\nNEXT");
  n = strlen(in);
  used = run(DATA_DOT, barelf, in, n, 0);
  /* exactly one end: the real one, right before NEXT */
  return d.done && used == n - 4 && d.bare;
}

int main(void)
{
  const char *in;
  size_t used;
  int bytewise;

  plan(52);

  for (bytewise = 0; bytewise < 2; bytewise++) {
    in = "Subject: x\r\n\r\nline1\r\n..dot\r\n.\r\nQUIT\r\n";
    used = run(DATA_DOT, 0, in, strlen(in), bytewise);
    ok(d.done && used == strlen(in) - 6 && is("Subject: x\n\nline1\n.dot\n") && !d.bare,
       bytewise ? "simple message, byte by byte" : "simple message");
  }
  in = ".\r\n";
  used = run(DATA_DOT, 0, in, 3, 0);
  ok(d.done && used == 3 && gotlen == 0, "empty message");
  in = "a\r\n.\r";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(!d.done, "no end without the final LF");

  ok(smuggle("\n.\n", 0), "LF.LF is no end");
  ok(smuggle("\r.\r", 0), "CR.CR is no end");
  ok(smuggle("\n.\r\n", 0), "LF.CRLF is no end");
  ok(smuggle("\r\n.\n", 0), "CRLF.LF is no end");
  ok(smuggle("\r\n.\r", 0), "CRLF.CR is no end");
  ok(smuggle("\n.\n", 1), "LF.LF is no end with barelf");
  ok(smuggle("\r\n.\n", 1), "CRLF.LF is no end with barelf");
  ok(smuggle("\r\n.\r", 1), "CRLF.CR is no end with barelf");

  in = "a\nb\r\n.\r\n";
  run(DATA_DOT, 1, in, strlen(in), 0);
  ok(d.done && is("a\nb\n"), "barelf: bare LF becomes a line end");
  in = "a\rb\r\n.\r\n";
  run(DATA_DOT, 1, in, strlen(in), 0);
  ok(d.done && is("a\nb\n"), "barelf: bare CR becomes a line end");
  in = "a\r\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.done && d.bare, "CR CR LF: the first CR is bare");
  in = "a\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.done && !d.bare, "clean CRLF message");

  in = "Return-Path: <evil@x>\r\n folded\r\nSubject: s\r\nreturn-path:<x>\r\n\r\n"
       "Return-Path: body\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("Subject: s\n\nReturn-Path: body\n"), "Return-Path removed from the header only");
  for (bytewise = 0; bytewise < 2; bytewise++) {
    in = "Return-Path : <a>\r\nX: 1\r\n\r\nb\r\n.\r\n";
    run(DATA_DOT, 0, in, strlen(in), bytewise);
    ok(is("X: 1\n\nb\n"), "Return-Path with blanks before the colon removed");
  }
  in = "Received: a\r\nDelivered-To: b\r\nreceived: c\r\nX-Received: d\r\n\r\nReceived: e\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.hops == 3, "hops counted in the header only");
  in = "no header here\r\nReturn-Path: x\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("no header here\nReturn-Path: x\n"), "a non-header line ends the header section");
  in = "A-Very-Long-Header-Name-Indeed: v\r\n\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("A-Very-Long-Header-Name-Indeed: v\n\nb\n"), "long field names pass");
  in = "Subject: x";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(is("Subject: x") && !d.bare, "BDAT: no final line end needed");
  in = "X: y\r\n\r\n.\r\n.\r\n";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(is("X: y\n\n.\n.\n") && !d.done, "BDAT: dots are data");
  in = "X: y\r\n\r\nab\r";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(d.bare, "BDAT: a CR at the very end is bare");
  /* CRLF split between two chunks */
  gotlen = 0;
  smtpdata_init(&d, DATA_RAW, 0, put, NULL);
  smtpdata_feed(&d, "a\r", 2);
  smtpdata_feed(&d, "\nb", 2);
  smtpdata_finish(&d);
  ok(gotlen == 3 && memcmp(got, "a\nb", 3) == 0 && !d.bare, "BDAT: CRLF across chunks");

  {
    /* a 998-byte line and 8-bit bytes pass unchanged */
    static char big[1200];
    memset(big, 'x', 998);
    big[0] = '\xe9';
    big[997] = '\xff';
    memcpy(big + 998, "\r\n.\r\n", 5);
    run(DATA_DOT, 0, big, 1003, 0);
    ok(d.done && gotlen == 999 && memcmp(got, big, 998) == 0 && got[998] == '\n',
       "998-byte 8-bit line byte-exact");
  }
  {
    /* more than one output buffer */
    static char big[20000];
    size_t i;
    for (i = 0; i + 4 < 19000; i += 4) memcpy(big + i, "ab\r\n", 4);
    memcpy(big + i, ".\r\n", 3);
    gotlen = 0;
    smtpdata_init(&d, DATA_DOT, 0, put, NULL);
    used = smtpdata_feed(&d, big, i + 3);
    smtpdata_finish(&d);
    ok(d.done && d.outbytes == i / 4 * 3 && used == i + 3, "long message through the buffer");
  }
  drop_hook = drop_ours;
  for (bytewise = 0; bytewise < 2; bytewise++) {
    in = "Authentication-Results: ours; dkim=pass\r\nX: 1\r\n"
         "authentication-results : ours;\r\n\tspf=pass\r\n"
         "Authentication-Results: theirs; spf=fail\r\n\tdkim=none\r\n\r\n"
         "Authentication-Results: ours; in the body\r\n.\r\n";
    run(DATA_DOT, 0, in, strlen(in), bytewise);
    ok(is("X: 1\nAuthentication-Results: theirs; spf=fail\n\tdkim=none\n\n"
          "Authentication-Results: ours; in the body\n"),
       bytewise ? "A-R: ours dropped, folded too, theirs kept (bytewise)"
                : "A-R: ours dropped, folded too, theirs kept, body untouched");
  }
  {
    static char big[6000];
    size_t n = 0;

    memcpy(big, "Authentication-Results: theirs;\r\n", 33);
    n = 33;
    while (n < 5900) { /* over DATA_HOLD_MAX once CRLF is LF */
      memcpy(big + n, " x=y\r\n", 6);
      n += 6;
    }
    memcpy(big + n, "Y: 2\r\n\r\nb\r\n.\r\n", 15);
    run(DATA_DOT, 0, big, n + 15, 0);
    ok(is("Y: 2\n\nb\n"), "A-R too long to read: dropped with its continuations");
  }
  in = "Subject: x\r\n\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("Subject: x\n\nb\n"), "A-R hook: other fields pass");
  drop_hook = NULL;

  in = "a\r\n..\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("a\n.\n"), "stuffed lone dot");
  in = "a\r\n.x\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("a\nx\n"), "RFC 5321 4.5.2: a leading dot is removed");
  in = "\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.done && is("\n"), "empty line then end");
  in = "\n.\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(!d.done && d.bare, "LF.LF at the start is no end");
  in = ".\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(!d.done, ".LF then .CRLF after a bare LF: no end");
  in = ".\r.\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.done && d.bare, ".CR. : bare CR, real end later");

  /* RFC 6409 8.2, 8.3: Date: and Message-ID: completed where the header ends */
  missing_hook = add_missing;
  for (bytewise = 0; bytewise < 2; bytewise++) {
    in = "Subject: x\r\n\r\nDate: body\r\n.\r\n";
    run(DATA_DOT, 0, in, strlen(in), bytewise);
    ok(is("Subject: x\nD\nM\n\nDate: body\n") && missing_calls == 1,
       bytewise ? "missing fields before the empty line, once, bytewise"
                : "missing fields before the empty line, once");
  }
  in = "date: x\r\nMessage-Id : <a@b>\r\n\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("date: x\nMessage-Id : <a@b>\n\nb\n"), "fields present (any case, blank before colon): none added");
  in = "Message-ID: <a@b>\r\nS: y\r\n\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("Message-ID: <a@b>\nS: y\nD\n\n"), "only the missing one is added");
  in = "S: y\r\nno field here\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("S: y\nD\nM\n\nno field here\n"), "a non-field line ends the header: fields, an empty line");
  in = "S: y\r\n .\r\n";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(is("S: y\n .\nD\nM\n"), "a header only: the fields at its end");
  in = "S: y";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(is("S: y\nD\nM\n"), "a header only, its last line without a line end");
  in = ".\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(d.done && is("D\nM\n"), "an empty message gets the fields");
  in = "Return-Path: <x@y>\r\n\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("D\nM\n\n"), "after a dropped Return-Path:");
  missing_hook = NULL;
  in = "S: y\r\n\r\nb\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 0);
  ok(is("S: y\n\nb\n") && missing_calls == 0, "without the hook nothing is added");

  /* RFC 1870: the size SIZE and databytes measure */
  for (bytewise = 0; bytewise < 2; bytewise++) {
    in = "S: x\r\n\r\n..a\r\n..\r\n.\r\n";
    run(DATA_DOT, 0, in, strlen(in), bytewise);
    ok(d.done && d.size == 15, bytewise ? "size without stuffing dots and the end, bytewise"
                                        : "size without stuffing dots and the end");
  }
  in = ".\n.\r.\r\n.\r\n";
  run(DATA_DOT, 0, in, strlen(in), 1);
  ok(d.done && d.size == 7, "size: dots that are not stuffing count");
  in = "ab\r\n.\r\n";
  run(DATA_RAW, 0, in, strlen(in), 0);
  ok(d.size == 7, "size: BDAT counts every byte");
  return done_testing();
}
