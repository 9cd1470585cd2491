/*
 * queue_env_read: the header and the envelope of an open queue file. The
 * envelope is everything after the message; its size comes from fstat,
 * and is checked against the header before anything is read. Anything
 * but a plain file is malformed (EINVAL).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include "queue.h"

static int preadall(int fd, char *buf, size_t len, off_t off)
{
  while (len > 0) {
    ssize_t r = pread(fd, buf, len, off);

    if (r == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      errno = EINVAL; /* the file is shorter than it said */
      return -1;
    }
    buf += r;
    len -= (size_t)r;
    off += r;
  }
  return 0;
}

int queue_env_read(struct queue_env *e, int fd)
{
  char hdr[QUEUE_HDRLEN];
  struct stat st;
  unsigned long long msglen;
  unsigned long long envstart;
  unsigned long long envlen;

  e->env.len = 0;
  e->rcpt_count = 0;

  if (fstat(fd, &st) == -1) return -1;
  if (!S_ISREG(st.st_mode) || st.st_size < QUEUE_HDRLEN) { /* a FIFO, a device: damaged */
    errno = EINVAL;
    return -1;
  }
  if (preadall(fd, hdr, sizeof hdr, 0) == -1) return -1;
  if (queue_hdr_scan(hdr, &msglen) == -1) {
    errno = EINVAL;
    return -1;
  }
  if (__builtin_add_overflow(msglen, (unsigned long long)QUEUE_HDRLEN, &envstart) ||
      envstart > (unsigned long long)st.st_size) {
    errno = EINVAL;
    return -1;
  }
  envlen = (unsigned long long)st.st_size - envstart;
  if (envlen > QUEUE_ENV_MAX) {
    errno = EINVAL;
    return -1;
  }
  e->msglen = msglen;

  if (!stralloc_ready(&e->env, envlen ? (size_t)envlen : 1)) {
    errno = ENOMEM;
    return -1;
  }
  if (preadall(fd, e->env.s, (size_t)envlen, (off_t)envstart) == -1) return -1;
  e->env.len = (size_t)envlen;
  return queue_env_parse(e);
}
