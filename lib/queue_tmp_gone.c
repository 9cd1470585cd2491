/*
 * queue_tmp_gone: whether the writer of a temp file in queue/tmp has
 * ended, from the file's name (PID.TIME.COUNTER, queue_open.c), for
 * qsend's clean-up of the files that killed writers leave.
 *
 * kill(PID, 0) alone is no proof that the writer lives:
 *   - a writer killed with its parent (a kill -9 of a listener and its
 *     pool of session processes, of a whole supervision tree) is a zombie
 *     until init reaps it, and init may take seconds to do so on a busy
 *     machine: a zombie still has its pid, and qsend starting meanwhile
 *     kept the file until its next start or its hourly sweep;
 *   - pids come round again (pid_max is 32768 on many systems, and a
 *     busy machine goes through them within minutes): by the time qsend
 *     looks, the pid may be another process's.
 * So /proc/PID/stat is read as well: a zombie has ended, and a process
 * that started after TIME is not the one that created the file (TIME is
 * whole seconds, and so is the boot time the start counts from: START_SLACK
 * covers both). When /proc cannot tell (not mounted, or hidepid hides
 * other users' processes), kill decides alone, as before. CLOCK_BOOTTIME
 * is the clock the start time counts in on current kernels; on an older
 * one that counts without the time spent suspended, the start comes out
 * earlier than it was, which can only keep a file, never drop a live one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>

#include "queue.h"

#define START_SLACK 2     /* seconds: TIME and the boot time are whole seconds */
#define STAT_MAX 1024     /* bytes of /proc/PID/stat read; its fields fit */
#define STAT_STARTTIME 19 /* starttime: field 22 of proc(5), the 19th after the state */

/* PID and TIME from "PID.TIME.COUNTER": 0, or -1 (another form) */
static int name_scan(const char *name, unsigned long *pid, unsigned long *when)
{
  size_t n = scan_ulong(name, pid);
  size_t k;

  if (n == 0 || name[n] != '.' || *pid == 0 || *pid > 0x7fffffffUL) return -1;
  k = scan_ulong(name + n + 1, when);
  if (k == 0 || name[n + 1 + k] != '.') return -1;
  return 0;
}

/* The state letter and start time (clock ticks since boot) of pid from
 * /proc/PID/stat: 0, or -1 if it cannot be read or parsed. */
static int proc_stat(unsigned long pid, char *state, unsigned long long *start)
{
  char path[40];
  char buf[STAT_MAX];
  const char *p;
  size_t n;
  ssize_t r;
  int fd;
  int field;

  memcpy(path, "/proc/", 6);
  n = 6 + fmt_ulong(path + 6, pid);
  memcpy(path + n, "/stat", 6);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return -1;
  do {
    r = read(fd, buf, sizeof buf - 1);
  } while (r == -1 && errno == EINTR);
  close(fd);
  if (r <= 0) return -1;
  buf[r] = '\0';
  p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
  if (p == NULL || p[1] != ' ' || p[2] == '\0') return -1;
  p += 2;
  *state = *p;
  for (field = 0; field < STAT_STARTTIME; field++) {
    p = strchr(p, ' ');
    if (p == NULL) return -1;
    p++;
  }
  if (scan_ulonglong(p, start) == 0) return -1;
  return 0;
}

/* 1 if the process that has pid now started after when (seconds since
 * the epoch), 0 if not or if that cannot be told */
static int started_after(unsigned long long start_ticks, unsigned long when)
{
  long hz = sysconf(_SC_CLK_TCK);
  struct timespec boot;
  struct timespec real;
  unsigned long long since_boot;
  unsigned long long start_sec;
  unsigned long long age;

  if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) == -1 ||
      clock_gettime(CLOCK_REALTIME, &real) == -1 || boot.tv_sec < 0 || real.tv_sec < 0)
    return 0;
  since_boot = (unsigned long long)boot.tv_sec;
  start_sec = start_ticks / (unsigned long long)hz;
  if (start_sec > since_boot) return 0; /* cannot be: say nothing */
  age = since_boot - start_sec;         /* how long ago it started */
  if (age > (unsigned long long)real.tv_sec) return 0;
  return (unsigned long long)real.tv_sec - age > (unsigned long long)when + START_SLACK;
}

int queue_tmp_gone(const char *name)
{
  unsigned long pid;
  unsigned long when;
  unsigned long long start;
  char state;
  int e = errno;
  int gone = 0;

  if (name_scan(name, &pid, &when) == -1) return 0;
  if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
    gone = 1;
  } else if (proc_stat(pid, &state, &start) == 0) {
    /* Z: a zombie; X (x on old kernels): dead, being reaped */
    gone = state == 'Z' || state == 'X' || state == 'x' || started_after(start, when);
  }
  errno = e;
  return gone;
}
