/*
 * queue_trigger: one byte into the queue/trigger FIFO to wake qsend.
 * Never blocks: with no reader open() fails with ENXIO, with a full FIFO
 * write() fails with EAGAIN; either way qsend is awake or will scan new/
 * when it starts. errno is preserved. Anything but a FIFO is left alone.
 * In a process that ignores SIGPIPE (qsmtpd, qinject, qsend) the FIFO
 * stays open for the next message (qsmtpd queues many); a write that finds
 * no reader any more (EPIPE: qsend was restarted) reopens it once. Any
 * other process opens it for each message, as a kept FIFO without a reader
 * would kill it with SIGPIPE.
 * queue_trigger_drain writes QUEUE_TRIGGER_DRAIN instead: a writer short
 * of space asks qsend to empty the pool of the files it may not remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include "queue.h"

static int trigger_fd = -1;

static int trigger_open(void)
{
  struct stat st;
  int fd = open("queue/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

  if (fd == -1) return -1;
  /* only a FIFO: a plain file there would grow by a byte a message */
  if (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* 1 if SIGPIPE is ignored, asked once */
static int pipe_ignored(void)
{
  static int known = -1;
  struct sigaction sa;

  if (known == -1) known = sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
  return known;
}

static void trigger_send(const char *byte)
{
  int e = errno;
  int tries;

  for (tries = 0; tries < 2; tries++) {
    ssize_t r;

    if (trigger_fd == -1) trigger_fd = trigger_open();
    if (trigger_fd == -1) break;
    do r = write(trigger_fd, byte, 1);
    while (r == -1 && errno == EINTR);
    if (!pipe_ignored()) {
      close(trigger_fd);
      trigger_fd = -1;
      break;
    }
    if (r != -1 || errno != EPIPE) break;
    close(trigger_fd);
    trigger_fd = -1;
  }
  errno = e;
}

void queue_trigger(void)
{
  trigger_send("");
}

void queue_trigger_drain(void)
{
  trigger_send(QUEUE_TRIGGER_DRAIN);
}
