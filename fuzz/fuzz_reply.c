/*
 * fuzz_reply: libFuzzer target for what qremote reads of a server: its
 * replies (qremote/qremote_reply.c smtp_reply_read, through lib's
 * line_get) and the keywords of an EHLO reply (smtp_ehlo_parse). The first
 * byte chooses how many bytes each read returns; the rest is what a server
 * sends. Replies are read until the input ends or is refused, as qremote
 * reads them one after another on a connection.
 * Checks beyond the sanitizers: a code is 200...599 and is the first three
 * bytes of the reply; the reply text is one line of at most SMTP_TEXT_MAX
 * bytes without control bytes; the lines end in '\0'; no reply uses more
 * than its lines; reading in small pieces gives the same replies as at once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <buffer.h>
#include <stralloc.h>

#include "qremote.h"

static const char *src;
static size_t srclen;
static size_t srcpos;
static size_t chunk;

/* the connection's read op: the input, chunk bytes at a time */
static ssize_t fuzz_read(int fd, char *buf, size_t len, void *cookie)
{
  size_t n = srclen - srcpos;

  (void)fd;
  (void)cookie;
  if (n > len) n = len;
  if (n > chunk) n = chunk;
  memcpy(buf, src + srcpos, n);
  srcpos += n;
  return (ssize_t)n;
}

static void check(int code, const stralloc *reply, const stralloc *lines)
{
  struct ehlo_ext ext;

  if (code < 200 || code > 599) abort();
  if (reply->len < 3 || reply->len > SMTP_TEXT_MAX) abort();
  if (reply->s[0] - '0' != code / 100 || reply->s[1] - '0' != code / 10 % 10 ||
      reply->s[2] - '0' != code % 10)
    abort();
  for (size_t k = 0; k < reply->len; ++k)
    if ((unsigned char)reply->s[k] < 0x20 || reply->s[k] == 0x7f) abort();
  if (lines->len == 0 || lines->s[lines->len - 1] != '\0') abort();
  smtp_ehlo_parse(&ext, lines);
  if (ext.sizemax != 0 && !ext.size) abort();
}

/* Reads every reply of the input with reads of size step; returns how many
 * and fills sig with their codes and texts. */
static size_t run(const uint8_t *data, size_t size, size_t step, stralloc *sig)
{
  static char space[4096]; /* as qremote's in_space */
  static stralloc reply;
  static stralloc lines;
  buffer in;
  size_t count = 0;

  src = (const char *)data;
  srclen = size;
  srcpos = 0;
  chunk = step;
  buffer_init(&in, fuzz_read, 0, space, sizeof space);
  sig->len = 0;
  for (;;) {
    int code = smtp_reply_read(&in, &reply, &lines);

    if (code == -1) {
      if (errno != 0 && errno != EPROTO) abort(); /* the op never fails */
      break;
    }
    check(code, &reply, &lines);
    if (!stralloc_cat(sig, &reply) || !stralloc_cat(sig, &lines) || !stralloc_0(sig)) abort();
    ++count;
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static stralloc sig1;
  static stralloc sig2;
  size_t n1;
  size_t n2;

  if (size < 1) return 0;
  n1 = run(data + 1, size - 1, 4096, &sig1);
  n2 = run(data + 1, size - 1, (size_t)data[0] % 7 + 1, &sig2);
  if (n1 != n2 || sig1.len != sig2.len) abort();
  if (sig1.len > 0 && memcmp(sig1.s, sig2.s, sig1.len) != 0) abort();
  return 0;
}
