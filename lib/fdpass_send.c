/* fdpass_send, fdpass_sendmsg: a message with one descriptor attached (fdpass.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "fdpass.h"

ssize_t fdpass_sendmsg(int sock, const char *buf, size_t len, int fd, int flags)
{
  union {
    char space[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cm;
  struct iovec iov;
  struct msghdr mh;
  struct cmsghdr *c;
  ssize_t w;

  iov.iov_base = (char *)buf;
  iov.iov_len = len;
  memset(&mh, 0, sizeof mh);
  memset(&cm, 0, sizeof cm);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.space;
  mh.msg_controllen = sizeof cm.space;
  c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  do w = sendmsg(sock, &mh, MSG_NOSIGNAL | flags); while (w == -1 && errno == EINTR);
  return w;
}

int fdpass_send(int sock, const char *buf, size_t len, int fd)
{
  return fdpass_sendmsg(sock, buf, len, fd, 0) == (ssize_t)len ? 0 : -1;
}
