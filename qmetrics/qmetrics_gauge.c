/*
 * qmetrics_gauge: the gauges, read when asked. The queue's counts come
 * from qstat -s (qmetrics never reads the queue itself: on a root
 * instance it runs DIR/bin/qstat, setuid root for the group qmta-admin,
 * which lists that instance only, as the queue's reader; otherwise qstat
 * from PATH with DIR). The listeners' connections come from the files
 * run/NAME.conns that qlisten -S keeps (qlisten_stat.c):
 *   "0000000012 0000000400 0000012345\n"   now, the limit (-c), its pid
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qlog.h"
#include "qmetrics.h"

#define QSTAT_OUT_MAX 4096 /* bytes of qstat -s we read */
#define CONNS_LEN 33       /* qlisten_stat.c */

extern char **environ;

static const char *const queue_keys[] = {"new", "pending", "deferred", "held", "bad", NULL};
static unsigned long long queue_size[5];
static unsigned long long queue_messages;
static unsigned long long queue_bytes;
static int queue_ok;

static unsigned long long now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

/* "name value" lines of qstat -s */
static void queue_parse(const char *s, size_t len)
{
  size_t pos = 0;

  while (pos < len) {
    const char *line = s + pos;
    const char *end = memchr(line, '\n', len - pos);
    const char *blank;
    unsigned long long v = 0;
    size_t n;
    size_t k;

    if (end == NULL) break;
    pos = (size_t)(end - s) + 1;
    blank = memchr(line, ' ', (size_t)(end - line));
    if (blank == NULL) continue;
    n = (size_t)(blank - line);
    for (k = n + 1; line + k < end && line[k] >= '0' && line[k] <= '9'; k++)
      v = v * 10 + (unsigned long long)(line[k] - '0');
    if (line + k != end || k == n + 1) continue;
    if (n == 8 && !memcmp(line, "messages", 8)) queue_messages = v;
    else if (n == 5 && !memcmp(line, "bytes", 5)) queue_bytes = v;
    for (k = 0; queue_keys[k] != NULL; k++)
      if (strlen(queue_keys[k]) == n && !memcmp(line, queue_keys[k], n)) queue_size[k] = v;
  }
}

int gauge_queue(unsigned int timeout_ms)
{
  static char out[QSTAT_OUT_MAX];
  static char *const env_admin[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv_admin[] = {"bin/qstat", "-s", NULL};
  char *argv_path[] = {"qstat", "-s", ".", NULL};
  posix_spawn_file_actions_t fa;
  unsigned long long deadline = now_ms() + timeout_ms;
  size_t len = 0;
  pid_t pid;
  int pfd[2];
  int status;
  int admin = geteuid() != 0 && access("bin/qstat", X_OK) == 0;
  int r;

  queue_ok = 0;
  if (pipe2(pfd, O_CLOEXEC) == -1) return -1;
  if (posix_spawn_file_actions_init(&fa) != 0) {
    close(pfd[0]);
    close(pfd[1]);
    return -1;
  }
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  /* the setuid copy refuses QHOME: it gets a bare environment */
  r = admin ? posix_spawn(&pid, argv_admin[0], &fa, NULL, argv_admin, env_admin)
            : posix_spawnp(&pid, argv_path[0], &fa, NULL, argv_path, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (r != 0) {
    close(pfd[0]);
    errno = r;
    qwarn_sys("unable to run qstat");
    return -1;
  }
  for (;;) {
    struct pollfd p = {pfd[0], POLLIN, 0};
    unsigned long long t = now_ms();
    ssize_t n;

    if (t >= deadline) break;
    r = poll(&p, 1, (int)(deadline - t));
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) break;
    n = read(pfd[0], out + len, sizeof out - len);
    if (n == -1 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) queue_ok = 1;
      break;
    }
    len += (size_t)n;
    if (len == sizeof out) break;
  }
  close(pfd[0]);
  if (!queue_ok) kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {}
  if (!queue_ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    queue_ok = 0;
    qwarn("qstat -s failed: no queue figures");
    return -1;
  }
  queue_parse(out, len);
  return 0;
}

static void help_type(stralloc *out, const char *name, const char *help, const char *type)
{
  cat(out, "# HELP ");
  cat(out, name);
  cat(out, " ");
  cat(out, help);
  cat(out, "\n# TYPE ");
  cat(out, name);
  cat(out, " ");
  cat(out, type);
  cat(out, "\n");
}

static void sample(stralloc *out, const char *name, const char *key, const char *value,
                   unsigned long long n)
{
  cat(out, name);
  if (key != NULL) {
    cat(out, "{");
    cat(out, key);
    cat(out, "=\"");
    cat(out, value);
    cat(out, "\"}");
  }
  cat(out, " ");
  catnum(out, n);
  cat(out, "\n");
}

/* run/NAME.conns: 1 and the figures, 0 if there is no such file or it
 * is not one (two reads that differ: a store under way, try again) */
static int conns_read(const char *fn, unsigned long long v[3])
{
  char a[CONNS_LEN];
  char b[CONNS_LEN];
  int tries;
  int fd = open(fn, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int i;

  if (fd == -1) return 0;
  for (tries = 0; tries < 5; tries++) {
    if (pread(fd, a, sizeof a, 0) != (ssize_t)sizeof a || pread(fd, b, sizeof b, 0) !=
        (ssize_t)sizeof b) {
      close(fd);
      return 0;
    }
    if (!memcmp(a, b, sizeof a)) break;
  }
  close(fd);
  if (tries == 5 || a[CONNS_LEN - 1] != '\n') return 0;
  for (i = 0; i < 3; i++) {
    int k;

    v[i] = 0;
    for (k = 0; k < 10; k++) {
      char c = a[i * 11 + k];
      if (c < '0' || c > '9') return 0;
      v[i] = v[i] * 10 + (unsigned long long)(c - '0');
    }
  }
  return 1;
}

static void listeners_print(stralloc *out)
{
  char names[LOGDIRS_MAX][NAME_MAX_LEN + 1];
  unsigned long long figures[LOGDIRS_MAX][3];
  size_t count = 0;
  DIR *d = opendir("run");
  struct dirent *de;
  size_t i;

  if (d == NULL) return;
  while ((de = readdir(d)) != NULL && count < LOGDIRS_MAX) {
    size_t n = strlen(de->d_name);
    char fn[NAME_MAX_LEN + 16];

    if (n <= 6 || n - 6 > NAME_MAX_LEN || strcmp(de->d_name + n - 6, ".conns") != 0) continue;
    memcpy(names[count], de->d_name, n - 6);
    names[count][n - 6] = '\0';
    if (!name_ok(names[count])) continue;
    memcpy(fn, "run/", 4);
    memcpy(fn + 4, de->d_name, n + 1);
    if (!conns_read(fn, figures[count])) continue;
    /* a file left by a qlisten that is gone: no connections */
    if (figures[count][2] == 0 ||
        (kill((pid_t)figures[count][2], 0) == -1 && errno == ESRCH))
      figures[count][0] = 0;
    count++;
  }
  closedir(d);
  if (count == 0) return;
  help_type(out, "qmta_listener_connections", "Connections a listener (qlisten) holds now.",
            "gauge");
  for (i = 0; i < count; i++)
    sample(out, "qmta_listener_connections", "listener", names[i], figures[i][0]);
  help_type(out, "qmta_listener_connections_max",
            "The most connections a listener takes at once (control/concurrencyincoming).",
            "gauge");
  for (i = 0; i < count; i++)
    sample(out, "qmta_listener_connections_max", "listener", names[i], figures[i][1]);
}

void gauge_print(stralloc *out)
{
  size_t k;

  help_type(out, "qmta_queue_up", "1 if qstat -s gave the queue figures below, else 0.",
            "gauge");
  sample(out, "qmta_queue_up", NULL, NULL, (unsigned long long)queue_ok);
  if (queue_ok) {
    help_type(out, "qmta_queue_size",
              "The queue by state: new and bad count messages, pending, deferred and held "
              "count recipients (held ones are pending or deferred too).",
              "gauge");
    for (k = 0; queue_keys[k] != NULL; k++)
      sample(out, "qmta_queue_size", "state", queue_keys[k], queue_size[k]);
    help_type(out, "qmta_queue_messages", "Messages in the queue.", "gauge");
    sample(out, "qmta_queue_messages", NULL, NULL, queue_messages);
    help_type(out, "qmta_queue_bytes", "Bytes of the messages in the queue.", "gauge");
    sample(out, "qmta_queue_bytes", NULL, NULL, queue_bytes);
  }
  listeners_print(out);
}
