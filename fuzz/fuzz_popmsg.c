/*
 * fuzz_popmsg: libFuzzer target for how qpop3d sends a message
 * (qpop3d/qpop3d_send.c, RETR and TOP) and sizes it (popbox_filesize in
 * qpop3d/qpop3d_maildir.c). Any sender writes these bytes. The first
 * byte is TOP's line count, the rest is the message file. Checks beyond
 * the sanitizers: the response ends in ".\r\n" after a complete line;
 * every LF is sent after a CR; every line starting with '.' is stuffed;
 * taking the stuffing out gives the file with LF made CRLF; the octets
 * reported are those sent, and popbox_filesize (the size LIST and STAT
 * announce) is that minus the stuffing; TOP sends the header, the blank
 * line and that many body lines of what RETR sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qpop3d.h"

#define MAX_INPUT 16384

static char *sink;
static size_t sink_len;
static size_t sink_max;

/* pop_out's write op: collects the response */
static ssize_t fuzz_write(int fd, const char *buf, size_t len, void *cookie)
{
  (void)fd;
  (void)cookie;
  if (len > sink_max - sink_len) abort(); /* more than 2 bytes out per byte in */
  memcpy(sink + sink_len, buf, len);
  sink_len += len;
  return (ssize_t)len;
}

/* Sends the file on fd with TOP's lines (or -1) into sink. */
static unsigned long long run(int fd, long long lines)
{
  unsigned long long sent = 0;

  if (lseek(fd, 0, SEEK_SET) == -1) abort();
  sink_len = 0;
  if (pop_send_message(fd, lines, &sent) != 0) abort();
  pop_flush();
  return sent;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int fd = -1;
  const char *msg;
  size_t len;
  char *retr;
  size_t retr_len;
  char *plain;
  size_t plain_len = 0;
  unsigned long long sent;
  unsigned long long fsize;
  size_t stuffed = 0;
  size_t i;
  long long top_lines;
  size_t cut;
  int in_header = 1;
  long long body = 0;

  if (size < 1 || size > MAX_INPUT) return 0;
  top_lines = data[0];
  msg = (const char *)data + 1;
  len = size - 1;
  if (fd == -1) {
    fd = memfd_create("fuzz_popmsg", MFD_CLOEXEC);
    if (fd == -1) abort();
    sink_max = 2 * MAX_INPUT + 8;
    sink = malloc(sink_max);
    if (sink == NULL) abort();
    pop_out.op = fuzz_write;
  }
  if (ftruncate(fd, 0) == -1 || pwrite(fd, msg, len, 0) != (ssize_t)len) abort();

  /* RETR */
  sent = run(fd, -1);
  if (sink_len < 3 || memcmp(sink + sink_len - 3, ".\r\n", 3) != 0) abort();
  retr_len = sink_len - 3;
  if (sent != retr_len) abort();
  if ((len == 0) != (retr_len == 0)) abort();
  if (retr_len > 0 && (retr_len < 2 || memcmp(sink + retr_len - 2, "\r\n", 2) != 0)) abort();
  retr = malloc(retr_len + 1);
  plain = malloc(2 * len + 3);
  if (retr == NULL || plain == NULL) abort();
  memcpy(retr, sink, retr_len);
  for (i = 0; i < retr_len; i++) {
    if (retr[i] == '\n' && (i == 0 || retr[i - 1] != '\r')) abort();
    if (i == 0 || retr[i - 1] == '\n') {
      if (retr[i] == '.') {
        if (i + 1 >= retr_len || retr[i + 1] != '.') abort();
        stuffed++;
        continue; /* the stuffed dot */
      }
    }
    plain[plain_len++] = retr[i];
  }
  /* the file with each LF not after a CR made CRLF, and a last line ended */
  {
    char *want = malloc(2 * len + 3);
    size_t w = 0;
    if (want == NULL) abort();
    for (i = 0; i < len; i++) {
      if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) want[w++] = '\r';
      want[w++] = msg[i];
    }
    if (len > 0 && msg[len - 1] != '\n') {
      want[w++] = '\r';
      want[w++] = '\n';
    }
    if (w != plain_len || memcmp(want, plain, w) != 0) abort();
    free(want);
  }
  if (lseek(fd, 0, SEEK_SET) == -1 || popbox_filesize(fd, &fsize) != 0) abort();
  if (fsize != (unsigned long long)plain_len || fsize + stuffed != sent) abort();

  /* TOP: the lines of RETR's response up to the header's end, plus
   * top_lines body lines */
  cut = 0;
  while (cut < retr_len) {
    const char *nl = memchr(retr + cut, '\n', retr_len - cut);
    size_t next = (size_t)(nl - retr) + 1; /* every line of retr ends in LF */
    if (!in_header && body >= top_lines) break;
    if (in_header) {
      if (next - cut == 2) in_header = 0; /* "\r\n" */
    } else {
      body++;
    }
    cut = next;
  }
  sent = run(fd, top_lines);
  if (sink_len != cut + 3 || sent != cut || memcmp(sink, retr, cut) != 0 ||
      memcmp(sink + cut, ".\r\n", 3) != 0)
    abort();

  free(retr);
  free(plain);
  return 0;
}
