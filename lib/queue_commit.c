/*
 * queue_commit: the one commit point of a message.
 *   1. the rest of the buffer, then the real header at offset 0 (pwrite)
 *   2. fsync: message and envelope are on disk under the temp name
 *   3. fstat: the inode number is the ID; close (checked)
 *   4. rename tmp/NAME to new/ID, fsync new/: now it is committed
 *   5. a byte into the trigger FIFO (best effort: qsend also scans new/)
 * A failure before 4 leaves the temp file for queue_abort. If new/ cannot
 * be fsynced after the rename, the file is taken back out of new/ if
 * still there (qsend may have taken it in: a duplicate, never a loss).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename(2) only */
#include <sys/stat.h>
#include <unistd.h>
#include "durable.h"
#include "queue.h"

/* queue/new, opened once per process (qsmtpd commits many messages) */
static int newdir_sync(void)
{
  static int fd = -1;

  if (fd == -1) fd = open("queue/new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) return -1;
  return fsync(fd);
}

int queue_commit(struct queue_writer *w, unsigned long *id)
{
  char hdr[QUEUE_HDRLEN];
  char newname[QUEUE_PATH_MAX];
  struct stat st;
  size_t done = 0;
  int e;

  if (w->fd == -1 || !w->in_envelope) {
    errno = EINVAL;
    return -1;
  }
  if (queue_flush(w) == -1) return -1; /* also any earlier failed write (w->failed) */

  queue_hdr_fmt(hdr, w->msglen);
  while (done < sizeof hdr) {
    ssize_t r = pwrite(w->fd, hdr + done, sizeof hdr - done, (off_t)done);
    if (r == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += (size_t)r;
  }

  if (fsync(w->fd) == -1) return -1;
  if (fstat(w->fd, &st) == -1) return -1;
  e = close(w->fd);
  w->fd = -1;
  if (e == -1) return -1;

  queue_path(newname, "new", (unsigned long)st.st_ino);
  while (rename(w->tmpname, newname) == -1) /* ENOSPC: new/ must grow, the pool can help */
    if (!queue_pool_relief(w, errno)) return -1;
  w->tmpname[0] = '\0';
  if (newdir_sync() == -1) {
    e = errno;
    unlink(newname);
    errno = e;
    return -1;
  }

  *id = (unsigned long)st.st_ino;
  queue_trigger();
  return 0;
}
