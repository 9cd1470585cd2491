/*
 * queue_nowriter: whether anyone has the file of fd (open read-only) open
 * for writing. The kernel grants a read lease (F_SETLEASE, F_RDLCK) only
 * when no descriptor of the file, in any process, is open for writing
 * (fs/locks.c, check_conflicting_open); it is given back at once.
 * queue_open asks it of a file from queue/pool before reusing it: a
 * writable descriptor kept by someone else (a caller of an old setgid
 * qinject that let it reach its temp file) could otherwise rewrite the
 * next message in that file after its commit. Readers do not matter, and
 * are common: qlspawn and its delivery children read queue files while
 * they deliver them.
 * Needs the file's owner (pooled files are their writer's).
 * 0: no writer, or it cannot be told here (no lease support on this file
 * system, not the owner); -1 + EBUSY: someone has it open for writing.
 */
#include <errno.h>
#include <fcntl.h>
#include "queue.h"

int queue_nowriter(int fd)
{
  int e = errno;

  if (fcntl(fd, F_SETLEASE, F_RDLCK) == -1) {
    if (errno == EAGAIN) {
      errno = EBUSY;
      return -1;
    }
    errno = e;
    return 0;
  }
  fcntl(fd, F_SETLEASE, F_UNLCK);
  errno = e;
  return 0;
}
