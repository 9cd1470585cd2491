/*
 * qlisten: the TCP listener of the SMTP and POP3 services, in the
 * tcpserver tradition (UCSPI environment, a rules CDB, connection limits).
 *
 *   qlisten [-d fd] [-c max] [-p perip] [-P perloopback] [-w highwater]
 *           [-x rules.cdb] [-m reply] [-M reply] [-u user] [-l localname]
 *           [-s uses] [-i idle] [-b backlog] [-S statfile] ip port prog [arg...]
 *
 * Started by an s6 run script as root (to bind a low port), it binds,
 * becomes -u (with that account's groups) and stays that user; every
 * program it starts runs as that user too. For each connection it checks
 * the rules (-x: tcprules' format; "deny" closes the connection), the
 * limit per client address (-p; -P for loopback addresses; an IPv6
 * client counts by its /64; over the limit the client gets the -m reply)
 * and the total (-c): when every slot is taken, the connection that has
 * made no progress for longest is ended to make room if it is idle for
 * ten seconds, or if its address holds more connections than the
 * newcomer's; otherwise the newcomer gets the -M reply. Above -w
 * connections (default three quarters of -c) the programs are told to
 * use their short timeouts (the stress flag, listenproto.h).
 *
 * Pool mode (-s uses): prog is started ahead of need and serves up to
 * uses connections one after another, each handed over on a socket pair
 * with its environment (listenproto.h); -i processes (default 2) are kept
 * ready, and one idle for a minute beyond those is retired. -s 1 gives
 * every connection a fresh process. Without -s, prog is started for each
 * connection with the client on fd 0 and fd 1 and the environment set,
 * as tcpserver does. Either way the environment holds PROTO=TCP,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT, TCPLOCALHOST (-l)
 * and the rule's variables. Programs are started with posix_spawn.
 *
 * Signals: SIGTERM or SIGINT: stop listening and exit; each busy program
 * finishes its connection first. SIGHUP: every program is replaced by a
 * fresh one once its connection is over (after an upgrade). With -d,
 * "\n" goes to fd once the socket listens and the first programs run.
 * -S statfile: the number of connections now, kept up to date in that
 * file for qmetrics (qlisten_stat.c).
 * Exit: 0 after SIGTERM, 100 on misuse, 111 when it cannot listen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt.h>

#include "cdbmap.h"
#include "qlisten.h"
#include "qlog.h"
#include "sysacct.h"

#define USAGE "qlisten [-d fd] [-c max] [-p perip] [-P perloopback] [-w highwater] " \
              "[-x rules.cdb] [-m reply] [-M reply] [-u user] [-l localname] [-s uses] " \
              "[-i idle] [-b backlog] [-S statfile] ip port prog [arg...]"
#define LIMIT_MAX 100000     /* largest -c, -p, -P, -i, -b */
#define REPLY_MAX 512        /* bytes of a refusal line */
#define IDLE_RETIRE 60       /* seconds an extra pool process may idle */
#define EVICT_IDLE 10        /* seconds without progress that make a connection evictable */
#define EVICT_FAIR_IDLE 1    /* ... when its address holds more than the newcomer's */
#define SPAWN_PER_TICK 16    /* pool processes started ahead of need per pass */
#define ACCEPT_PER_PASS 64
#define EVENTS 64

struct config cfg;

static int epfd = -1;
static int listen_fd = -1;
static int sig_fd = -1;
static int accept_paused;   /* out of descriptors: the listening socket rests */
static uint32_t accept_resume;
static uint32_t spawn_resume; /* a start failed: no pool start before this */
static const char *localname;
static char perip_reply[REPLY_MAX + 3];
static char busy_reply[REPLY_MAX + 3];

static unsigned long scan_limit(const char *s)
{
  unsigned long n = 0;
  size_t i;

  if (s[0] == '\0') qdie_usage(USAGE);
  for (i = 0; s[i] != '\0'; i++) {
    if (s[i] < '0' || s[i] > '9' || i >= 9) qdie_usage(USAGE);
    n = n * 10 + (unsigned long)(s[i] - '0');
  }
  if (n > LIMIT_MAX) qdie_usage(USAGE);
  return n;
}

/* "text" -> "text\r\n" in buf; "" stays "" */
static const char *crlf_line(char *buf, const char *text)
{
  size_t n = strlen(text);

  if (n > REPLY_MAX || strpbrk(text, "\r\n") != NULL) qdie_usage(USAGE);
  if (n == 0) return "";
  memcpy(buf, text, n);
  memcpy(buf + n, "\r\n", 3);
  return buf;
}

int loop_watch(int fd)
{
  struct epoll_event ev;

  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

void loop_unwatch(int fd)
{
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- start-up ---- */

static void become(const char *user)
{
  struct sysacct a;
  int r = sysacct_find(&a, user);

  if (r == -1) qdie_sys(111, "unable to find user ", user);
  if (r == 0) qdie(111, "unable to find user ", user, ": no such user");
  if (sysacct_become(&a) == -1) qdie_sys(111, "unable to become ", user);
}

/* The listening socket: "0" means every IPv6 and IPv4 address. */
static int bind_listen(const char *ip, const char *port, int backlog)
{
  struct sockaddr_in6 s6;
  struct sockaddr_in s4;
  unsigned long p = 0;
  size_t i;
  int any = strcmp(ip, "0") == 0 || strcmp(ip, "::") == 0;
  int v6 = any || strchr(ip, ':') != NULL;
  int fd;
  int one = 1;
  int zero = 0;

  for (i = 0; port[i] != '\0'; i++) {
    if (port[i] < '0' || port[i] > '9' || i >= 5) qdie_usage(USAGE);
    p = p * 10 + (unsigned long)(port[i] - '0');
  }
  if (i == 0 || p > 65535) qdie_usage(USAGE);
  memset(&s6, 0, sizeof s6);
  memset(&s4, 0, sizeof s4);
  if (v6) {
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons((uint16_t)p);
    if (any) s6.sin6_addr = in6addr_any;
    else if (inet_pton(AF_INET6, ip, &s6.sin6_addr) != 1) qdie(100, "not an IP address: ", ip);
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1 && any && errno == EAFNOSUPPORT) v6 = 0; /* an IPv4-only host */
    else if (fd == -1) qdie_sys(111, "unable to create socket");
  }
  if (!v6) {
    s4.sin_family = AF_INET;
    s4.sin_port = htons((uint16_t)p);
    if (any) s4.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, ip, &s4.sin_addr) != 1) qdie(100, "not an IP address: ", ip);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) qdie_sys(111, "unable to create socket");
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&s6, sizeof s6) == -1)
      qdie_sys(111, "unable to bind ", ip, " port ", port);
  } else if (bind(fd, (struct sockaddr *)&s4, sizeof s4) == -1) {
    qdie_sys(111, "unable to bind ", ip, " port ", port);
  }
  if (listen(fd, backlog) == -1) qdie_sys(111, "unable to listen on ", ip, " port ", port);
  return fd;
}

/* Room for a descriptor per connection, our copy of it, and the pool. */
static void raise_fd_limit(size_t need)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == -1) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < need) qwarn("descriptor limit below what -c needs: connections will be refused");
}

/* ---- connections ---- */

/* 16-byte form and text of a socket address; the port into *port. */
static void addr_of(const struct sockaddr_storage *ss, unsigned char bin[16], char *text,
                    unsigned long *port)
{
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    memcpy(bin, &s6->sin6_addr, 16);
    *port = ntohs(s6->sin6_port);
  } else {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    memcpy(bin, mapped, 12);
    memcpy(bin + 12, &s4->sin_addr, 4);
    *port = ntohs(s4->sin_port);
  }
  if (memcmp(bin, mapped, 12) == 0) inet_ntop(AF_INET, bin + 12, text, INET6_ADDRSTRLEN);
  else inet_ntop(AF_INET6, bin, text, INET6_ADDRSTRLEN);
}

/* Appends "NAME=VALUE\0" to env. 0, -1 no room. */
static int env_put(char *env, size_t *len, const char *name, const char *value)
{
  size_t n = strlen(name);
  size_t v = strlen(value);

  if (*len + n + v + 2 > LISTEN_MSG_MAX) return -1;
  memcpy(env + *len, name, n);
  env[*len + n] = '=';
  memcpy(env + *len + n + 1, value, v + 1);
  *len += n + v + 2;
  return 0;
}

static void refuse(int fd, const char *line)
{
  if (line[0] != '\0') send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
  close(fd);
}

/* When every slot is taken: the connection to end for the newcomer from
 * key, or NULL. First the idlest of the address holding the most
 * connections, if that is more than the newcomer's would be; else the
 * connection without progress for longest, if for EVICT_IDLE seconds. */
static struct proc *choose_victim(const struct peer_key *key)
{
  uint32_t now = now_sec();
  unsigned long mine = peers_count(key) + 1;
  struct proc *fair = NULL;
  struct proc *old = NULL;
  unsigned long fair_count = 0;
  uint32_t fair_idle = 0;
  uint32_t old_idle = 0;
  size_t i;

  for (i = 0; i < nprocs; i++) {
    struct proc *p = &procs[i];
    uint32_t idle;
    unsigned long c;

    if (p->state != PROC_BUSY || p->evicted || p->client < 0) continue;
    idle = now - shm->slot[i].progress;
    if (idle > 0x7fffffffU) idle = 0; /* progress set after now was read */
    c = peers_count(&p->key);
    if (c > mine && idle >= EVICT_FAIR_IDLE &&
        (c > fair_count || (c == fair_count && idle > fair_idle))) {
      fair = p;
      fair_count = c;
      fair_idle = idle;
    }
    if (idle >= EVICT_IDLE && idle > old_idle) {
      old = p;
      old_idle = idle;
    }
  }
  return fair != NULL ? fair : old;
}

static void evict(struct proc *p, const char *newcomer)
{
  char num[FMT_ULONG];

  qlog("evict ip=", p->ip, " idle=", qlog_ulong(num, (unsigned long)(now_sec() - shm->slot[p - procs].progress)),
       " for=", newcomer);
  if (busy_reply[0] != '\0')
    send(p->client, busy_reply, strlen(busy_reply), MSG_DONTWAIT | MSG_NOSIGNAL);
  shutdown(p->client, SHUT_RDWR); /* the program reads end of file and ends the session */
  p->evicted = 1;
}

/* The most recently idle pool process (its memory is warmest), or NULL. */
static struct proc *idle_proc(void)
{
  struct proc *best = NULL;
  size_t i;

  for (i = 0; i < nprocs; i++)
    if (procs[i].state == PROC_IDLE && (best == NULL || procs[i].idle_since >= best->idle_since))
      best = &procs[i];
  return best;
}

static void settle(void);
static void proc_event(int fd);
static void reap(void);

static void new_connection(int fd, const struct sockaddr_storage *peer)
{
  struct sockaddr_storage local;
  socklen_t llen = sizeof local;
  unsigned char bin[16];
  unsigned char lbin[16];
  char ip[INET6_ADDRSTRLEN];
  char lip[INET6_ADDRSTRLEN];
  char num[FMT_ULONG];
  char env[LISTEN_MSG_MAX];
  size_t envlen = 0;
  unsigned long port;
  unsigned long lport;
  unsigned long limit;
  struct peer_key key;
  struct proc *p;
  int loopback;
  int r;

  addr_of(peer, bin, ip, &port);
  if (getsockname(fd, (struct sockaddr *)&local, &llen) == -1) {
    close(fd);
    return;
  }
  addr_of(&local, lbin, lip, &lport);
  peer_key(&key, bin, &loopback);
  if (env_put(env, &envlen, "PROTO", "TCP") == -1 ||
      env_put(env, &envlen, "TCPREMOTEIP", ip) == -1 ||
      env_put(env, &envlen, "TCPREMOTEPORT", qlog_ulong(num, port)) == -1 ||
      env_put(env, &envlen, "TCPLOCALIP", lip) == -1 ||
      env_put(env, &envlen, "TCPLOCALPORT", qlog_ulong(num, lport)) == -1 ||
      (localname != NULL && env_put(env, &envlen, "TCPLOCALHOST", localname) == -1)) {
    close(fd);
    return;
  }

  if (cfg.rules != NULL) {
    r = rules_check(cfg.rules, ip, env, &envlen, LISTEN_MSG_MAX);
    if (r == -1) {
      /* a damaged map is reported once, by cdbmap_warn */
      if (errno != EPROTO) qwarn_sys("unable to read ", cfg.rules, ": refusing ", ip);
      refuse(fd, busy_reply);
      return;
    }
    if (r == RULES_DENY) {
      qlog("deny ip=", ip);
      close(fd);
      return;
    }
  }

  limit = loopback ? cfg.perloop : cfg.perip;
  if ((limit > 0 && peers_count(&key) >= limit) || active >= cfg.max)
    settle(); /* connections ended but not yet counted out must not refuse this one */
  if (limit > 0 && peers_count(&key) >= limit) {
    qlog("refuse ip=", ip, " reason=perip limit=", qlog_ulong(num, limit));
    refuse(fd, perip_reply);
    return;
  }
  if (active >= cfg.max) {
    p = choose_victim(&key);
    if (p == NULL) {
      qlog("refuse ip=", ip, " reason=full limit=", qlog_ulong(num, cfg.max));
      refuse(fd, busy_reply);
      return;
    }
    evict(p, ip);
  }

  if (cfg.uses > 0) {
    p = idle_proc();
    while (p != NULL && proc_handoff(p, fd, env, envlen) == -1) {
      proc_retire(p); /* gone or stuck: reaped when it ends */
      p = idle_proc();
    }
    if (p == NULL) {
      long slot = proc_spawn(-1, NULL, 0);
      if (slot == -1 || proc_handoff(&procs[slot], fd, env, envlen) == -1) {
        if (slot != -1) proc_retire(&procs[slot]);
        refuse(fd, busy_reply);
        return;
      }
      p = &procs[slot];
    }
  } else {
    long slot = proc_spawn(fd, env, envlen);
    if (slot == -1) {
      refuse(fd, busy_reply);
      return;
    }
    p = &procs[slot];
  }
  if (peers_add(&key) == -1) { /* cannot happen: the table holds twice -c */
    shutdown(fd, SHUT_RDWR);
    close(fd);
    return;
  }
  p->client = fd; /* kept: to end the connection when room is needed */
  if (cfg.uses == 0 && geteuid() == 0) {
    /* a root listener (POP3: qpop3d starts as root) holds no client's
     * connection: counted, never evicted */
    close(fd);
    p->client = CLIENT_UNHELD;
  }
  p->key = key;
  memcpy(p->ip, ip, sizeof p->ip);
  active++;
}

/*
 * A client that got its reply to QUIT may connect again before qlisten has
 * read the end of its last connection: its session process or child may
 * have told (or exited) while new connections were being accepted. Reads
 * what has come in of that, so that limits count only live connections.
 */
static void settle(void)
{
  size_t i;

  reap();
  for (i = 0; i < nprocs; i++)
    if (procs[i].state == PROC_BUSY && procs[i].ctl != -1) proc_event(procs[i].ctl);
}

static void accept_some(void)
{
  int i;

  for (i = 0; i < ACCEPT_PER_PASS; i++) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = accept4(listen_fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);

    if (fd == -1) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        qwarn_sys("unable to accept: resting a second");
        loop_unwatch(listen_fd);
        accept_paused = 1;
        accept_resume = now_sec() + 1;
      }
      return; /* EAGAIN: all taken; ECONNABORTED and the like: next time */
    }
    new_connection(fd, &peer);
  }
}

/* ---- processes ---- */

static void proc_event(int fd)
{
  struct proc *p = proc_by_ctl(fd);
  char c;
  ssize_t n;

  if (p == NULL) {
    loop_unwatch(fd);
    return;
  }
  n = recv(fd, &c, 1, MSG_DONTWAIT);
  if (n == -1 && (errno == EAGAIN || errno == EINTR)) return;
  if (n == 1 && c == LISTEN_DONE && p->state == PROC_BUSY) {
    proc_conn_end(p);
    if (p->uses >= cfg.uses) {
      proc_retire(p);
    } else {
      p->state = PROC_IDLE;
      p->idle_since = now_sec();
    }
    return;
  }
  /* end of file, an error or nonsense: the process is done for */
  proc_conn_end(p);
  proc_retire(p);
}

static void reap(void)
{
  int status;
  pid_t pid;

  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    struct proc *p = proc_by_pid(pid);
    if (p != NULL) proc_reaped(p, status);
  }
}

/* Every program is replaced once its connection is over. */
static void renew_all(void)
{
  size_t i;

  for (i = 0; i < nprocs; i++) {
    if (procs[i].state == PROC_IDLE) proc_retire(&procs[i]);
    else if (procs[i].state == PROC_BUSY) procs[i].uses = cfg.uses > 0 ? cfg.uses : 1;
  }
}

/* The periodic pass: stress flag, pool size, the rested socket. */
static void tick(void)
{
  uint32_t now = now_sec();
  unsigned long idle = 0;
  size_t i;
  int started = 0;

  shm->stress = active > cfg.highwater;
  stat_update();
  if (accept_paused && now >= accept_resume) {
    if (loop_watch(listen_fd) == 0) accept_paused = 0;
  }
  if (cfg.uses == 0) return;
  for (i = 0; i < nprocs; i++)
    if (procs[i].state == PROC_IDLE) idle++;
  for (i = 0; i < nprocs && idle > cfg.idle; i++)
    if (procs[i].state == PROC_IDLE && now - procs[i].idle_since >= IDLE_RETIRE) {
      proc_retire(&procs[i]);
      idle--;
    }
  while (idle < cfg.idle && started < SPAWN_PER_TICK && now >= spawn_resume) {
    if (proc_spawn(-1, NULL, 0) == -1) {
      spawn_resume = now + 1;
      break;
    }
    idle++;
    started++;
  }
}

static int handle_signals(void)
{
  struct signalfd_siginfo si;

  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    switch (si.ssi_signo) {
      case SIGCHLD: reap(); break;
      case SIGHUP: renew_all(); break;
      case SIGTERM:
      case SIGINT: return 1;
      default: break;
    }
  }
  return 0;
}

static void stop(void)
{
  size_t i;

  close(listen_fd);
  for (i = 0; i < nprocs; i++)
    if (procs[i].state != PROC_FREE) proc_retire(&procs[i]);
}

int main(int argc, char **argv)
{
  const char *user = NULL;
  const char *statfile = NULL;
  long notify_fd = -1;
  unsigned long backlog = 256;
  int highwater_set = 0;
  sigset_t sigs;
  int opt;

  qlog_prog = "qlisten";
  cdbmap_report = cdbmap_warn; /* a damaged rules map: one loud line */
  cfg.max = 400;
  cfg.perip = 40;
  cfg.perloop = 0;
  cfg.idle = 2;
  cfg.perip_reply = "";
  cfg.busy_reply = "";
  opterr = 0;
  while ((opt = getopt(argc, argv, "+d:c:p:P:w:x:m:M:u:l:s:i:b:S:")) != -1) {
    switch (opt) {
      case 'd': notify_fd = (long)scan_limit(optarg); break;
      case 'c': cfg.max = scan_limit(optarg); break;
      case 'p': cfg.perip = scan_limit(optarg); break;
      case 'P': cfg.perloop = scan_limit(optarg); break;
      case 'w': cfg.highwater = scan_limit(optarg); highwater_set = 1; break;
      case 'x': cfg.rules = optarg; break;
      case 'm': cfg.perip_reply = crlf_line(perip_reply, optarg); break;
      case 'M': cfg.busy_reply = crlf_line(busy_reply, optarg); break;
      case 'u': user = optarg; break;
      case 'l': localname = optarg; break;
      case 's': cfg.uses = scan_limit(optarg); if (cfg.uses == 0) qdie_usage(USAGE); break;
      case 'i': cfg.idle = scan_limit(optarg); break;
      case 'b': backlog = scan_limit(optarg); break;
      case 'S': statfile = optarg; break;
      default: qdie_usage(USAGE);
    }
  }
  argv += optind;
  argc -= optind;
  if (argc < 3 || cfg.max == 0) qdie_usage(USAGE);
  if (notify_fd >= 0 && notify_fd < 3) qdie_usage(USAGE);
  if (!highwater_set) cfg.highwater = cfg.max - cfg.max / 4;
  if (cfg.uses == 0) cfg.idle = 0;
  cfg.argv = argv + 2;

  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGCHLD);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &sigs, NULL) == -1) qdie_sys(111, "unable to block signals");
  sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd == -1) qdie_sys(111, "unable to create signal descriptor");

  listen_fd = bind_listen(argv[0], argv[1], (int)(backlog > 0 ? backlog : 1));
  if (statfile != NULL && stat_open(statfile) == -1) qdie_sys(111, "unable to open ", statfile);
  if (user != NULL) become(user);
  raise_fd_limit(2 * cfg.max + cfg.idle + 64);
  /* evictions in flight can hold a process each beyond -c for a moment */
  if (procs_init(cfg.max + cfg.max / 8 + cfg.idle + 8) == -1 || peers_init(cfg.max + 64) == -1)
    qdie_sys(111, "unable to set up the process table");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd == -1) qdie_sys(111, "unable to create epoll descriptor");
  if (loop_watch(listen_fd) == -1 || loop_watch(sig_fd) == -1)
    qdie_sys(111, "unable to watch descriptors");
  tick();
  if (notify_fd >= 0) {
    if (write((int)notify_fd, "\n", 1) != 1) qwarn_sys("unable to notify readiness");
    close((int)notify_fd);
  }

  for (;;) {
    struct epoll_event ev[EVENTS];
    int n = epoll_wait(epfd, ev, EVENTS, 1000);
    int i;

    if (n == -1 && errno != EINTR) qdie_sys(111, "unable to wait for events");
    for (i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == listen_fd) accept_some();
      else if (fd == sig_fd) {
        if (handle_signals()) {
          stop();
          /* _exit: nothing is buffered, and no exit handler may run. Under
           * the sanitizers the leak check at exit (LeakSanitizer stops
           * every thread with ptrace) has been seen to hang for good in
           * this process, which runs with every signal blocked, leaving
           * s6-svc -d and a stop of the tree waiting on it. */
          _exit(0);
        }
      } else {
        proc_event(fd);
      }
    }
    tick();
  }
}
