/*
 * qmetrics: the instance's figures for Prometheus (text format 0.0.4).
 *
 *   qmetrics -t file [-s statefile] [DIR]
 *   qmetrics -l ip:port [-s statefile] [-i seconds] [-d fd] [DIR]
 *
 * Counters come from the logs DIR/log/NAME/ (s6-log's current and
 * archives, read on from where the last pass stopped: qmetrics_logs.c),
 * gauges from qstat -s and the listeners' run/NAME.conns
 * (qmetrics_gauge.c). -t: one pass, the exposition written into file
 * atomically (file.tmp, fsync, rename: for node_exporter's textfile
 * collector, whose directory reads only *.prom), state kept in statefile
 * (default file.state). -l: a service that answers GET /metrics on
 * ip:port (IPv4, or [IPv6]:port; qmetrics_http.c), reads the logs on for
 * every request and every -i seconds (default 30), then also runs qstat -s
 * and saves the state (if -s). With -d, "\n" goes to fd once it listens.
 * Run as an unprivileged account that reads log/ (group qmta-log) and
 * runs DIR/bin/qstat (group qmta-admin); it writes statefile only.
 * DIR defaults to $QHOME. Exit 0 (-l: after SIGTERM); 100 usage; 111
 * a temporary error (unable to read the instance, write file, listen).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "durable.h"
#include "qlog.h"
#include "qmetrics.h"

#define USAGE "qmetrics -t file [-s statefile] [DIR] | qmetrics -l ip:port [-s statefile] " \
              "[-i seconds] [-d fd] [DIR]"
#define QSTAT_MS 10000      /* qstat -s may take this long */
#define INTERVAL_MAX 86400

static const char *statefile;

static void load(void)
{
  if (statefile != NULL && state_load(statefile) == -1)
    qwarn_sys("unable to read ", statefile, ", counting from the logs again");
}

static void save(void)
{
  if (statefile != NULL && state_save(statefile) == -1) qwarn_sys("unable to write ", statefile);
}

static int textfile(const char *fn)
{
  stralloc out = {0};
  int r;

  logs_update();
  gauge_queue(QSTAT_MS);
  save();
  expo_build(&out);
  r = durable_writefile(fn, out.s, out.len, 0644);
  stralloc_free(&out);
  if (r == -1) qdie_sys(111, "unable to write ", fn);
  return 0;
}

/* "a.b.c.d:port" or "[v6]:port": a listening socket, or exit 111/100 */
static int listen_on(const char *spec)
{
  struct sockaddr_storage ss;
  socklen_t sslen;
  char host[64];
  const char *colon = strrchr(spec, ':');
  const char *h = spec;
  size_t hlen;
  char *end;
  unsigned long port;
  int one = 1;
  int fd;

  if (colon == NULL) qdie_usage(USAGE);
  hlen = (size_t)(colon - spec);
  if (hlen >= 2 && spec[0] == '[' && colon[-1] == ']') {
    h++;
    hlen -= 2;
  }
  if (hlen == 0 || hlen >= sizeof host) qdie_usage(USAGE);
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  errno = 0;
  port = strtoul(colon + 1, &end, 10);
  if (errno != 0 || *end != '\0' || colon[1] == '\0' || port == 0 || port > 65535) qdie_usage(USAGE);
  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    sslen = sizeof(struct sockaddr_in6);
  } else {
    qdie_usage(USAGE);
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) qdie_sys(111, "unable to create socket");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) qdie_sys(111, "unable to bind ", spec);
  if (listen(fd, 16) == -1) qdie_sys(111, "unable to listen on ", spec);
  return fd;
}

static void tick(void)
{
  logs_update();
  gauge_queue(QSTAT_MS);
  save();
}

int main(int argc, char **argv)
{
  const char *file = NULL;
  const char *spec = NULL;
  const char *dir = NULL;
  unsigned long interval = 30;
  long notify_fd = -1;
  sigset_t sigs;
  int listen_fd;
  int sig_fd;
  int opt;

  qlog_prog = "qmetrics";
  opterr = 0;
  while ((opt = getopt(argc, argv, "+t:s:l:i:d:")) != -1) {
    char *end;

    switch (opt) {
      case 't': file = optarg; break;
      case 's': statefile = optarg; break;
      case 'l': spec = optarg; break;
      case 'i':
        errno = 0;
        interval = strtoul(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || interval == 0 || interval > INTERVAL_MAX) qdie_usage(USAGE);
        break;
      case 'd':
        errno = 0;
        notify_fd = strtol(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || notify_fd < 3) qdie_usage(USAGE);
        break;
      default: qdie_usage(USAGE);
    }
  }
  if (optind < argc) dir = argv[optind++];
  if (optind < argc || (file == NULL) == (spec == NULL)) qdie_usage(USAGE);
  if (file != NULL && statefile == NULL) {
    static stralloc sf;
    if (!stralloc_copys(&sf, file) || !stralloc_cats(&sf, ".state") || !stralloc_0(&sf))
      qdie_nomem();
    statefile = sf.s;
  }
  /* relative names are the caller's: make them absolute before the chdir */
  if (file != NULL && file[0] != '/') {
    static char cwd[4096];
    static stralloc abs_file;
    static stralloc abs_state;
    if (getcwd(cwd, sizeof cwd) == NULL) qdie_sys(111, "unable to find the current directory");
    if (!stralloc_copys(&abs_file, cwd) || !stralloc_cats(&abs_file, "/") ||
        !stralloc_cats(&abs_file, file) || !stralloc_0(&abs_file))
      qdie_nomem();
    file = abs_file.s;
    if (statefile[0] != '/') {
      if (!stralloc_copys(&abs_state, cwd) || !stralloc_cats(&abs_state, "/") ||
          !stralloc_cats(&abs_state, statefile) || !stralloc_0(&abs_state))
        qdie_nomem();
      statefile = abs_state.s;
    }
  }
  if (dir != NULL ? chdir(dir) == -1 : qhome_chdir() == -1)
    qdie_sys(111, "unable to enter ", dir != NULL ? dir : qhome());
  signal(SIGPIPE, SIG_IGN);
  load();
  if (file != NULL) return textfile(file);

  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  if (sigprocmask(SIG_BLOCK, &sigs, NULL) == -1) qdie_sys(111, "unable to block signals");
  sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd == -1) qdie_sys(111, "unable to create signal descriptor");
  listen_fd = listen_on(spec);
  tick();
  if (notify_fd >= 0) {
    if (write((int)notify_fd, "\n", 1) != 1) qwarn_sys("unable to notify readiness");
    close((int)notify_fd);
  }
  qlog("listening on ", spec);
  http_serve(listen_fd, sig_fd, (unsigned int)(interval * 1000), logs_update, tick);
  save();
  qlog("stopped");
  return 0;
}
