/*
 * qsmtpd_inject: hands one message to qinject over the qmail-queue
 * protocol: the message on its fd 0 (a pipe, LF line ends), then the
 * envelope on its fd 1 ("Fsender\0" ["Vret\0"] ["Xenvid\0"] then per
 * recipient "Trcpt\0" ["Nnotify\0"] ["Oorcpt\0"], then "\0"). qinject
 * commits the message only after it has read the complete envelope, so
 * dropping a message is closing both pipes without writing it.
 *
 * The program: $QINJECT, else QHOME/bin/qinject if it exists, else
 * qinject from PATH. Its fd 2 is ours (the log).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <buffer.h>

#include "qsmtpd.h"

static ssize_t pipe_write(int fd, const char *buf, size_t len, void *cookie)
{
  ssize_t w;

  (void)cookie;
  do {
    w = write(fd, buf, len);
  } while (w == -1 && errno == EINTR);
  return w;
}

static int spawn_child(pid_t *pid, int msgfd, int envfd)
{
  const char *prog = getenv("QINJECT");
  char *argv[2];
  int use_path = 0;
  pid_t child;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigset_t deflt;
  int r;

  if (prog == NULL || prog[0] == '\0') {
    prog = "bin/qinject"; /* relative to QHOME, our working directory */
    if (access(prog, X_OK) == -1) {
      prog = "qinject";
      use_path = 1;
    }
  }
  argv[0] = (char *)"qinject";
  argv[1] = NULL;
  /* posix_spawn (vfork-like: no copy of our page tables) with the default
   * SIGTERM and SIGPIPE and nothing blocked, as spawn_child_setup gives */
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return -1;
  }
  sigemptyset(&none);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGTERM);
  sigaddset(&deflt, SIGPIPE);
  r = posix_spawn_file_actions_adddup2(&fa, msgfd, 0);
  if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, envfd, 1);
  if (r == 0) r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (r == 0) r = posix_spawnattr_setsigmask(&attr, &none);
  if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &deflt);
  if (r == 0) {
    if (use_path) r = posix_spawnp(&child, prog, &fa, &attr, argv, environ);
    else r = posix_spawn(&child, prog, &fa, &attr, argv, environ);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) {
    errno = r;
    return -1;
  }
  *pid = child;
  return 0;
}

int inject_start(struct inject *q)
{
  int msgpipe[2];
  int envpipe[2];

  q->pid = -1;
  q->msgfd = -1;
  q->envfd = -1;
  q->failed = 0;
  if (pipe2(msgpipe, O_CLOEXEC) == -1) return -1;
  if (pipe2(envpipe, O_CLOEXEC) == -1) {
    close(msgpipe[0]);
    close(msgpipe[1]);
    return -1;
  }
  if (spawn_child(&q->pid, msgpipe[0], envpipe[0]) == -1) {
    int e = errno;
    close(msgpipe[0]);
    close(msgpipe[1]);
    close(envpipe[0]);
    close(envpipe[1]);
    errno = e;
    return -1;
  }
  close(msgpipe[0]);
  close(envpipe[0]);
  q->msgfd = msgpipe[1];
  q->envfd = envpipe[1];
  buffer_init(&q->b, pipe_write, q->msgfd, q->buf, sizeof q->buf);
  return 0;
}

void inject_put(struct inject *q, const char *s, size_t len)
{
  if (q->failed || q->msgfd == -1) return;
  if (buffer_put(&q->b, s, len) == -1) q->failed = 1;
}

static int wait_child(pid_t pid)
{
  int status = 0;

  while (waitpid(pid, &status, 0) == -1) {
    if (errno != EINTR) return -1;
  }
  return status;
}

const char *inject_finish(struct inject *q, const char *env, size_t len)
{
  int status;
  size_t done = 0;

  if (!q->failed && buffer_flush(&q->b) == -1) q->failed = 1;
  if (close(q->msgfd) == -1) q->failed = 1;
  q->msgfd = -1;
  while (!q->failed && done < len) {
    ssize_t w = pipe_write(q->envfd, env + done, len - done, NULL);
    if (w <= 0) {
      q->failed = 1;
      break;
    }
    done += (size_t)w;
  }
  close(q->envfd);
  q->envfd = -1;
  status = wait_child(q->pid);
  q->pid = -1;
  if (status == -1) return "451 4.3.0 lost the queue program, try again later\r\n";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && q->failed)
    return "451 4.3.0 queue program did not read the message, try again later\r\n";
  return inject_reply(status);
}

void inject_abort(struct inject *q)
{
  if (q->msgfd != -1) close(q->msgfd);
  if (q->envfd != -1) close(q->envfd);
  q->msgfd = -1;
  q->envfd = -1;
  if (q->pid > 0) wait_child(q->pid);
  q->pid = -1;
}
