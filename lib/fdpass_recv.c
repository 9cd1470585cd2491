/* fdpass_recv, fdpass_recvmsg: a message and the descriptor attached to
 * it (fdpass.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

ssize_t fdpass_recvmsg(int sock, char *buf, size_t size, int *fd, int flags)
{
  union {
    char space[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cm;
  struct iovec iov;
  struct msghdr mh;
  struct cmsghdr *c;
  ssize_t n;

  *fd = -1;
  iov.iov_base = buf;
  iov.iov_len = size;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.space;
  mh.msg_controllen = sizeof cm.space;
  do n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags); while (n == -1 && errno == EINTR);
  if (n == -1) return -1;
  for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)) && *fd == -1)
      memcpy(fd, CMSG_DATA(c), sizeof *fd);
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) { /* cut short: a message, or descriptors */
    if (*fd != -1) close(*fd);
    *fd = -1;
    errno = EPROTO;
    return -1;
  }
  return n;
}

ssize_t fdpass_recv(int sock, char *buf, size_t size, int *fd)
{
  ssize_t n = fdpass_recvmsg(sock, buf, size, fd, 0);

  if (n > 0 && *fd == -1) {
    errno = EPROTO;
    return -1;
  }
  if (n == 0 && *fd != -1) { /* a descriptor without bytes: the peer is gone all the same */
    close(*fd);
    *fd = -1;
  }
  return n;
}
