/*
 * tlsd_request: connects to qtlsd and sends one request with the client's
 * socket attached (tlsd.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdpass.h"
#include "tlsd.h"

int tlsd_request(const char *path, int client, char kind, const char *ip)
{
  struct sockaddr_un sun;
  char req[80];
  size_t iplen = strlen(ip);
  size_t plen = strlen(path);
  ssize_t w;
  int fd;

  if (plen >= sizeof sun.sun_path || iplen > sizeof req - 4) {
    errno = ENAMETOOLONG;
    return -1;
  }
  req[0] = kind;
  req[1] = ' ';
  memcpy(req + 2, ip, iplen);
  req[iplen + 2] = '\n';

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, plen + 1);
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  w = fdpass_sendmsg(fd, req, iplen + 3, client, 0);
  /* qtlsd refuses when busy without reading the request: its "N busy"
   * line may be waiting on a connection it has closed already */
  if (w == -1 && (errno == EPIPE || errno == ECONNRESET)) return fd;
  if (w != (ssize_t)(iplen + 3)) {
    int e = w == -1 ? errno : EPIPE;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}
