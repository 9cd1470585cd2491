/*
 * Small system helpers: non-blocking mode, the monotonic clock, writing a
 * whole line, and child exit statuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qtls.h"

int qtls_nonblock(int fd, int on)
{
  int flags = fcntl(fd, F_GETFL);

  if (flags == -1) return -1;
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return fcntl(fd, F_SETFL, flags);
}

long long qtls_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Works on blocking and non-blocking descriptors alike. */
int qtls_write_all(int fd, const char *s, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, s, len);

    if (n == -1) {
      struct pollfd pfd;

      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      pfd.fd = fd;
      pfd.events = POLLOUT;
      if (poll(&pfd, 1, -1) == -1 && errno != EINTR) return -1;
      continue;
    }
    s += n;
    len -= (size_t)n;
  }
  return 0;
}

int qtls_exitcode(int status)
{
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 111; /* killed by a signal */
}

int qtls_wait(int pid)
{
  int status;

  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) return 111;
  return qtls_exitcode(status);
}
