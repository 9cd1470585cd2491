/*
 * injectload: the load generator of bench/inject-bench.sh (not installed).
 * Runs C workers; each injects its share of N messages of S bytes, one
 * qinject process per message (as sendmail and qsmtpd do), the message on
 * a pipe. Prints "injected=N seconds=T rate=R" when all have been
 * acknowledged; exits 1 if any injection failed.
 *
 *   injectload -n N -c C -s S [-q qinject] sender rcpt
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: injectload -n N -c C -s S [-q qinject] sender rcpt"

static char *make_message(size_t size)
{
  static const char head[] = "From: bench@test.example\nSubject: injectload\n\n";
  char *m = malloc(size + 1);
  size_t i;

  if (m == NULL) return NULL;
  memcpy(m, head, sizeof head - 1);
  for (i = sizeof head - 1; i < size; i++) m[i] = (i % 72 == 71) ? '\n' : (char)('a' + i % 26);
  m[size - 1] = '\n';
  return m;
}

/* posix_spawn: the load generator should cost as little as it can, so
 * what is measured is the queue (fork copies page tables, vfork does not). */
static int inject_one(const char *qinject, const char *sender, const char *rcpt, const char *msg,
                      size_t len)
{
  int pi[2];
  pid_t pid;
  int status;
  size_t off = 0;
  posix_spawn_file_actions_t fa;
  char *args[5];
  int r;

  if (pipe2(pi, O_CLOEXEC) == -1) return -1;
  args[0] = (char *)qinject;
  args[1] = (char *)"-f";
  args[2] = (char *)sender;
  args[3] = (char *)rcpt;
  args[4] = NULL;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
  r = posix_spawnp(&pid, qinject, &fa, NULL, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) {
    close(pi[0]);
    close(pi[1]);
    return -1;
  }
  close(pi[0]);
  while (off < len) {
    ssize_t w = write(pi[1], msg + off, len - off);
    if (w == -1) {
      if (errno == EINTR) continue;
      break;
    }
    off += (size_t)w;
  }
  close(pi[1]);
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
  unsigned long n = 1000;
  unsigned long c = 10;
  unsigned long size = 4096;
  const char *qinject = "qinject";
  struct timespec t0, t1;
  unsigned long w;
  int opt;
  int failed = 0;
  char *msg;

  while ((opt = getopt(argc, argv, "n:c:s:q:")) != -1) {
    switch (opt) {
      case 'n': n = strtoul(optarg, NULL, 10); break;
      case 'c': c = strtoul(optarg, NULL, 10); break;
      case 's': size = strtoul(optarg, NULL, 10); break;
      case 'q': qinject = optarg; break;
      default: fprintf(stderr, "%s\n", USAGE); return 100;
    }
  }
  if (argc - optind != 2 || n == 0 || c == 0 || c > 1000 || size < 64 || size > (64UL << 20)) {
    fprintf(stderr, "%s\n", USAGE);
    return 100;
  }
  msg = make_message(size);
  if (msg == NULL) return 111;
  signal(SIGPIPE, SIG_IGN);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (w = 0; w < c; w++) {
    pid_t pid = fork();
    if (pid == -1) return 111;
    if (pid == 0) {
      unsigned long k;
      int bad = 0;
      for (k = w; k < n; k += c)
        if (inject_one(qinject, argv[optind], argv[optind + 1], msg, size) == -1) bad = 1;
      _exit(bad);
    }
  }
  for (w = 0; w < c; w++) {
    int status;
    if (wait(&status) == -1) break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  {
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("injected=%lu seconds=%.2f rate=%.0f\n", n, secs, secs > 0 ? (double)n / secs : 0.0);
  }
  free(msg);
  return failed;
}
