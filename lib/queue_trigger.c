/*
 * queue_trigger: one byte into the queue/trigger FIFO to wake qsend.
 * Never blocks: with no reader open() fails with ENXIO, with a full FIFO
 * write() fails with EAGAIN; either way qsend is awake or will scan new/
 * when it starts. errno is preserved. Anything but a FIFO is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "queue.h"

void queue_trigger(void)
{
  int e = errno;
  int fd;

  fd = open("queue/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd != -1) {
    struct stat st;
    ssize_t r;

    /* only a FIFO: a plain file there would grow by a byte a message */
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
      do r = write(fd, "", 1);
      while (r == -1 && errno == EINTR);
    }
    close(fd);
  }
  errno = e;
}
