/* tests/unit/t_line.c: the bounded line reader. */
#include <errno.h>
#include <string.h>
#include "tap.h"
#include "line.h"

/* a read op that serves a string in small pieces, to cross buffer refills */
static const char *src;
static size_t srclen;
static size_t srcpos;
static size_t chunk;
static int fail_at_end;

static ssize_t op(int fd, char *buf, size_t len, void *cookie)
{
  size_t n = srclen - srcpos;
  (void)fd;
  (void)cookie;
  if (n == 0 && fail_at_end) {
    errno = EIO;
    return -1;
  }
  if (n > len) n = len;
  if (n > chunk) n = chunk;
  memcpy(buf, src + srcpos, n);
  srcpos += n;
  return (ssize_t)n;
}

static char bbuf[64];
static buffer b;

static void feed(const char *s, size_t len, size_t ch)
{
  src = s;
  srclen = len;
  srcpos = 0;
  chunk = ch;
  fail_at_end = 0;
  buffer_init(&b, op, 0, bbuf, sizeof bbuf);
}

int main(void)
{
  static char big[10000];
  char line[16];
  size_t len;
  size_t ch;
  int r;

  plan(31);

  feed("abc\ndef\n", 8, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 4 && memcmp(line, "abc\n", 4) == 0, "a line, newline kept");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 4 && memcmp(line, "def\n", 4) == 0, "second line");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 0 && len == 0, "EOF");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 0, "EOF again");

  feed("\n\nx", 3, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 1 && line[0] == '\n', "empty line is not EOF");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 1, "second empty line");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 1 && line[0] == 'x', "last line without newline");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 0, "then EOF");

  feed("", 0, 100);
  ok(line_get(&b, line, sizeof line, &len) == 0, "empty input");

  /* exactly the size, and one more */
  feed("0123456789abcde\n0123456789abcdef\nok\n", 36, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 16, "line of exactly size bytes with newline");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == -2 && len == 0, "one byte more: too long");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 3 && memcmp(line, "ok\n", 3) == 0, "next line read after a long one");

  feed("0123456789abcdef", 16, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 16, "size bytes without newline at EOF");
  feed("0123456789abcdefg", 17, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == -2, "size + 1 bytes without newline at EOF: too long");
  ok(line_get(&b, line, sizeof line, &len) == 0, "then EOF");

  /* a very long line crossing many buffer refills, in odd pieces */
  for (ch = 1; ch <= 64; ch *= 4) {
    memset(big, 'x', sizeof big);
    big[5000] = '\n';
    memcpy(big + 5001, "tail\n", 5);
    feed(big, 5006, ch);
    r = line_get(&b, line, sizeof line, &len);
    ok(r == -2 && len == 0, "5000-byte line dropped");
    r = line_get(&b, line, sizeof line, &len);
    ok(r == 1 && len == 5 && memcmp(line, "tail\n", 5) == 0, "line after it intact");
  }

  /* long line running into EOF */
  memset(big, 'y', sizeof big);
  feed(big, sizeof big, 7);
  ok(line_get(&b, line, sizeof line, &len) == -2, "long line to EOF");
  ok(line_get(&b, line, sizeof line, &len) == 0, "EOF after it");

  /* one byte at a time */
  feed("ab\ncd", 5, 1);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 3 && memcmp(line, "ab\n", 3) == 0, "byte by byte");
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 2 && memcmp(line, "cd", 2) == 0, "byte by byte, last line");

  /* read errors */
  feed("ab", 2, 100);
  fail_at_end = 1;
  r = line_get(&b, line, sizeof line, &len);
  ok(r == -1, "read error in a line");
  feed("ab\n", 3, 100);
  fail_at_end = 1;
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 3, "complete line before a read error");
  ok(line_get(&b, line, sizeof line, &len) == -1, "then the error");

  /* NUL bytes are data */
  feed("a\0b\n", 4, 100);
  r = line_get(&b, line, sizeof line, &len);
  ok(r == 1 && len == 4 && memcmp(line, "a\0b\n", 4) == 0, "NUL kept");

  return done_testing();
}
