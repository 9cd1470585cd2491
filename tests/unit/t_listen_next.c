/* tests/unit/t_listen_next.c: the session program's side of qlisten's
 * pool mode: a connection with its environment, the environment given
 * back after it, malformed messages, end of file, "done". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tap.h"
#include "listenproto.h"

/* qlisten's side: msg (len bytes) with fd attached (none if -1) */
static int hand(int sock, const char *msg, size_t len, int fd)
{
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr mh;
  struct iovec iov;
  struct cmsghdr *cm;

  memset(&mh, 0, sizeof mh);
  memset(&control, 0, sizeof control);
  iov.iov_base = (void *)msg;
  iov.iov_len = len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd != -1) {
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static int env_is(const char *name, const char *want)
{
  const char *v = getenv(name);
  if (want == NULL) return v == NULL;
  return v != NULL && strcmp(v, want) == 0;
}

#define MSG(s) s, sizeof s - 1

int main(void)
{
  int pair[2];
  int payload[2];
  int ctl;
  int fd;
  char c;

  plan(22);
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) == -1) return 1;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, payload) == -1) return 1;
  {
    char num[16];
    int n = pair[1];
    size_t i = sizeof num - 1;
    num[i] = '\0';
    do {
      num[--i] = (char)('0' + n % 10);
      n /= 10;
    } while (n > 0);
    setenv("QLISTENFD", num + i, 1);
  }
  ctl = listen_ctlfd();
  ok(ctl == pair[1] && getenv("QLISTENFD") == NULL, "listen_ctlfd: QLISTENFD read and unset");
  ok((fcntl(ctl, F_GETFD) & FD_CLOEXEC) != 0, "listen_ctlfd: made close-on-exec");

  /* the program's own environment, as a listener's run script sets it */
  setenv("SUBMISSION", "1", 1);
  unsetenv("FOO");
  unsetenv("TCPREMOTEIP");

  hand(pair[0], MSG("TCPREMOTEIP=192.0.2.7\0SUBMISSION=0\0FOO=a\0FOO=b\0"), payload[1]);
  fd = listen_next(ctl);
  ok(fd >= 0, "a connection arrives");
  ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "its socket is close-on-exec");
  ok(fd >= 0 && write(fd, "x", 1) == 1 && read(payload[0], &c, 1) == 1 && c == 'x',
     "its socket is the one handed over");
  if (fd >= 0) close(fd);
  ok(env_is("TCPREMOTEIP", "192.0.2.7"), "its variables are set");
  ok(env_is("SUBMISSION", "0"), "a variable of the program's own environment is overridden");
  ok(env_is("FOO", "b"), "a name given twice: the last value");

  hand(pair[0], MSG("TCPREMOTEIP=192.0.2.8\0"), payload[1]);
  fd = listen_next(ctl);
  ok(fd >= 0, "the next connection");
  if (fd >= 0) close(fd);
  ok(env_is("TCPREMOTEIP", "192.0.2.8"), "its own variables");
  ok(env_is("SUBMISSION", "1"), "the overridden variable has its own value back");
  ok(env_is("FOO", NULL), "a variable of the previous connection only is unset");

  hand(pair[0], MSG("TCPREMOTEIP=192.0.2.9\0"), -1);
  errno = 0;
  ok(listen_next(ctl) == -1 && errno == EPROTO, "no descriptor: EPROTO");
  ok(env_is("TCPREMOTEIP", NULL) && env_is("SUBMISSION", "1"),
     "... and the previous connection's variables are gone all the same");
  hand(pair[0], MSG("NOEQUALS\0"), payload[1]);
  errno = 0;
  ok(listen_next(ctl) == -1 && errno == EPROTO, "a record without '=': EPROTO");
  hand(pair[0], MSG("=x\0"), payload[1]);
  errno = 0;
  ok(listen_next(ctl) == -1 && errno == EPROTO, "a record without a name: EPROTO");
  hand(pair[0], MSG("A=1\0B=2"), payload[1]);
  errno = 0;
  ok(listen_next(ctl) == -1 && errno == EPROTO, "an unterminated record: EPROTO");
  ok(env_is("A", NULL), "... and what it had set is undone");

  hand(pair[0], MSG("SUBMISSION=0\0"), payload[1]);
  fd = listen_next(ctl);
  if (fd >= 0) close(fd);
  ok(fd >= 0 && env_is("SUBMISSION", "0"), "overridden again");

  ok(listen_done(ctl) == 0 && recv(pair[0], &c, 1, 0) == 1 && c == LISTEN_DONE,
     "listen_done: one byte D");

  close(pair[0]);
  errno = EINVAL;
  ok(listen_next(ctl) == -1 && errno == 0, "end of file: -1 with errno 0 (exit now)");
  ok(env_is("SUBMISSION", "1"), "the program's own environment is back at the end");
  return done_testing();
}
