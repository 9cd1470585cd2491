/*
 * qlocal_msg: reading the message from the queue file (fd 0, by offset)
 * and writing it to a mailbox, a pipe or a forwarding qinject.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stralloc.h>

#include "addr.h"
#include "durable.h"
#include "qlocal.h"

#define CHUNK 65536
#define HEADER_SCAN_MAX (1024 * 1024) /* header bytes searched for loops */
#define HOLD_MAX 256                  /* '>' run held back at a line start */

static int header_name_is(const char *line, size_t len, const char *name)
{
  size_t n = strlen(name);
  size_t i;

  if (len < n) return 0;
  for (i = 0; i < n; i++) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != name[i]) return 0;
  }
  return 1;
}

static int same_address(const char *s, size_t len, const char *want)
{
  size_t wlen = strlen(want);
  size_t i;

  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
  if (len != wlen) return 0;
  for (i = 0; i < len; i++) {
    char a = s[i];
    char b = want[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
    if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
    if (a != b) return 0;
  }
  return 1;
}

int msg_checkloop(const struct delivery *d, struct qlocal_result *res)
{
  char buf[CHUNK];
  stralloc line = {0};
  unsigned long long pos = 0;
  unsigned long hops = 0;
  int done = 0;
  int code = 0;

  while (!done && pos < d->msglen && pos < HEADER_SCAN_MAX) {
    size_t want = sizeof buf;
    ssize_t r;
    ssize_t i;

    if (d->msglen - pos < want) want = (size_t)(d->msglen - pos);
    r = pread(0, buf, want, d->msgstart + (off_t)pos);
    if (r == -1) {
      code = report_sys(res, 111, "unable to read the message", "");
      break;
    }
    if (r == 0) {
      code = report(res, 111, "the message is shorter than its header says (#4.3.0)", NULL, NULL);
      break;
    }
    for (i = 0; i < r && !done; i++) {
      if (buf[i] != '\n') {
        if (line.len < 1000 && !stralloc_append(&line, buf + i)) {
          code = report(res, 111, "out of memory (#4.3.0)", NULL, NULL);
          done = 1;
        }
        continue;
      }
      if (line.len == 0 || (line.len == 1 && line.s[0] == '\r')) {
        done = 1;
        break;
      }
      if (header_name_is(line.s, line.len, "received:")) hops++;
      if (header_name_is(line.s, line.len, "delivered-to:") &&
          same_address(line.s + 13, line.len - 13, d->recipient)) {
        code = report(res, 100, "mail loop: this message was already delivered to ",
                      d->recipient, " (#5.4.6)");
        done = 1;
      }
      line.len = 0;
    }
    pos += (unsigned long long)r;
  }
  stralloc_free(&line);
  if (code != 0) return code;
  if (hops > d->maxhops)
    return report(res, 100, "mail loop: too many Received lines (#5.4.6)", NULL, NULL);
  return 0;
}

struct out {
  int fd;
  char buf[CHUNK];
  size_t len;
};

static int out_flush(struct out *o)
{
  if (o->len == 0) return 0;
  if (durable_writeall(o->fd, o->buf, o->len) == -1) return -1;
  o->len = 0;
  return 0;
}

static int out_put(struct out *o, const char *s, size_t len)
{
  while (len > 0) {
    size_t n = sizeof o->buf - o->len;
    if (n > len) n = len;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    s += n;
    len -= n;
    if (o->len == sizeof o->buf && out_flush(o) == -1) return -1;
  }
  return 0;
}

static int out_puts(struct out *o, const char *s)
{
  return out_put(o, s, strlen(s));
}

static int put_prefix(struct out *o, const struct delivery *d, int flags)
{
  if (flags & MSG_MBOX) {
    time_t now = time(NULL);
    char date[32];
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL || strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
      date[0] = '\0';
    if (out_puts(o, "From ") == -1 ||
        out_puts(o, d->sender[0] != '\0' ? d->sender : "MAILER-DAEMON") == -1 ||
        out_puts(o, " ") == -1 || out_puts(o, date) == -1 || out_puts(o, "\n") == -1)
      return -1;
  }
  if (flags & MSG_RETURNPATH) {
    char q[ADDR_QUOTED_MAX];
    size_t qlen = 0;

    if (strlen(d->sender) <= ADDR_MAX) qlen = addr_quote(q, d->sender, strlen(d->sender));
    if (out_puts(o, "Return-Path: <") == -1 || out_put(o, q, qlen) == -1 ||
        out_puts(o, ">\n") == -1)
      return -1;
  }
  if (flags & MSG_DTLINE) {
    if (out_puts(o, "Delivered-To: ") == -1 || out_puts(o, d->recipient) == -1 ||
        out_puts(o, "\n") == -1)
      return -1;
  }
  return 0;
}

/*
 * mboxrd quoting: a line matching ^>*From  gets one more '>'. At a line
 * start the bytes that could still become such a line are held back until
 * the pattern is decided.
 */
int msg_write(const struct delivery *d, int fd, int flags)
{
  static struct out o;
  char buf[CHUNK];
  char hold[HOLD_MAX + 8];
  size_t holdlen = 0;
  size_t from_matched = 0; /* bytes of "From " matched after the '>' run */
  int at_start = 1;
  char last = '\n';
  unsigned long long pos = 0;

  o.fd = fd;
  o.len = 0;
  if (put_prefix(&o, d, flags) == -1) return -1;

  while (pos < d->msglen) {
    size_t want = sizeof buf;
    ssize_t r;
    ssize_t i;

    if (d->msglen - pos < want) want = (size_t)(d->msglen - pos);
    r = pread(0, buf, want, d->msgstart + (off_t)pos);
    if (r == -1) return -1;
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    pos += (unsigned long long)r;
    if (!(flags & MSG_MBOX)) {
      if (out_put(&o, buf, (size_t)r) == -1) return -1;
      last = buf[r - 1];
      continue;
    }
    for (i = 0; i < r; i++) {
      char c = buf[i];
      if (at_start) {
        if (from_matched == 0 && c == '>' && holdlen < HOLD_MAX) {
          hold[holdlen++] = c;
          continue;
        }
        if (c == "From "[from_matched]) {
          hold[holdlen++] = c;
          from_matched++;
          if (from_matched == 5) {
            if (out_put(&o, ">", 1) == -1 || out_put(&o, hold, holdlen) == -1) return -1;
            holdlen = 0;
            from_matched = 0;
            at_start = 0;
          }
          continue;
        }
        if (out_put(&o, hold, holdlen) == -1) return -1;
        holdlen = 0;
        from_matched = 0;
        at_start = 0;
      }
      if (out_put(&o, &c, 1) == -1) return -1;
      if (c == '\n') at_start = 1;
    }
    last = buf[r - 1];
  }
  if (holdlen > 0 && out_put(&o, hold, holdlen) == -1) return -1;
  if (flags & MSG_MBOX) {
    /* the message ends with a line end, then one blank line separates it */
    if (last != '\n' && out_put(&o, "\n", 1) == -1) return -1;
    if (out_put(&o, "\n", 1) == -1) return -1;
  }
  return out_flush(&o);
}
