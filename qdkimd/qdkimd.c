/*
 * qdkimd: the DKIM service, long-lived: signs (-s) or verifies (-v) the
 * messages that qsmtpd and qinject are writing into the queue.
 *
 *   qdkimd [-d fd] [-u user] [-g group] [-n max] -s|-v socket
 *
 * Started by its s6 run script as root, in QHOME: binds the Unix socket
 * (SOCK_SEQPACKET, mode 0660, owned by -u and group -g; 0600 without -g),
 * becomes -u (its own group only) and waits. The signer (-s, service
 * dkimsign, account qmta-dkim) is the only reader of control/dkim/ (the
 * keys); the verifier (-v, service dkimverify) reads no key and asks DNS.
 * Each client connection gets a child process of its own that serves its
 * requests one after another until the client closes it (dkimproto.h):
 * qsmtpd keeps its connection across messages and sessions, so no process
 * starts per message. The children end with the service (SIGTERM when
 * their parent dies), so that s6-svc -d or -r reaches them too. A child whose client sends nothing for
 * QDKIMD_IDLE seconds ends; the client then connects again.
 * -n: connections served at once (default 1024); beyond it the next
 * waits. -d fd: "\n" to fd once the socket listens.
 * Links OpenSSL (dkim/) and libc only: never libowfat or lib/lib.a.
 * Exit: 100 on misuse, 111 when it cannot start; SIGTERM ends it.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsq.h"
#include "fdpass.h"
#include "qdkimd.h"
#include "qtls.h"
#include "unixsock.h"

#define USAGE "qdkimd [-d fd] [-u user] [-g group] [-n max] -s|-v socket"
#define QDKIMD_IDLE 600     /* s a child waits for its client's next request */
#define DEFAULT_MAX 1024
#define DNS_TRY_MS 2000     /* one DNS try; 2 rounds per server */

static int role;            /* DKREQ_SIGN or DKREQ_VERIFY */

static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

static int bind_socket(const char *path, const struct passwd *pw, const struct group *gr)
{
  const char *step = "";
  int fd = unixsock_bind(path, SOCK_SEQPACKET, pw != NULL ? pw->pw_uid : (uid_t)-1,
                         gr != NULL ? gr->gr_gid : (gid_t)-1, 128, &step);

  if (fd == -1 && errno == ENAMETOOLONG) qtls_die(100, "socket path too long: ", path);
  if (fd == -1) qtls_die_sys(111, "unable to ", step, " ", path);
  return fd;
}

static void become(const struct passwd *pw)
{
  if (setgroups(1, &pw->pw_gid) == -1) qtls_die_sys(111, "unable to set groups");
  if (setgid(pw->pw_gid) == -1) qtls_die_sys(111, "unable to set gid");
  if (setuid(pw->pw_uid) == -1) qtls_die_sys(111, "unable to set uid");
  if (pw->pw_uid != 0 && (getuid() == 0 || geteuid() == 0)) qtls_die(111, "unable to drop root");
}

static void send_answer(int fd, const struct dkans *a)
{
  static char packet[DKIMP_RESP_MAX];
  char num[QTLS_ULONG];
  size_t n = 0;
  size_t k;

  packet[n++] = a->code;
  packet[n++] = ' ';
  qtls_ulong(num, a->fieldslen);
  k = strlen(num);
  memcpy(packet + n, num, k);
  n += k;
  packet[n++] = '\n';
  memcpy(packet + n, a->fields, a->fieldslen); /* fits: dkans's sizes */
  n += a->fieldslen;
  k = strlen(a->note);
  memcpy(packet + n, a->note, k);
  n += k;
  while (send(fd, packet, n, MSG_NOSIGNAL) == -1 && errno == EINTR) {}
}

/* A message of up to READ_MAX bytes is read into a buffer of the child;
 * a longer one is mapped. For the common few KiB a pread costs less than
 * mmap and munmap (page faults, the unmap's TLB flush). */
#define READ_MAX (256 * 1024)

/* len bytes of fd at off into buf: 0, or -1 (errno; EIO: the file ends before) */
static int read_at(int fd, char *buf, size_t len, off_t off)
{
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, off);

    if (n == -1 && errno == EINTR) continue;
    if (n == -1) return -1;
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

/* One request with its queue file: the answer. */
static void handle(char *buf, size_t len, int msgfd, struct dkans *a)
{
  static char readbuf[READ_MAX];
  struct dkreq r;
  struct stat st;
  char *map = NULL;
  const char *msg = readbuf;
  unsigned long long end;

  a->code = DKIMP_TEMP;
  a->fieldslen = 0;
  a->note[0] = '\0';
  if (dkreq_parse(&r, buf, len) == -1 || r.op != role) {
    dkans_note(a, "malformed request");
    qtls_say("warning: refused a malformed request");
    return;
  }
  if (fstat(msgfd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      __builtin_add_overflow(r.off, r.len, &end) || end > (unsigned long long)st.st_size) {
    dkans_note(a, "the message is not where the request says");
    qtls_say("warning: the message is not where the request says");
    return;
  }
  if (r.len <= READ_MAX) {
    if (read_at(msgfd, readbuf, (size_t)r.len, (off_t)r.off) == -1) {
      dkans_note(a, "unable to read the message");
      qtls_say("warning: unable to read the message: ", strerror(errno));
      return;
    }
  } else {
    map = mmap(NULL, (size_t)end, PROT_READ, MAP_PRIVATE, msgfd, 0);
    if (map == MAP_FAILED) {
      dkans_note(a, "unable to map the message");
      qtls_say("warning: unable to map the message: ", strerror(errno));
      return;
    }
    msg = map + r.off;
  }
  if (role == DKREQ_SIGN) qdkimd_sign(msg, (size_t)r.len, a);
  else qdkimd_verify(msg, (size_t)r.len, &r, a);
  if (map != NULL) munmap(map, (size_t)end);
}

/* A child: the requests of one client, until it closes the connection. */
static void serve(int fd) __attribute__((noreturn));
static void serve(int fd)
{
  static char buf[DKIMP_REQ_MAX];
  static struct dkans a;

  qtls_in_child = 1;
  /* the service stopped or restarted: its children go too, and the
   * clients connect to the new one (or find none) */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() == 1) _exit(0);

  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int msgfd = -1;
    ssize_t n;
    int k = poll(&p, 1, QDKIMD_IDLE * 1000);

    if (k == -1 && errno == EINTR) continue;
    if (k <= 0) _exit(0);
    n = fdpass_recv(fd, buf, sizeof buf, &msgfd);
    if (n == -1 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == -1) qtls_say("warning: refused a request without its message: ", strerror(errno));
      _exit(0);
    }
    handle(buf, (size_t)n, msgfd, &a);
    close(msgfd);
    send_answer(fd, &a);
  }
}

static void warn_serve(const char *what, int err)
{
  qtls_say("warning: unable to ", what, ": ", strerror(err));
}

int main(int argc, char **argv)
{
  const char *user = NULL;
  const char *group = NULL;
  struct passwd pwcopy;
  struct passwd *pw = NULL;
  struct group *gr = NULL;
  unsigned int readyfd = 0;
  unsigned long max = DEFAULT_MAX;
  const char *qhome = getenv("QHOME");
  int lfd;
  int opt;

  qtls_prog = "qdkimd";
  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "d:u:g:n:sv")) != -1) {
    switch (opt) {
      case 'd':
        if (qtls_scan_uint(optarg, &readyfd) == -1 || readyfd < 3 || readyfd > 1000) die_usage();
        break;
      case 'u': user = optarg; break;
      case 'g': group = optarg; break;
      case 'n': {
        unsigned int m;
        if (qtls_scan_uint(optarg, &m) == -1 || m > 100000) die_usage();
        max = m;
        break;
      }
      case 's':
        if (role != 0) die_usage();
        role = DKREQ_SIGN;
        break;
      case 'v':
        if (role != 0) die_usage();
        role = DKREQ_VERIFY;
        break;
      default: die_usage();
    }
  }
  if (argc - optind != 1 || role == 0) die_usage();
  qtls_prog = role == DKREQ_SIGN ? "qdkimd -s" : "qdkimd -v";

  if (qhome == NULL || qhome[0] == '\0') qhome = "/var/qmta";
  if (chdir(qhome) == -1) qtls_die_sys(111, "unable to switch to ", qhome);
  if (user != NULL) {
    pw = getpwnam(user);
    if (pw == NULL) qtls_die(111, "no account ", user);
    pwcopy = *pw;
    pwcopy.pw_name = strdup(pw->pw_name);
    if (pwcopy.pw_name == NULL) qtls_die(111, "out of memory");
    pw = &pwcopy;
  }
  if (group != NULL) {
    gr = getgrnam(group);
    if (gr == NULL) qtls_die(111, "no group ", group);
  }
  lfd = bind_socket(argv[optind], pw, gr);
  if (pw != NULL) become(pw);
  dnsq_settimeout(DNS_TRY_MS, 2);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  if (readyfd != 0) {
    while (write((int)readyfd, "\n", 1) == -1 && errno == EINTR) {}
    close((int)readyfd);
  }

  unixsock_serve(lfd, max, serve, warn_serve);
}
