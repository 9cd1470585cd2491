/* unixsock_bind: a service's listening Unix socket (unixsock.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unixsock.h"

static int fail(int fd, const char **step, const char *what)
{
  int e = errno;

  if (fd != -1) close(fd);
  *step = what;
  errno = e;
  return -1;
}

int unixsock_bind(const char *path, int type, uid_t uid, gid_t gid, int backlog, const char **step)
{
  struct sockaddr_un sun;
  size_t n = strlen(path);
  mode_t old;
  int fd;
  int r;

  if (n >= sizeof sun.sun_path) {
    errno = ENAMETOOLONG;
    return fail(-1, step, "bind");
  }
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, n);
  fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd == -1) return fail(-1, step, "create a socket");
  if (unlink(path) == -1 && errno != ENOENT) return fail(fd, step, "remove");
  old = umask(077); /* nobody may connect before the owner and mode are set */
  r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
  umask(old);
  if (r == -1) return fail(fd, step, "bind");
  if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) == -1)
    return fail(fd, step, "set the owner of");
  if (chmod(path, gid != (gid_t)-1 ? 0660 : 0600) == -1) return fail(fd, step, "set the mode of");
  if (listen(fd, backlog) == -1) return fail(fd, step, "listen on");
  return fd;
}
