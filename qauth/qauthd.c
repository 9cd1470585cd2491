/*
 * qauthd: the password service, long-lived; with root, the only reader
 * of the password hashes.
 *
 *   qauthd [-d fd] [-u user] [-g group] [-n max] socket
 *
 * Started by its s6 run script as root, in QHOME: binds the Unix socket
 * (mode 0660, owned by -u and group -g, the account that runs qsmtpd;
 * 0600 without -g), becomes -u (with its supplementary groups, such as
 * shadow, only when control/authsystem exists: qsetup(8)), and waits.
 * control/authsystem is read at the start: s6-svc -r the service after
 * touching or removing it. qauth,
 * when it cannot read a hash itself, connects and sends one request
 * (qauth.h); a child forked for it checks the password (qauth_check.c)
 * and answers one byte. Failure counts, delays and the log lines of a
 * login are qauth's: this service only says whether a password matches.
 * -n: checks at once (default 32); beyond it the next request waits.
 * A client has QAUTHD_TIMEOUT seconds to send its request.
 * -d fd: "\n" to fd once the socket listens.
 * Exit: 100 on misuse, 111 when it cannot start; SIGTERM ends it.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <scan.h>

#include "ctl.h"
#include "cdbmap.h"
#include "qauth.h"
#include "qlog.h"
#include "unixsock.h"

#define USAGE "qauthd [-d fd] [-u user] [-g group] [-n max] socket"
#define QAUTHD_TIMEOUT 10   /* s for a client's request */
#define DEFAULT_MAX 32

static int bind_socket(const char *path, const struct passwd *pw, const struct group *gr)
{
  const char *step = "";
  int fd = unixsock_bind(path, SOCK_STREAM, pw != NULL ? pw->pw_uid : (uid_t)-1,
                         gr != NULL ? gr->gr_gid : (gid_t)-1, 64, &step);

  if (fd == -1 && errno == ENAMETOOLONG) qdie(100, "socket path too long: ", path);
  if (fd == -1) qdie_sys(111, "unable to ", step, " ", path);
  return fd;
}

/* Becomes pw: its supplementary groups (shadow, given by qsetup) only for
 * an instance with control/authsystem; the account may serve several. */
static void become(const struct passwd *pw)
{
  if (access("control/authsystem", F_OK) == 0) {
    if (initgroups(pw->pw_name, pw->pw_gid) == -1) qdie_sys(111, "unable to set groups");
  } else {
    if (setgroups(1, &pw->pw_gid) == -1) qdie_sys(111, "unable to set groups");
  }
  if (setgid(pw->pw_gid) == -1) qdie_sys(111, "unable to set gid");
  if (setuid(pw->pw_uid) == -1) qdie_sys(111, "unable to set uid");
  if (pw->pw_uid != 0 && (getuid() == 0 || geteuid() == 0)) qdie(111, "unable to drop root");
}

/* Reads one request into buf: KIND NAME \0 PASSWORD \0. Its length, or 0
 * for a request that is malformed, too long or too late. */
static size_t read_request(int fd, char *buf, size_t size)
{
  struct pollfd p;
  size_t got = 0;
  size_t nuls = 0;
  ssize_t r;

  p.fd = fd;
  p.events = POLLIN;
  while (nuls < 2) {
    r = poll(&p, 1, QAUTHD_TIMEOUT * 1000);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return 0;
    r = read(fd, buf + got, size - got);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return 0;
    for (size_t i = got; i < got + (size_t)r; i++)
      if (buf[i] == '\0') nuls++;
    got += (size_t)r;
    if (nuls > 2 || (nuls < 2 && got == size)) return 0;
  }
  return buf[got - 1] == '\0' ? got : 0;
}

/* One connection, in a child: the answer, or nothing for a bad request. */
static void serve(int fd)
{
  static char buf[QAUTHD_REQUEST_MAX];
  size_t len = read_request(fd, buf, sizeof buf);
  size_t nlen;
  char answer;

  if (len < 3 || (buf[0] != QAUTH_KIND_VIRTUAL && buf[0] != QAUTH_KIND_SYSTEM)) {
    explicit_bzero(buf, sizeof buf);
    qwarn("refused a malformed request");
    _exit(0);
  }
  nlen = strlen(buf + 1);
  answer = (char)qauth_check(buf[0], buf + 1, buf + 2 + nlen);
  explicit_bzero(buf + 2 + nlen, len - 2 - nlen);
  if (answer == QAUTH_TEMP)
    qwarn_sys("unable to read the hash of a ", buf[0] == QAUTH_KIND_VIRTUAL ? "user" : "system account");
  while (write(fd, &answer, 1) == -1 && errno == EINTR) {}
  _exit(0);
}

static void warn_serve(const char *what, int err)
{
  errno = err;
  qwarn_sys("unable to ", what);
}

int main(int argc, char **argv)
{
  const char *user = NULL;
  const char *group = NULL;
  struct passwd pwcopy;
  struct passwd *pw = NULL;
  struct group *gr = NULL;
  unsigned long readyfd = 0;
  unsigned long max = DEFAULT_MAX;
  int have_ready = 0;
  int lfd;
  int opt;

  qlog_prog = "qauthd";
  cdbmap_report = cdbmap_warn;
  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "d:u:g:n:")) != -1) {
    switch (opt) {
      case 'd':
        if (optarg[scan_ulong(optarg, &readyfd)] != '\0' || readyfd < 3 || readyfd > 1000)
          qdie_usage(USAGE);
        have_ready = 1;
        break;
      case 'u': user = optarg; break;
      case 'g': group = optarg; break;
      case 'n':
        if (optarg[scan_ulong(optarg, &max)] != '\0' || max == 0 || max > 10000) qdie_usage(USAGE);
        break;
      default: qdie_usage(USAGE);
    }
  }
  if (argc - optind != 1) qdie_usage(USAGE);

  if (qhome_chdir() == -1) qdie_sys(111, "unable to switch to ", qhome());
  if (user != NULL) {
    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) qdie(111, "no account ", user);
    pwcopy = *pw;
    pwcopy.pw_name = strdup(pw->pw_name);
    if (pwcopy.pw_name == NULL) qdie(111, "out of memory");
    pw = &pwcopy;
  }
  if (group != NULL) {
    gr = getgrnam(group);
    if (gr == NULL) qdie(111, "no group ", group);
  }
  lfd = bind_socket(argv[optind], pw, gr);
  if (pw != NULL) become(pw);
  if (access("control/authsystem", F_OK) == 0 && access("/etc/shadow", R_OK) == -1)
    qwarn("control/authsystem is set but /etc/shadow is not readable: run qsetup again");
  signal(SIGPIPE, SIG_IGN);
  if (have_ready) {
    while (write((int)readyfd, "\n", 1) == -1 && errno == EINTR) {}
    close((int)readyfd);
  }

  unixsock_serve(lfd, max, serve, warn_serve);
}
