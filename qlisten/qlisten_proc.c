/*
 * qlisten_proc: the table of session processes. Each slot is also the
 * process's slot in the shared table (listenproto.h).
 *
 * Pool mode (-s N): a process is started ahead of need with its end of a
 * SOCK_SEQPACKET socket pair on fd 3, waits (PROC_IDLE), gets connections
 * one after another (PROC_BUSY), says "D" after each, and is retired
 * (its socket closed: it exits) after N of them or when idle too long.
 * Classic mode: one process per connection, the client on fd 0 and 1.
 * Processes are started with posix_spawn: no copy of our page tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>

#include "fdpass.h"
#include "qlisten.h"
#include "qlog.h"

#define POOL_FD 3 /* the socket pair's end in a pool process */
#define SHM_FD 4  /* the shared table in every process */

extern char **environ;

struct proc *procs;
size_t nprocs;
struct listen_shm *shm;
unsigned long active;

static int shm_fd = -1;
static int devnull = -1;

uint32_t now_sec(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint32_t)t.tv_sec;
}

int procs_init(size_t n)
{
  size_t size = sizeof *shm + n * sizeof(struct listen_slot);
  size_t i;
  void *p;

  procs = calloc(n, sizeof *procs);
  if (procs == NULL) return -1;
  nprocs = n;
  for (i = 0; i < n; i++) {
    procs[i].state = PROC_FREE;
    procs[i].ctl = -1;
    procs[i].client = -1;
  }
  shm_fd = memfd_create("qlisten", MFD_CLOEXEC);
  if (shm_fd == -1) return -1;
  if (ftruncate(shm_fd, (off_t)size) == -1) return -1;
  p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  if (p == MAP_FAILED) return -1;
  shm = p;
  shm->slots = (uint32_t)n;
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull == -1) return -1;
  return 0;
}

struct proc *proc_by_pid(pid_t pid)
{
  size_t i;

  for (i = 0; i < nprocs; i++)
    if (procs[i].state != PROC_FREE && procs[i].pid == pid) return &procs[i];
  return NULL;
}

struct proc *proc_by_ctl(int fd)
{
  size_t i;

  for (i = 0; i < nprocs; i++)
    if (procs[i].state != PROC_FREE && procs[i].ctl == fd) return &procs[i];
  return NULL;
}

/* "NAME=number" into buf (at least 32 bytes) */
static char *env_number(char *buf, const char *name, unsigned long n)
{
  size_t len = strlen(name);
  char num[FMT_ULONG];

  memcpy(buf, name, len);
  buf[len++] = '=';
  qlog_ulong(num, n);
  memcpy(buf + len, num, strlen(num) + 1);
  return buf;
}

/* Our environment without the names in extra, then extra: the records
 * (envlen bytes) and the two or three numbers. NULL if no memory. */
static char **child_env(const char *extra, size_t envlen, char *nums[3])
{
  size_t n = 0;
  size_t count = 4;
  size_t i;
  size_t pos;
  char **e;

  for (i = 0; environ[i] != NULL; i++) count++;
  for (pos = 0; pos < envlen; pos += strlen(extra + pos) + 1) count++;
  e = malloc(count * sizeof *e);
  if (e == NULL) return NULL;
  for (i = 0; environ[i] != NULL; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t nlen = eq != NULL ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int dup = 0;
    for (pos = 0; pos < envlen && !dup; pos += strlen(extra + pos) + 1)
      dup = strncmp(extra + pos, environ[i], nlen) == 0 && extra[pos + nlen] == '=';
    if (strncmp(environ[i], "QLISTEN", 7) == 0) dup = 1; /* never inherited */
    if (!dup) e[n++] = environ[i];
  }
  for (pos = 0; pos < envlen; pos += strlen(extra + pos) + 1) e[n++] = (char *)(extra + pos);
  for (i = 0; i < 3; i++)
    if (nums[i] != NULL) e[n++] = nums[i];
  e[n] = NULL;
  return e;
}

static long free_slot(void)
{
  size_t i;

  for (i = 0; i < nprocs; i++)
    if (procs[i].state == PROC_FREE) return (long)i;
  return -1;
}

long proc_spawn(int client, const char *env, size_t envlen)
{
  long slot = free_slot();
  struct proc *p;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigset_t deflt;
  char shm_env[32];
  char slot_env[32];
  char fd_env[32];
  char *nums[3];
  char **envp;
  int pair[2] = {-1, -1};
  pid_t pid;
  int r;

  if (slot == -1) {
    qwarn("unable to start ", cfg.argv[0], ": no free process slot");
    return -1;
  }
  p = &procs[slot];
  if (cfg.uses > 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1) {
    qwarn_sys("unable to create socket pair");
    return -1;
  }
  nums[0] = env_number(shm_env, "QLISTENSHM", SHM_FD);
  nums[1] = env_number(slot_env, "QLISTENSLOT", (unsigned long)slot);
  nums[2] = cfg.uses > 0 ? env_number(fd_env, "QLISTENFD", POOL_FD) : NULL;
  envp = child_env(env, envlen, nums);
  if (envp == NULL) {
    qwarn("unable to start ", cfg.argv[0], ": out of memory");
    goto fail;
  }
  if (posix_spawn_file_actions_init(&fa) != 0) {
    free(envp);
    goto fail;
  }
  posix_spawnattr_init(&attr);
  sigemptyset(&none);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGPIPE);
  sigaddset(&deflt, SIGCHLD);
  sigaddset(&deflt, SIGTERM);
  sigaddset(&deflt, SIGHUP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &deflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* fd 0 and 1: the client (classic) or /dev/null (pool, between connections) */
  r = posix_spawn_file_actions_adddup2(&fa, client != -1 ? client : devnull, 0);
  if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, client != -1 ? client : devnull, 1);
  if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, shm_fd, SHM_FD);
  if (r == 0 && pair[1] != -1) r = posix_spawn_file_actions_adddup2(&fa, pair[1], POOL_FD);
  if (r == 0) r = posix_spawnp(&pid, cfg.argv[0], &fa, &attr, cfg.argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free(envp);
  if (r != 0) {
    errno = r;
    qwarn_sys("unable to run ", cfg.argv[0]);
    goto fail;
  }
  if (pair[1] != -1) close(pair[1]);
  p->pid = pid;
  p->ctl = pair[0];
  p->client = -1;
  p->evicted = 0;
  p->uses = 0;
  p->idle_since = now_sec();
  shm->slot[slot].progress = p->idle_since;
  if (cfg.uses > 0) {
    if (loop_watch(p->ctl) == -1) {
      qwarn_sys("unable to watch a session process");
      close(p->ctl);
      p->ctl = -1;
      p->state = PROC_EXITING; /* its socket closed: it exits, and is reaped */
      return -1;
    }
    p->state = PROC_IDLE;
  } else {
    p->state = PROC_BUSY;
    p->uses = 1;
  }
  return slot;

fail:
  if (pair[0] != -1) close(pair[0]);
  if (pair[1] != -1) close(pair[1]);
  return -1;
}

int proc_handoff(struct proc *p, int client, const char *env, size_t envlen)
{
  ssize_t w = fdpass_sendmsg(p->ctl, env, envlen, client, MSG_DONTWAIT);

  if (w != (ssize_t)envlen) return -1;
  p->state = PROC_BUSY;
  p->uses++;
  p->evicted = 0;
  shm->slot[p - procs].progress = now_sec();
  return 0;
}

void proc_conn_end(struct proc *p)
{
  if (p->client == -1) return;
  if (p->client >= 0) close(p->client);
  p->client = -1;
  peers_del(&p->key);
  if (active > 0) active--;
}

void proc_retire(struct proc *p)
{
  if (p->ctl != -1) {
    loop_unwatch(p->ctl);
    close(p->ctl);
    p->ctl = -1;
  }
  p->state = PROC_EXITING;
}

void proc_reaped(struct proc *p, int status)
{
  char num[FMT_ULONG];

  proc_conn_end(p);
  proc_retire(p);
  if (WIFSIGNALED(status))
    qwarn(cfg.argv[0], " ended by signal ", qlog_ulong(num, (unsigned long)WTERMSIG(status)));
  p->state = PROC_FREE;
  p->pid = 0;
}
