/* fdpass_send: a message with one descriptor attached (fdpass.h). */
#include <string.h>
#include <sys/socket.h>

#include "fdpass.h"

int fdpass_send(int sock, const char *buf, size_t len, int fd)
{
  union {
    char space[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cm;
  struct iovec iov;
  struct msghdr mh;
  struct cmsghdr *c;

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
  return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}
