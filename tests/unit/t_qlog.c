/* tests/unit/t_qlog.c: log lines: prefix, sanitising, cut, one write. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include "tap.h"
#include "fmt.h"
#include "qlog.h"

static char got[QLOG_MAX * 2];
static ssize_t gotlen;

/* runs f with fd 2 on a pipe; what came out lands in got */
static int capture(void (*f)(void))
{
  int p[2];
  int saved = dup(2);

  if (pipe(p) == -1) return -1;
  dup2(p[1], 2);
  close(p[1]);
  f();
  dup2(saved, 2);
  close(saved);
  gotlen = read(p[0], got, sizeof got - 1);
  close(p[0]);
  if (gotlen < 0) gotlen = 0;
  got[gotlen] = '\0';
  return 0;
}

static void f_log(void) { qlog("delivery 17: ", "ok ", "text"); }
static void f_warn(void) { qwarn("unable to read ", "control/me"); }
static void f_warnsys(void) { errno = ENOENT; qwarn_sys("unable to read ", "x"); }
static void f_ctl(void) { qlog("evil\r\nqsend: fake line\x7f", "\x1b[0m\t\xc3\xa9"); }
static void f_long(void)
{
  static char big[5000];
  memset(big, 'z', sizeof big - 1);
  qlog(big, "more");
}
static void f_errno(void)
{
  errno = EACCES;
  qlog("x");
  if (errno != EACCES) qlog("errno changed");
}

int main(void)
{
  char buf[FMT_ULONG];
  pid_t pid;
  int status;
  int p[2];

  plan(15);
  qlog_prog = "qtest";

  capture(f_log);
  ok(strcmp(got, "qtest: delivery 17: ok text\n") == 0, "qlog");
  capture(f_warn);
  ok(strcmp(got, "qtest: warning: unable to read control/me\n") == 0, "qwarn");
  capture(f_warnsys);
  ok(strcmp(got, "qtest: warning: unable to read x: No such file or directory\n") == 0, "qwarn_sys");
  capture(f_ctl);
  ok(strcmp(got, "qtest: evil??qsend: fake line?" "?[0m?\xc3\xa9\n") == 0,
     "control bytes become '?', UTF-8 kept");
  capture(f_long);
  ok(gotlen == QLOG_MAX && got[QLOG_MAX - 1] == '\n' && got[QLOG_MAX - 2] == 'z',
     "cut at QLOG_MAX, newline kept");
  capture(f_errno);
  ok(strcmp(got, "qtest: x\n") == 0, "errno preserved");

  /* qdie and qdie_sys exit with the code */
  if (pipe(p) == -1) return 1;
  pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    qdie(111, "unable to open ", "queue");
  }
  close(p[1]);
  gotlen = read(p[0], got, sizeof got - 1);
  got[gotlen > 0 ? gotlen : 0] = '\0';
  close(p[0]);
  waitpid(pid, &status, 0);
  ok(WIFEXITED(status) && WEXITSTATUS(status) == 111, "qdie exits 111");
  ok(strcmp(got, "qtest: fatal: unable to open queue\n") == 0, "qdie line");

  if (pipe(p) == -1) return 1;
  pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    errno = EACCES;
    qdie_sys(100, "unable to open ", "queue");
  }
  close(p[1]);
  gotlen = read(p[0], got, sizeof got - 1);
  got[gotlen > 0 ? gotlen : 0] = '\0';
  close(p[0]);
  waitpid(pid, &status, 0);
  ok(WIFEXITED(status) && WEXITSTATUS(status) == 100, "qdie_sys exits 100");
  ok(strcmp(got, "qtest: fatal: unable to open queue: Permission denied\n") == 0, "qdie_sys line");

  ok(errno_is_temp(ENOSPC) && errno_is_temp(EIO) && errno_is_temp(ENOMEM) &&
     errno_is_temp(EINTR) && errno_is_temp(EDQUOT) && errno_is_temp(ETIMEDOUT), "temporary errors");
  ok(!errno_is_temp(ENOENT) && !errno_is_temp(EACCES) && !errno_is_temp(EINVAL) &&
     !errno_is_temp(0), "permanent errors");

  ok(strcmp(qlog_ulong(buf, 0), "0") == 0, "ulong 0");
  ok(strcmp(qlog_ulong(buf, 4294967295UL), "4294967295") == 0, "ulong");
  qlog_prog = NULL;
  capture(f_log);
  ok(strncmp(got, "qmta: ", 6) == 0, "no program name: qmta");
  return done_testing();
}
