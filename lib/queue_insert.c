/*
 * queue_insert: header fields put before the first byte of the message
 * being written (qsmtpd and qinject prepend what qdkimd answers: the
 * DKIM-Signature or Authentication-Results fields, which are known only
 * once the whole message is there).
 *
 * While nothing has left the writer's buffer and the bytes fit, it is a
 * memmove in w->buf. Otherwise the buffer is written out and the
 * message's bytes in the file are shifted up by len, from the end down in
 * chunks (through a second, read-only descriptor: w->fd is write-only),
 * and s goes in at QUEUE_HDRLEN. The file is not committed yet, so a
 * failure half-way harms nothing: the caller aborts it. ENOSPC and EDQUOT
 * get queue_pool_relief as every write does.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"

#define SHIFT_CHUNK 16384

/* queue_write at an offset (w->fd is not O_APPEND: the offset moves) */
static int write_at(struct queue_writer *w, const char *s, size_t len, off_t at)
{
  if (lseek(w->fd, at, SEEK_SET) == -1) return -1;
  return queue_write(w, s, len);
}

static int pread_all(int fd, char *s, size_t len, off_t at)
{
  while (len > 0) {
    ssize_t r = pread(fd, s, len, at);
    if (r == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO; /* the file is shorter than we wrote it */
      return -1;
    }
    s += r;
    len -= (size_t)r;
    at += r;
  }
  return 0;
}

/* The file's message bytes [QUEUE_HDRLEN, QUEUE_HDRLEN + msglen) move up
 * by len, the last chunk first. */
static int shift_up(struct queue_writer *w, unsigned long long msglen, size_t len)
{
  static char chunk[SHIFT_CHUNK];
  unsigned long long left = msglen;
  int rfd = open(w->tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int e;

  if (rfd == -1) return -1;
  while (left > 0) {
    size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
    off_t from = (off_t)(QUEUE_HDRLEN + left - n);

    if (pread_all(rfd, chunk, n, from) == -1 || write_at(w, chunk, n, from + (off_t)len) == -1) {
      e = errno;
      close(rfd);
      errno = e;
      return -1;
    }
    left -= n;
  }
  close(rfd);
  return 0;
}

int queue_insert(struct queue_writer *w, const char *s, size_t len)
{
  unsigned long long before = w->msglen;
  unsigned long long total;
  unsigned long long end;

  if (w->fd == -1 || w->in_envelope) {
    errno = EINVAL;
    return -1;
  }
  if (len == 0) return 0;
  if (__builtin_add_overflow(before, (unsigned long long)len, &total) ||
      __builtin_add_overflow(total, (unsigned long long)QUEUE_HDRLEN, &end) ||
      end > (unsigned long long)((~0ULL) >> 1)) { /* must fit an off_t */
    errno = EFBIG;
    return -1;
  }

  /* all of it still in the buffer: header place, then the message */
  if (w->buflen == QUEUE_HDRLEN + before && len <= sizeof w->buf - w->buflen) {
    memmove(w->buf + QUEUE_HDRLEN + len, w->buf + QUEUE_HDRLEN, (size_t)before);
    memcpy(w->buf + QUEUE_HDRLEN, s, len);
    w->buflen += len;
    w->msglen = total;
    return 0;
  }

  if (queue_flush(w) == -1) return -1;
  if (shift_up(w, before, len) == -1) return -1;
  if (write_at(w, s, len, (off_t)QUEUE_HDRLEN) == -1) return -1;
  /* the next write goes after the moved message */
  if (lseek(w->fd, (off_t)end, SEEK_SET) == -1) return -1;
  w->msglen = total;
  return 0;
}
