/*
 * qready: s6 readiness for a daemon that listens on TCP but cannot say so
 * itself: in a qmta instance, Dovecot (qsend, qlisten and qtlsd say so
 * themselves).
 *
 *   qready [-d fd] [-t seconds] prog [arg...]
 *
 * Run from an s6 run script whose service has notification-fd = fd
 * (default 3). qready starts a watcher (double fork: it is nobody's child
 * but init's, so Dovecot's child table never sees it), closes fd, and
 * execs prog in its own process. The watcher polls /proc until that
 * process holds a TCP socket in the LISTEN state, writes "\n" to fd and
 * exits; it gives up silently after the timeout (default 60 seconds) or
 * when the process is gone. Nothing connects to the port, so
 * readiness costs no session and no log line.
 * Exit: what prog exits with; 100 on misuse, 111 if prog cannot be run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <scan.h>

#include "line.h"
#include "qlog.h"

#define USAGE "qready [-d fd] [-t seconds] prog [arg...]"
#define MAX_INODES 64     /* sockets of the watched process that we look at */
#define MAX_PROCLINE 512  /* a line of /proc/net/tcp6 is about 150 bytes */
#define TCP_LISTEN "0A"   /* include/net/tcp_states.h: TCP_LISTEN = 10 */

static ssize_t read_op(int fd, char *buf, size_t len, void *cookie)
{
  (void)cookie;
  return read(fd, buf, len);
}

static unsigned long long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* Socket inodes of process pid into inodes; returns how many. */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
  char dirname[64];
  char path[128];
  char target[64];
  char num[FMT_ULONG];
  DIR *d;
  struct dirent *de;
  size_t count = 0;
  ssize_t r;
  unsigned long ino;

  strcpy(dirname, "/proc/");
  strcat(dirname, qlog_ulong(num, (unsigned long)pid));
  strcat(dirname, "/fd");
  d = opendir(dirname);
  if (d == NULL) return 0;
  while (count < max && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    if (strlen(dirname) + 1 + strlen(de->d_name) + 1 > sizeof path) continue;
    strcpy(path, dirname);
    strcat(path, "/");
    strcat(path, de->d_name);
    r = readlink(path, target, sizeof target - 1);
    if (r <= 0) continue;
    target[r] = '\0';
    if (strncmp(target, "socket:[", 8) != 0) continue;
    if (scan_ulong(target + 8, &ino) == 0) continue;
    inodes[count++] = ino;
  }
  closedir(d);
  return count;
}

/* Field n (0-based, blank-separated) of line; NULL if there are fewer. */
static const char *field(const char *line, size_t len, int n, size_t *flen)
{
  size_t i = 0;
  size_t start;

  for (;;) {
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i >= len || line[i] == '\n') return NULL;
    start = i;
    while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') i++;
    if (n-- == 0) {
      *flen = i - start;
      return line + start;
    }
  }
}

/* 1 if fn (/proc/net/tcp or tcp6) shows one of the inodes listening. */
static int listening_in(const char *fn, const unsigned long *inodes, size_t count)
{
  char space[4096];
  char line[MAX_PROCLINE];
  buffer b;
  size_t len;
  size_t flen;
  const char *st;
  const char *ino_field;
  unsigned long ino;
  size_t i;
  int fd;
  int r;
  int found = 0;

  fd = open(fn, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return 0;
  buffer_init(&b, read_op, fd, space, sizeof space);
  while (!found && (r = line_get(&b, line, sizeof line, &len)) != 0) {
    if (r < 0) {
      if (r == -2) continue;
      break;
    }
    st = field(line, len, 3, &flen);
    if (st == NULL || flen != 2 || memcmp(st, TCP_LISTEN, 2) != 0) continue;
    ino_field = field(line, len, 9, &flen);
    if (ino_field == NULL || scan_ulong(ino_field, &ino) != flen) continue;
    for (i = 0; i < count; i++)
      if (inodes[i] == ino) found = 1;
  }
  close(fd);
  return found;
}

static void watch(pid_t pid, int fd, unsigned long timeout)
{
  unsigned long inodes[MAX_INODES];
  struct timespec pause;
  unsigned long long start = now_ms();
  unsigned long long elapsed = 0;
  size_t count;

  while (elapsed < (unsigned long long)timeout * 1000) {
    if (kill(pid, 0) == -1 && errno == ESRCH) _exit(1);
    count = socket_inodes(pid, inodes, MAX_INODES);
    if (count > 0 && (listening_in("/proc/net/tcp", inodes, count) ||
                      listening_in("/proc/net/tcp6", inodes, count))) {
      if (write(fd, "\n", 1) == 1) _exit(0);
      _exit(1);
    }
    /* Poll quickly while a daemon normally starts, then back off. */
    pause.tv_sec = 0;
    pause.tv_nsec = (elapsed < 2000 ? 20 : 100) * 1000 * 1000L;
    nanosleep(&pause, NULL);
    elapsed = now_ms() - start;
  }
  _exit(1);
}

int main(int argc, char **argv)
{
  unsigned long fd = 3;
  unsigned long timeout = 60;
  pid_t self = getpid();
  pid_t child;
  int status;
  int i = 1;

  qlog_prog = "qready";
  while (i < argc && argv[i][0] == '-') {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) qdie_usage(USAGE);
    if (strcmp(argv[i], "-d") == 0) {
      if (argv[i + 1][scan_ulong(argv[i + 1], &fd)] != '\0' || fd < 3 || fd > 1000) qdie_usage(USAGE);
    } else if (strcmp(argv[i], "-t") == 0) {
      if (argv[i + 1][scan_ulong(argv[i + 1], &timeout)] != '\0' || timeout == 0 ||
          timeout > 86400)
        qdie_usage(USAGE);
    } else {
      qdie_usage(USAGE);
    }
    i += 2;
  }
  if (i >= argc) qdie_usage(USAGE);

  if (fcntl((int)fd, F_GETFD) == -1) {
    qwarn("notification descriptor not open: starting without readiness");
  } else {
    child = fork();
    if (child == -1) qdie_sys(111, "unable to fork");
    if (child == 0) {
      /* The intermediate child: its child watches, it exits at once. */
      child = fork();
      if (child == 0) watch(self, (int)fd, timeout);
      _exit(child == -1 ? 111 : 0);
    }
    while (waitpid(child, &status, 0) == -1)
      if (errno != EINTR) qdie_sys(111, "unable to wait for the watcher");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      qwarn("unable to start the readiness watcher");
    close((int)fd);
  }

  execvp(argv[i], argv + i);
  qdie_sys(111, "unable to run ", argv[i]);
}
