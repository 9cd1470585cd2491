/*
 * queue_splice: the first cut bytes of the message being written replaced
 * by other bytes, of any length (qsmtpd: a new header built from a
 * milter's changes; queue_insert: fields put before the message).
 *
 * Whatever follows the cut (the body) moves in the file to its new place:
 * up from the end down when the new bytes are longer, down from the cut
 * up when they are shorter (then the file is cut to its new length), in
 * chunks through a second, read-only descriptor (w->fd is write-only).
 * Then the new bytes go in at QUEUE_HDRLEN. The file is not committed
 * yet, so a failure half-way harms nothing: the caller aborts it, and the
 * commit's fsync makes the result durable before anything is
 * acknowledged. ENOSPC and EDQUOT get queue_pool_relief as every write
 * does.
 */
#include <errno.h>
#include <fcntl.h>
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

/* The rest bytes at message offset from move to message offset to: the
 * last chunk first when they move up, the first chunk first when down, so
 * that no byte is overwritten before it is read. */
static int shift(struct queue_writer *w, unsigned long long from, unsigned long long to,
                 unsigned long long rest)
{
  static char chunk[SHIFT_CHUNK];
  unsigned long long done = 0;
  int rfd;
  int e;

  if (from == to || rest == 0) return 0;
  rfd = open(w->tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd == -1) return -1;
  while (done < rest) {
    size_t n = rest - done < sizeof chunk ? (size_t)(rest - done) : sizeof chunk;
    /* up: chunks from the end; down: from the start */
    unsigned long long at = to > from ? rest - done - n : done;

    if (pread_all(rfd, chunk, n, (off_t)(QUEUE_HDRLEN + from + at)) == -1 ||
        write_at(w, chunk, n, (off_t)(QUEUE_HDRLEN + to + at)) == -1) {
      e = errno;
      close(rfd);
      errno = e;
      return -1;
    }
    done += n;
  }
  close(rfd);
  return 0;
}

int queue_splice(struct queue_writer *w, unsigned long long cut, const char *s, size_t len)
{
  unsigned long long rest;
  unsigned long long total;
  unsigned long long end;

  if (w->fd == -1 || w->in_envelope || cut > w->msglen) {
    errno = EINVAL;
    return -1;
  }
  rest = w->msglen - cut;
  if (__builtin_add_overflow(rest, (unsigned long long)len, &total) ||
      __builtin_add_overflow(total, (unsigned long long)QUEUE_HDRLEN, &end) ||
      end > (unsigned long long)((~0ULL) >> 1)) { /* must fit an off_t */
    errno = EFBIG;
    return -1;
  }
  if (queue_flush(w) == -1) return -1;
  if (shift(w, cut, len, rest) == -1) return -1;
  if (len > 0 && write_at(w, s, len, (off_t)QUEUE_HDRLEN) == -1) return -1;
  if (len < cut && ftruncate(w->fd, (off_t)end) == -1) return -1;
  /* the next write goes after the moved rest */
  if (lseek(w->fd, (off_t)end, SEEK_SET) == -1) return -1;
  w->msglen = total;
  return 0;
}
