/* t_dkimc: dkimc_connect_wait gives a service that does not listen yet the
 * time it is told, and no more (lib/dkimc_connect.c). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dkimc.h"
#include "tap.h"

/* A child that listens on path after delay_ms, then accepts one
 * connection; its pid. */
static pid_t late_listener(const char *path, int delay_ms)
{
  pid_t pid = fork();

  if (pid == 0) {
    struct sockaddr_un sun;
    int fd;

    poll(NULL, 0, delay_ms);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 || listen(fd, 4) == -1)
      _exit(1);
    close(accept(fd, NULL, NULL));
    _exit(0);
  }
  return pid;
}

int main(void)
{
  char dir[] = "/tmp/t_dkimc.XXXXXX";
  char path[64];
  pid_t pid;
  int status;
  int fd;

  plan(4);
  if (mkdtemp(dir) == NULL) {
    printf("Bail out! mkdtemp\n");
    return 1;
  }
  snprintf(path, sizeof path, "%s/sock", dir);

  errno = 0;
  fd = dkimc_connect_wait(path, 0);
  ok(fd == -1 && errno == ENOENT, "no socket, no wait: ENOENT at once");

  pid = late_listener(path, 300);
  ok(pid > 0, "a service that starts listening after 0.3 s");
  fd = dkimc_connect_wait(path, 5000);
  ok(fd >= 0, "is waited for and reached");
  if (fd >= 0) close(fd);
  if (pid > 0) {
    /* bounded: the child accepts one connection and ends */
    if (fd < 0) kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  unlink(path);
  errno = 0;
  fd = dkimc_connect_wait(path, 200);
  ok(fd == -1 && errno == ENOENT, "a service that never comes: -1 after the wait");
  rmdir(dir);
  return done_testing();
}
