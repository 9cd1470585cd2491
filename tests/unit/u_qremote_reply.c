/* tests/unit/u_qremote_reply.c: qremote reads a server's replies and the
 * keywords of its EHLO reply (qremote_reply.c). */
#include <errno.h>
#include <string.h>

#include <buffer.h>
#include <stralloc.h>

#include "tap.h"
#include "qremote.h"

static stralloc reply;
static stralloc lines;
static buffer in;

static void from(const char *s, size_t len)
{
  buffer_frombuf(&in, s, len);
}
#define FROM(lit) from(lit, sizeof lit - 1)

static int reply_is(const char *want)
{
  return reply.len == strlen(want) && memcmp(reply.s, want, reply.len) == 0;
}

int main(void)
{
  static char big[8192];
  struct ehlo_ext ext;
  size_t n;
  int code;

  plan(14);
  FROM("250-mx.example hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
       "250 AUTH PLAIN LOGIN\r\n220 next\r\n");
  ok(smtp_reply_read(&in, &reply, &lines) == 250, "multi-line reply");
  ok(reply_is("250 mx.example hello PIPELINING SIZE 10240000 8BITMIME AUTH PLAIN LOGIN"),
     "its text on one line");
  smtp_ehlo_parse(&ext, &lines);
  ok(ext.pipelining && ext.size && ext.sizemax == 10240000 && ext.eightbit && ext.auth_plain &&
     ext.auth_login && !ext.starttls && !ext.dsn, "EHLO keywords");
  ok(smtp_reply_read(&in, &reply, &lines) == 220 && reply_is("220 next"), "the next reply");
  errno = EPROTO;
  ok(smtp_reply_read(&in, &reply, &lines) == -1 && errno == 0, "end of input: errno 0");

  FROM("354\r\n");
  ok(smtp_reply_read(&in, &reply, &lines) == 354 && reply_is("354"), "code alone");
  FROM("199 too low\r\n");
  ok(smtp_reply_read(&in, &reply, &lines) == -1 && errno == EPROTO, "1xx refused");
  FROM("250x\r\n");
  ok(smtp_reply_read(&in, &reply, &lines) == -1 && errno == EPROTO, "no blank after the code");
  FROM("250 a\tb\001c\r\n");
  ok(smtp_reply_read(&in, &reply, &lines) == 250 && reply_is("250 a?b?c"), "control bytes as ?");

  /* the text stops at SMTP_TEXT_MAX bytes, the blank before each line's text included */
  memcpy(big, "550 ", 4);
  memset(big + 4, 'x', 2000);
  memcpy(big + 2004, "\r\n", 2);
  from(big, 2006);
  ok(smtp_reply_read(&in, &reply, &lines) == 550 && reply.len == SMTP_TEXT_MAX,
     "long text cut at SMTP_TEXT_MAX");
  n = 0;
  for (int k = 0; k < 3; ++k) {
    memcpy(big + n, k < 2 ? "550-" : "550 ", 4);
    memset(big + n + 4, 'y', 400);
    memcpy(big + n + 404, "\r\n", 2);
    n += 406;
  }
  from(big, n);
  ok(smtp_reply_read(&in, &reply, &lines) == 550 && reply.len == SMTP_TEXT_MAX,
     "long multi-line text cut at SMTP_TEXT_MAX");

  memset(big, '5', 3000);
  memcpy(big + 3000, "\r\n", 2);
  from(big, 3002);
  ok(smtp_reply_read(&in, &reply, &lines) == -1 && errno == EPROTO, "overlong line refused");
  n = 0;
  for (int k = 0; k < 201; ++k) {
    memcpy(big + n, "250-x\r\n", 7);
    n += 7;
  }
  from(big, n);
  ok(smtp_reply_read(&in, &reply, &lines) == -1 && errno == EPROTO, "201 lines refused");
  FROM("250-x\r\n");
  code = smtp_reply_read(&in, &reply, &lines);
  ok(code == -1 && errno == 0, "end of input inside a reply");
  stralloc_free(&reply);
  stralloc_free(&lines);
  return done_testing();
}
