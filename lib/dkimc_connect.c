/* dkimc_connect, dkimc_connect_wait: a connection to qdkimd (dkimc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dkimc.h"

int dkimc_connect(const char *path)
{
  struct sockaddr_un sun;
  size_t n = strlen(path);
  int fd;
  int e;

  if (n >= sizeof sun.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, n);
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1) return -1;
  /* a full backlog gives EAGAIN at once on a Unix socket: wait a little */
  for (int tries = 0; connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1; tries++) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN || tries * 100 >= DKIMP_CONNECT_MS) {
      e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    poll(NULL, 0, 100);
  }
  if (fcntl(fd, F_SETFL, 0) == -1) {
    e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int dkimc_connect_wait(const char *path, int ms)
{
  int fd;

  for (int waited = 0; (fd = dkimc_connect(path)) == -1 && waited < ms; waited += 100) {
    if (errno != ENOENT && errno != ECONNREFUSED) break;
    poll(NULL, 0, 100);
  }
  return fd;
}
