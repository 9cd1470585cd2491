/*
 * qlocal_mbox: one message appended to an mbox file. Locks with a
 * "FILE.lock" dot-lock (where the directory lets us) and an fcntl lock,
 * writes the "From " line and the message with >From quoting, fsyncs, and
 * on any error truncates the file back to where it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stralloc.h>

#include "qlocal.h"

#define LOCK_TRIES 300    /* 0.1 s apart: 30 s for a lock */
#define LOCK_STALE 300    /* seconds after which a dot-lock is broken */

/* 1 dot-locked, 0 no dot-lock possible here (directory not writable), -1 timeout/error. */
static int dotlock(const char *lockname)
{
  int i;

  for (i = 0; i < LOCK_TRIES; i++) {
    struct stat st;
    int fd = open(lockname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd != -1) {
      close(fd);
      return 1;
    }
    if (errno == EACCES || errno == EROFS) return 0;
    if (errno != EEXIST) return -1;
    if (stat(lockname, &st) == 0 && st.st_mtime + LOCK_STALE < time(NULL)) unlink(lockname);
    usleep(100000);
  }
  errno = EAGAIN;
  return -1;
}

static int fcntl_lock(int fd)
{
  struct flock fl;
  int i;

  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  for (i = 0; i < LOCK_TRIES; i++) {
    if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
    if (errno != EAGAIN && errno != EACCES) return -1;
    usleep(100000);
  }
  errno = EAGAIN;
  return -1;
}

int mbox_put(const struct delivery *d, const char *file, const char **why)
{
  stralloc lockname = {0};
  int locked;
  int fd;
  off_t size;
  int e;
  int r = 111;

  *why = "unable to lock the mbox";
  if (!stralloc_copys(&lockname, file) || !stralloc_cats(&lockname, ".lock") ||
      !stralloc_0(&lockname)) {
    errno = ENOMEM;
    return 111;
  }
  locked = dotlock(lockname.s);
  if (locked == -1) goto out;

  *why = "unable to open the mbox";
  fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) goto unlock;
  if (fcntl_lock(fd) == -1) {
    *why = "unable to lock the mbox";
    goto close_fd;
  }
  size = lseek(fd, 0, SEEK_END);
  if (size == (off_t)-1) goto close_fd;
  *why = "unable to write the mbox";
  if (msg_write(d, fd, MSG_MBOX | MSG_RETURNPATH | MSG_DTLINE) == -1 || fsync(fd) == -1) {
    e = errno;
    if (ftruncate(fd, size) == 0) fsync(fd);
    errno = e;
    goto close_fd;
  }
  if (close(fd) == -1) {
    fd = -1;
    goto unlock;
  }
  fd = -1;
  r = 0;

close_fd:
  e = errno;
  if (fd != -1) close(fd); /* releases the fcntl lock */
  errno = e;
unlock:
  e = errno;
  if (locked == 1) unlink(lockname.s);
  errno = e;
out:
  e = errno;
  stralloc_free(&lockname);
  errno = e;
  return r;
}

int deliver_mbox(const struct delivery *d, const char *file, struct qlocal_result *res)
{
  const char *why;

  if (msg_checkloop(d, res) != 0) return res->code;
  if (mbox_put(d, file, &why) != 0) return report_sys(res, 111, why, "");
  return report(res, 0, "delivered to mbox ", file, NULL);
}
