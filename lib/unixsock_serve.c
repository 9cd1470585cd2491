/* unixsock_serve: a child process per connection (unixsock.h). */
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unixsock.h"

void unixsock_serve(int lfd, unsigned long max, void (*serve)(int fd),
                    void (*warn)(const char *what, int err))
{
  unsigned long children = 0;

  for (;;) {
    pid_t pid;
    int fd;

    while (children > 0 && waitpid(-1, NULL, WNOHANG) > 0) children--;
    while (children >= max) {
      pid = waitpid(-1, NULL, 0);
      if (pid > 0) children--;
      else if (errno == ECHILD) children = 0;
    }
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1) {
      if (errno != EINTR && errno != ECONNABORTED) {
        warn("accept", errno);
        sleep(1);
      }
      continue;
    }
    pid = fork();
    if (pid == 0) {
      close(lfd);
      serve(fd);
      _exit(0);
    }
    if (pid == -1) warn("fork", errno);
    else children++;
    close(fd);
  }
}
