/* tests/unit/t_queue_tmp_gone.c: whether a temp file's writer has ended,
 * from its name: a live writer, a zombie, a reaped one, a pid that came
 * round again, and names of another form. */
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "queue.h"

/* "PID.TIME.7" into buf */
static const char *tmp_name(char *buf, size_t size, long pid, long when)
{
  snprintf(buf, size, "%ld.%ld.7", pid, when);
  return buf;
}

/* A child that waits to be killed; -1 if fork fails. */
static pid_t sleeper(void)
{
  pid_t pid = fork();

  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

int main(void)
{
  char name[64];
  long now = (long)time(NULL);
  siginfo_t info;
  pid_t child;

  plan(9);
  ok(!queue_tmp_gone(tmp_name(name, sizeof name, (long)getpid(), now)),
     "a live writer (this process, a file of now)");
  ok(queue_tmp_gone(tmp_name(name, sizeof name, (long)getpid(), now - 3600)),
     "a pid whose process started after the file's time: another process (pid reuse)");

  child = sleeper();
  ok(child > 0, "a child started");
  now = (long)time(NULL); /* as a writer names its file: after it started */
  ok(!queue_tmp_gone(tmp_name(name, sizeof name, (long)child, now)),
     "a live child that writes a file is alive");
  kill(child, SIGKILL);
  /* WNOWAIT: it stays a zombie, as a writer whose parent died stays until init reaps it */
  ok(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) == 0 &&
         queue_tmp_gone(tmp_name(name, sizeof name, (long)child, now)),
     "a killed writer not reaped yet (a zombie) is gone");
  waitpid(child, NULL, 0);
  ok(queue_tmp_gone(tmp_name(name, sizeof name, (long)child, now)),
     "a killed and reaped writer is gone");

  ok(!queue_tmp_gone("abc.1.2") && !queue_tmp_gone("0.1.2") && !queue_tmp_gone(""),
     "a name without a pid: not gone (left to the age limit)");
  ok(!queue_tmp_gone(tmp_name(name, sizeof name, 99999999999L, now)),
     "a pid out of range: not gone");
  ok(!queue_tmp_gone("12") && !queue_tmp_gone("12.") && !queue_tmp_gone("12.x.1"),
     "a name without a time: not gone");
  return done_testing();
}
