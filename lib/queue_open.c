/*
 * queue_open: create queue/tmp/PID.TIME.COUNTER for a new queue file.
 * Mode 0640 is set with fchmod so that the umask of whoever runs qinject
 * cannot hide the file from qsend: its group is qsend's (queue/tmp is
 * setgid qmta-send), which no other writer is in (queue.h). The
 * header's 24 bytes are reserved here and written by queue_commit.
 * A stale name (pid reuse after a crash) is skipped with the next counter.
 * A file of a finished message, kept in the pool for this uid, is taken
 * first (queue_pool.c): renamed to the temp name and truncated. With no
 * space for a new file (ENOSPC, EDQUOT) the pool is emptied and the
 * creation tried again (queue_pool_relief). The queue id (queue.h) is
 * made here, once the file is ours: its inode and the time now.
 */
#include <errno.h>
#include <fcntl.h>
#include <fmt.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "queue.h"

static unsigned long queue_counter;

/* queue/tmp/PID.TIME.COUNTER into w->tmpname; -1 if it cannot fit */
static int tmp_name(struct queue_writer *w)
{
  char num[FMT_ULONG];
  size_t o = 10;
  size_t n;

  memcpy(w->tmpname, "queue/tmp/", 10);
  n = fmt_ulong(num, (unsigned long)getpid());
  memcpy(w->tmpname + o, num, n);
  o += n;
  w->tmpname[o++] = '.';
  n = fmt_ulong(num, (unsigned long)time(NULL));
  memcpy(w->tmpname + o, num, n);
  o += n;
  w->tmpname[o++] = '.';
  n = fmt_ulong(num, queue_counter++);
  if (o + n + 1 > sizeof w->tmpname) { /* cannot happen with 64 bytes */
    w->tmpname[0] = '\0';
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(w->tmpname + o, num, n);
  w->tmpname[o + n] = '\0';
  return 0;
}

/* A pooled file under w->tmpname, emptied: its fd, or -1 (none; nothing
 * left). Only a plain file of ours with one link, and one that nobody
 * else holds open for writing (queue_nowriter): that one is dropped. */
static int pool_reuse(struct queue_writer *w)
{
  struct stat st;
  struct stat wst;
  int rfd;
  int fd = -1;

  if (queue_pool_take(w->tmpname) == -1) return -1;
  /* O_NONBLOCK: anything but a plain file there (a FIFO) must not hang us */
  rfd = open(w->tmpname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (rfd != -1 && fstat(rfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
      st.st_uid == geteuid() && queue_nowriter(rfd) == 0)
    fd = open(w->tmpname, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (rfd != -1) close(rfd);
  if (fd != -1 && fstat(fd, &wst) == 0 && wst.st_dev == st.st_dev && wst.st_ino == st.st_ino)
    return fd;
  if (fd != -1) close(fd);
  unlink(w->tmpname);
  return -1;
}

/* w->id from the inode of w->fd and the time: 0, or -1 + errno */
static int id_make(struct queue_writer *w)
{
  struct stat st;
  struct timespec ts;
  unsigned long long usec;

  if (fstat(w->fd, &st) == -1 || clock_gettime(CLOCK_REALTIME, &ts) == -1) return -1;
  usec = (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
  queue_id_fmt(w->id, usec, (unsigned long long)st.st_ino);
  return 0;
}

int queue_open(struct queue_writer *w)
{
  int tries;

  w->fd = -1;
  w->tmpname[0] = '\0';
  w->msglen = 0;
  w->buflen = 0;
  w->in_envelope = 0;
  w->drained = 0;
  w->failed = 0;
  w->id[0] = '\0';
  w->parent = NULL;

  for (tries = 0; tries < 100; tries++) {
    if (tmp_name(w) == -1) return -1;
    if (tries == 0 && (w->fd = pool_reuse(w)) != -1) break;
    w->fd = open(w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd != -1) break;
    if (queue_pool_relief(w, errno)) continue; /* no inode or no block: the pool gave some */
    if (errno != EEXIST) {
      w->tmpname[0] = '\0';
      return -1;
    }
  }
  if (w->fd == -1) {
    w->tmpname[0] = '\0';
    return -1;
  }

  if (fchmod(w->fd, 0640) == -1 || id_make(w) == -1) {
    queue_abort(w);
    return -1;
  }
  /* the header's place; queue_commit writes the real one with pwrite */
  memset(w->buf, ' ', QUEUE_HDRLEN);
  w->buflen = QUEUE_HDRLEN;
  return 0;
}
