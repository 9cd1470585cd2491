/*
 * qsend: the scheduler. Takes committed messages out of queue/new, hands
 * each recipient to qlspawn (local) or qrspawn (remote), records what
 * happened in the message's info log, retries what was deferred, reports
 * failures to the sender, and removes a message once every recipient is
 * delivered or failed.
 *
 * Started by s6 (service/qsend/run), on a root instance as root: it
 * creates the spawners' pipes, starts qlspawn (which stays root, to become
 * each mailbox's owner) and qrspawn (as qmta-remote), then drops to
 * qmta-send. On another user's instance everything runs as that user.
 *
 *   qsend [-d fd]      -d: write "\n" to fd when ready (s6 notification-fd)
 *
 * The control files it reads are looked at (one stat each) before new
 * mail is taken in and at most CTL_CHECK_MS apart otherwise, and read
 * again when one changed: a domain added to control/locals is delivered
 * here from the first message qsmtpd accepts for it.
 * Signals: SIGALRM retries every deferred recipient now (s6-svc -a);
 * SIGHUP rereads the control files; SIGTERM stops taking new work, lets
 * the deliveries in flight finish, and exits 0. Nothing is lost at any
 * moment: the queue files are the truth, and a recipient is only marked
 * done after its delivery (or its bounce) is on disk.
 * Exit: 0 after SIGTERM, 111 when it cannot go on (s6 restarts it).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <scan.h>

#include "accounts.h"
#include "ctl.h"
#include "ctldef.h"
#include "qlog.h"
#include "qsend.h"

#define USAGE "qsend [-d fd]"
#define RESCAN_SECONDS 60       /* queue/new is read at least this often */
#define TMP_CLEAN_SECONDS 3600
#define POOL_SWEEP_SECONDS 60   /* queue/pool: idle files dropped (queue_pool.c) */
#define STOP_WAIT 8             /* seconds deliveries in flight get after SIGTERM */
#define CTL_CHECK_MS 250        /* control files looked at this often, besides new mail */

struct config cfg;
time_t now;

static int selfpipe[2];
static int trigger_fd = -1;
static struct msg_list found; /* the scans' take, the space reused */
static volatile sig_atomic_t got_alarm;
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void on_signal(int sig)
{
  int e = errno;

  if (sig == SIGALRM) got_alarm = 1;
  if (sig == SIGTERM) got_term = 1;
  if (sig == SIGHUP) got_hup = 1;
  if (write(selfpipe[1], "s", 1) == -1) {
    /* full: a wakeup is pending anyway */
  }
  errno = e;
}

static void readint(unsigned long *v, const char *fn, unsigned long def, unsigned long min)
{
  if (ctl_readint(v, fn, def) == -1) {
    qwarn_sys("unable to read ", fn, ", using the default");
    *v = def;
  }
  if (*v < min) *v = min;
}

/* What config_read reads after the start (concurrencylocal and
 * concurrencyremote size the slots: they count from the next start). */
static const char *const config_files[] = {
  "control/concurrencydomain", "control/domainlimits", "control/backoffmin",
  "control/backoffmax", "control/queuelifetime", "control/queuewarn", "control/locals",
  "control/me", NULL,
};
static struct ctl_watch config_watch = {config_files, {{0}}, 0};

static void config_read(int first)
{
  unsigned long v;

  if (first) {
    /* the number of slots is fixed for the life of the process */
    readint(&cfg.conc_local, "control/concurrencylocal", CTLDEF_CONCURRENCYLOCAL, 1);
    readint(&cfg.conc_remote, "control/concurrencyremote", CTLDEF_CONCURRENCYREMOTE, 1);
    if (cfg.conc_local > 100000) cfg.conc_local = 100000;
    if (cfg.conc_remote > 100000) cfg.conc_remote = 100000;
  }
  readint(&v, "control/concurrencydomain", cfg.conc_remote, 1);
  cfg.conc_domain = v;
  if (ctl_readlist(&cfg.domlimits, "control/domainlimits") == -1)
    qwarn_sys("unable to read control/domainlimits, keeping the previous limits");
  {
    size_t i = 0;
    while (i < cfg.domlimits.len) {
      size_t len = strlen(cfg.domlimits.s + i);
      if (dom_limits_parse(cfg.domlimits.s + i, len) == -1)
        qwarn("malformed entry in control/domainlimits, ignored: ", cfg.domlimits.s + i);
      i += len + 1;
    }
  }
  cfg.limits_gen++;
  readint(&cfg.backoff_min, "control/backoffmin", CTLDEF_BACKOFFMIN, 1);
  readint(&cfg.backoff_max, "control/backoffmax", CTLDEF_BACKOFFMAX, 1);
  if (cfg.backoff_max < cfg.backoff_min) cfg.backoff_max = cfg.backoff_min;
  readint(&cfg.lifetime, "control/queuelifetime", CTLDEF_QUEUELIFETIME, 0);
  readint(&cfg.warn, "control/queuewarn", CTLDEF_QUEUEWARN, 0);
  if (ctl_readlist(&cfg.locals, "control/locals") == -1)
    qwarn_sys("unable to read control/locals");
  if (ctl_readline(&cfg.me, "control/me", "localhost") == -1)
    qwarn_sys("unable to read control/me");
}

/* Reads the control files again if one changed: always when force is set
 * (new mail is about to be routed), else at most every CTL_CHECK_MS. */
static void config_check(int force)
{
  static struct timespec last;
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  if (!force && (t.tv_sec - last.tv_sec) * 1000L + (t.tv_nsec - last.tv_nsec) / 1000000L <
                    CTL_CHECK_MS)
    return;
  last = t;
  if (ctl_changed(&config_watch) == 1) {
    config_read(0);
    qlog("control files changed: reread");
  }
}

/* What a scan of the queue took in goes to the scheduler. */
static void schedule_found(void)
{
  size_t i;

  for (i = 0; i < found.len; i++) sched_add(found.m[i]);
  found.len = 0;
}

/* One scheduler per queue: a second qsend (a supervisor left over from a
 * crash, a hand-started copy) would deliver everything twice and leave
 * info logs of messages the other one removed. The lock lives as long as
 * this process (the descriptor is close-on-exec: spawners do not hold it). */
static void queue_lock(void)
{
  int fd = open("queue/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd == -1) qdie_sys(111, "unable to open queue/lock");
  if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
    if (errno == EWOULDBLOCK) qdie(111, "another qsend is running on this queue");
    qdie_sys(111, "unable to lock queue/lock");
  }
}

static void trigger_open(void)
{
  /* O_RDWR: the FIFO always has a writer, so it never reads as EOF */
  trigger_fd = open("queue/trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (trigger_fd == -1) qdie_sys(111, "unable to open queue/trigger");
}

/* -d fd: *ready_fd gets it and 1 is returned; 0 without -d. */
static int parse_args(int argc, char **argv, unsigned long *ready_fd)
{
  int opt;
  int have_ready_fd = 0;

  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "d:")) != -1) {
    switch (opt) {
      case 'd':
        if (optarg[scan_ulong(optarg, ready_fd)] != '\0' || *ready_fd > 1000)
          qdie_usage(USAGE);
        have_ready_fd = 1;
        break;
      default: qdie_usage(USAGE);
    }
  }
  if (optind != argc) qdie_usage(USAGE);
  return have_ready_fd;
}

/* The signals, each a byte on the self-pipe. */
static void signals_catch(void)
{
  struct sigaction sa;

  if (pipe2(selfpipe, O_NONBLOCK | O_CLOEXEC) == -1) qdie_sys(111, "unable to create a pipe");
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* The queue locked, the trigger open, the spawners started, then (root)
 * down to qmta-send. */
static void start_up(int have_ready_fd, unsigned long ready_fd)
{
  queue_lock();
  trigger_open();
  /* the readiness descriptor is ours alone: qlspawn (root) and qrspawn,
   * and the programs they run, must not inherit it */
  if (have_ready_fd && fcntl((int)ready_fd, F_SETFD, FD_CLOEXEC) == -1)
    qwarn_sys("unable to set close-on-exec on the readiness fd");
  spawner_start(0, cfg.conc_local, &got_term);
  spawner_start(1, cfg.conc_remote, &got_term);
  if (getuid() == 0) qsend_drop_to(ACCT_SEND);
}

/* when the periodic chores last ran (tick) */
static time_t last_scan;
static time_t last_clean;
static time_t last_pool;
static time_t last_admin;

/* The whole queue taken in, then ready (s6 notification). */
static void first_scan(int have_ready_fd, unsigned long ready_fd)
{
  now = time(NULL);
  queue_scan_all(&found);
  schedule_found();
  admin_run();
  queue_pool_tidy();
  last_scan = last_clean = last_pool = now;
  qlog("ready");
  if (have_ready_fd) {
    if (write((int)ready_fd, "\n", 1) == -1) qwarn_sys("unable to write the readiness fd");
    close((int)ready_fd);
  }
}

/* After SIGTERM: 1 when qsend may stop (no new jobs; the job pipes are
 * closed once what we owe them is written), at the latest STOP_WAIT
 * seconds after the first call (*term_at). */
static int stop_due(time_t *term_at)
{
  if (spawner_close_idle()) return 1;
  if (*term_at == 0) *term_at = now;
  if (now - *term_at >= STOP_WAIT) {
    /* what is still in flight is tried again next time: at worst a duplicate */
    qlog("stopping with deliveries in flight");
    return 1;
  }
  return 0;
}

/* What to wait for (index: -1 the self-pipe, -2 the trigger, else a
 * spawner's, spawner_poll), and for how long. The number of entries. */
static int poll_set(struct pollfd *pfd, int *index, long *timeout)
{
  int n = 0;

  pfd[n].fd = selfpipe[0];
  pfd[n].events = POLLIN;
  index[n++] = -1;
  if (!got_term) {
    pfd[n].fd = trigger_fd;
    pfd[n].events = POLLIN;
    index[n++] = -2;
  }
  n = spawner_poll(pfd, index, n);
  *timeout = sched_timeout_ms();
  if (*timeout == -1 || *timeout > RESCAN_SECONDS * 1000L) *timeout = RESCAN_SECONDS * 1000L;
  if (got_term) *timeout = 1000;
  return n;
}

/* The trigger: new mail in queue/new, and maybe a writer short of space
 * (drain) or a request of qqueue (admin). */
static void trigger_read(void)
{
  char junk[4096];
  ssize_t got;
  int drain = 0;
  int admin = 0;

  while ((got = read(trigger_fd, junk, sizeof junk)) > 0) {
    if (memchr(junk, QUEUE_TRIGGER_DRAIN[0], (size_t)got) != NULL) drain = 1;
    if (memchr(junk, QUEUE_TRIGGER_ADMIN[0], (size_t)got) != NULL) admin = 1;
  }
  /* a writer out of space: the pool's files it may not remove go */
  if (drain && queue_pool_drain() > 0) qlog("pool: emptied for a writer short of space");
  config_check(1); /* routed with what qsmtpd saw when it took the mail */
  queue_scan_new(&found);
  schedule_found();
  last_scan = now;
  if (admin) { /* qqueue: after the take-in, so that it finds the newest too */
    admin_run();
    last_admin = now;
  }
}

/* After each wait: the signals' requests, then the chores that are due
 * by the clock (rescan, tmp/ cleaning, the pool's sweep). */
static void tick(void)
{
  if (got_hup) {
    got_hup = 0;
    config_read(0);
    qlog("control files reread");
  }
  if (got_alarm) {
    got_alarm = 0;
    sched_flush(); /* logs what it made due */
  }
  if (!got_term && admin_waiting && now != last_admin) { /* requests waiting for a job */
    admin_run();
    last_admin = now;
  }
  if (!got_term && now - last_scan >= RESCAN_SECONDS) {
    config_check(1);
    queue_scan_new(&found);
    schedule_found();
    last_scan = now;
  }
  if (!got_term && now - last_clean >= TMP_CLEAN_SECONDS) {
    queue_clean_tmp(0);
    last_clean = now;
  }
  if (!got_term && now - last_pool >= POOL_SWEEP_SECONDS) {
    queue_pool_tidy();
    last_pool = now;
  }
}

/* The one loop: jobs started and written, then a wait for the self-pipe,
 * the trigger, the spawners or the next due time; until SIGTERM. */
static void loop(void)
{
  time_t term_at = 0;
  int which;

  for (;;) {
    struct pollfd pfd[6];
    int index[6];
    int n;
    int i;
    long timeout;

    now = time(NULL);
    if (!got_term) {
      config_check(0);
      sched_due();
      sched_dispatch();
    }
    for (which = 0; which < 2; which++) spawner_write(which);
    if (got_term && stop_due(&term_at)) break;

    n = poll_set(pfd, index, &timeout);
    if (poll(pfd, (nfds_t)n, (int)timeout) == -1) {
      if (errno != EINTR) qdie_sys(111, "unable to poll");
      continue;
    }
    now = time(NULL);
    for (i = 0; i < n; i++) {
      if (pfd[i].revents == 0) continue;
      if (index[i] == -1) {
        char junk[64];
        while (read(selfpipe[0], junk, sizeof junk) > 0) {
        }
      } else if (index[i] == -2) {
        trigger_read();
      } else if (index[i] >= SPAWNER_POLL_WRITE) {
        spawner_write(index[i] - SPAWNER_POLL_WRITE);
      } else {
        spawner_read(index[i]);
      }
    }
    tick();
  }
}

int main(int argc, char **argv)
{
  unsigned long ready_fd = 0;
  int have_ready_fd;

  qlog_prog = "qsend";
  have_ready_fd = parse_args(argc, argv, &ready_fd);
  if (qhome_chdir() == -1) qdie_sys(111, "unable to chdir to ", qhome());
  umask(027);
  ctl_changed(&config_watch); /* primed first: a change during the read is seen */
  config_read(1);
  sched_init();
  signals_catch();
  start_up(have_ready_fd, ready_fd);
  first_scan(have_ready_fd, ready_fd);
  loop();
  qlog("stopped");
  return 0;
}
