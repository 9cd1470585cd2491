/*
 * qtls-server: the TLS side of a protocol server (qsmtpd, qpop3d), front
 * stage. Run by tcpserver as root (or as the instance user), with the
 * client's socket on fd 0 and fd 1; runs prog as a child.
 *   -i: the child waits for the handshake; the front execs the TLS stage
 *       qtls-server-tls at once, which does the handshake, hands the names
 *       to the child (which then execs prog on a socket pair with
 *       QTLS_PROTO and QTLS_CIPHER) and relays.
 *   default: prog talks plaintext on the client socket and asks for TLS
 *       through QTLS_CTL (one byte "S", or "P" to hear first whether TLS
 *       can start); only then does the front exec qtls-server-tls, which
 *       answers "Y proto cipher\n" or "N reason\n" (after "P": "R\n" or
 *       "N reason\n", then "S" as above) and relays through QTLS_DATA.
 *       See qtls-server.8.
 * The front links no TLS library: a plaintext session, most of them, never
 * loads OpenSSL, and this process stays small while it waits. It becomes
 * -u before the exec, so the TLS stage reads the key as -u; prog runs as -U.
 * If qtls-server-tls cannot be started, STARTTLS gets "N unable to start
 * TLS: ..." and -i closes the name pipe (prog never runs); then exit 111.
 * Exit: prog's status after a session without TLS; 111 on a protocol
 * error or a fatal error; 100 on a usage error. With TLS, the TLS stage's.
 * Plain POSIX only: never libowfat, never OpenSSL (see qtls.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "qtls.h"

#define USAGE "qtls-server [-i] [-u user] [-U user] [-c certfile] [-k keyfile] " \
              "[-t timeout] prog [arg ...]"

/* the TLS stage, found through PATH like prog */
#define TLS_STAGE "qtls-server-tls"

/* where prog finds its ends of the control and data socket pairs (not 3:
 * qsmtpd and checkpassword programs use it) */
#define CTL_FD 6
#define DATA_FD 7
#define CTL_FD_TEXT "6"
#define DATA_FD_TEXT "7"

#define NAME_MAX_LEN 256 /* bytes of a user name */

struct account {
  int set;
  char name[NAME_MAX_LEN];
  uid_t uid;
  gid_t gid;
};

static struct account wrapper_acct; /* -u */
static struct account prog_acct;    /* -U */
static unsigned int timeout = QTLS_TIMEOUT;
static const char *client_ip = "unknown";

static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

static void account_find(struct account *a, const char *name)
{
  struct passwd *pw;

  if (strlen(name) >= sizeof a->name) qtls_die(111, "unable to find user ", name, ": too long");
  errno = 0;
  pw = getpwnam(name);
  if (pw == NULL) {
    if (errno != 0) qtls_die_sys(111, "unable to find user ", name);
    qtls_die(111, "unable to find user ", name, ": no such user");
  }
  a->set = 1;
  memcpy(a->name, name, strlen(name) + 1);
  a->uid = pw->pw_uid;
  a->gid = pw->pw_gid;
}

/* Supplementary groups first, then the group, then the user: after
 * setuid nothing else could be changed. */
static void account_become(const struct account *a)
{
  if (!a->set) return;
  if (geteuid() != 0 && geteuid() == a->uid && getegid() == a->gid) return; /* already */
  if (initgroups(a->name, a->gid) == -1) qtls_die_sys(111, "unable to set groups of ", a->name);
  if (setgid(a->gid) == -1) qtls_die_sys(111, "unable to set group of ", a->name);
  if (setuid(a->uid) == -1) qtls_die_sys(111, "unable to become ", a->name);
  if (getuid() != a->uid || geteuid() != a->uid || getgid() != a->gid || getegid() != a->gid)
    qtls_die(111, "unable to become ", a->name, ": ids did not change");
  if (a->uid != 0 && setuid(0) != -1) qtls_die(111, "unable to drop root for ", a->name);
}

/* Puts fd on target, not close-on-exec; fd must not be 0-2 or target's
 * neighbour's target (callers move everything above DATA_FD first). */
static void move_fd(int fd, int target)
{
  if (dup2(fd, target) == -1) qtls_die_sys(111, "unable to move descriptor");
  close(fd);
}

/* A copy of fd above every fixed number, close-on-exec. */
static int high_fd(int fd)
{
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, DATA_FD + 1);

  if (copy == -1) qtls_die_sys(111, "unable to copy descriptor");
  close(fd);
  return copy;
}

static void child_exec(char **argv)
{
  signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
  execvp(argv[0], argv);
  qtls_die_sys(111, "unable to run ", argv[0]);
}

static void set_env(const char *name, const char *value)
{
  if (setenv(name, value, 1) == -1) qtls_die_sys(111, "unable to set ", name);
}

static void unset_env(const char *name)
{
  if (unsetenv(name) == -1) qtls_die_sys(111, "unable to unset ", name);
}

static int inherit_fd(int fd)
{
  int flags = fcntl(fd, F_GETFD);

  if (flags == -1) return -1;
  return fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

/* Becomes the TLS stage: "qtls-server-tls implicit|starttls fd1 fd2 pid
 * timeout cert key" (its arguments are ours, see qtls-server-tls.c). Only
 * fd1 and fd2 are made inheritable, besides 0-2. Returns only if that
 * failed, with the reason in err. */
static void tls_stage(const char *mode, int fd1, int fd2, int pid, const char *cert,
                      const char *key, char *err, size_t errsize)
{
  char fd1_text[QTLS_ULONG];
  char fd2_text[QTLS_ULONG];
  char pid_text[QTLS_ULONG];
  char timeout_text[QTLS_ULONG];
  char *stage_argv[9];

  qtls_ulong(fd1_text, (unsigned long long)fd1);
  qtls_ulong(fd2_text, (unsigned long long)fd2);
  qtls_ulong(pid_text, (unsigned long long)pid);
  qtls_ulong(timeout_text, timeout);
  stage_argv[0] = (char *)TLS_STAGE;
  stage_argv[1] = (char *)mode;
  stage_argv[2] = fd1_text;
  stage_argv[3] = fd2_text;
  stage_argv[4] = pid_text;
  stage_argv[5] = timeout_text;
  stage_argv[6] = (char *)cert;
  stage_argv[7] = (char *)key;
  stage_argv[8] = NULL;

  err[0] = '\0';
  if (inherit_fd(fd1) == -1 || inherit_fd(fd2) == -1) {
    qtls_cat(err, errsize, "unable to pass descriptors: ", strerror(errno));
    return;
  }
  execvp(TLS_STAGE, stage_argv);
  qtls_cat(err, errsize, TLS_STAGE, ": ", strerror(errno));
}

/* -i: the child waits, as the -U user, for "proto\0cipher\0" on a pipe;
 * end of file there means the handshake failed and prog must not run. */
static int implicit_tls(const char *cert, const char *key, char **argv)
{
  int plain[2];
  int names_pipe[2];
  int pid;
  char err[QTLS_LINE_MAX];

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, plain) == -1)
    qtls_die_sys(111, "unable to create socket pair");
  if (pipe2(names_pipe, O_CLOEXEC) == -1) qtls_die_sys(111, "unable to create pipe");
  pid = fork();
  if (pid == -1) qtls_die_sys(111, "unable to fork");
  if (pid == 0) {
    char names[2 * QTLS_TOKEN_MAX + 2];
    size_t names_len;
    size_t got = 0;

    qtls_in_child = 1;
    close(plain[0]);
    close(names_pipe[1]);
    account_become(&prog_acct);
    if (dup2(plain[1], 0) == -1 || dup2(plain[1], 1) == -1)
      qtls_die_sys(111, "unable to move descriptor");
    close(plain[1]);
    for (;;) {
      ssize_t n = read(names_pipe[0], names + got, sizeof names - got);

      if (n == -1 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
      if (got == sizeof names) break;
    }
    close(names_pipe[0]);
    if (got == 0 || memchr(names, '\0', got) == NULL) _exit(111); /* no TLS: wrapper logs */
    names_len = strlen(names);
    if (names_len + 1 >= got || names[got - 1] != '\0') _exit(111);
    set_env("QTLS_PROTO", names);
    set_env("QTLS_CIPHER", names + names_len + 1);
    unset_env("QTLS_CTL");
    unset_env("QTLS_DATA");
    child_exec(argv);
  }
  close(plain[1]);
  close(names_pipe[0]);

  account_become(&wrapper_acct);
  tls_stage("implicit", plain[0], names_pipe[1], pid, cert, key, err, sizeof err);

  /* the end of file on the pipe tells the child that prog must not run */
  qtls_say(client_ip, " unable to start TLS: ", err);
  close(names_pipe[1]);
  close(plain[0]);
  qtls_wait(pid);
  return 111;
}

/* default mode: prog runs at once on the client's socket and may ask for
 * TLS on ctl. */
static int starttls(const char *cert, const char *key, char **argv)
{
  int ctl[2];
  int data[2];
  int pid;
  char err[QTLS_LINE_MAX];
  char request;
  ssize_t n;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) == -1 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data) == -1)
    qtls_die_sys(111, "unable to create socket pair");
  pid = fork();
  if (pid == -1) qtls_die_sys(111, "unable to fork");
  if (pid == 0) {
    int ctl_child;
    int data_child;

    qtls_in_child = 1;
    close(ctl[0]);
    close(data[0]);
    account_become(&prog_acct);
    /* above the fixed numbers first, so that neither move overwrites the other */
    ctl_child = high_fd(ctl[1]);
    data_child = high_fd(data[1]);
    move_fd(ctl_child, CTL_FD);
    move_fd(data_child, DATA_FD);
    set_env("QTLS_CTL", CTL_FD_TEXT);
    set_env("QTLS_DATA", DATA_FD_TEXT);
    unset_env("QTLS_PROTO");
    unset_env("QTLS_CIPHER");
    child_exec(argv);
  }
  close(ctl[1]);
  close(data[1]);

  account_become(&wrapper_acct);

  do n = read(ctl[0], &request, 1);
  while (n == -1 && errno == EINTR);
  if (n != 1) { /* the program ended without asking for TLS */
    close(ctl[0]);
    close(data[0]);
    close(0);
    close(1);
    return qtls_wait(pid);
  }
  if (request != 'S' && request != 'P') {
    qtls_say("fatal: protocol error on control descriptor");
    close(ctl[0]);
    close(data[0]);
    close(0);
    close(1);
    qtls_wait(pid);
    return 111;
  }

  /* OpenSSL and the certificate are loaded only now: most plaintext
   * sessions never ask, and a TLS context is most of what this process
   * would hold in memory. If the stage cannot start, the answer is N, as
   * for a bad certificate, and the program decides. */
  tls_stage(request == 'P' ? "prepare" : "starttls", ctl[0], data[0], pid, cert, key, err,
            sizeof err);
  qtls_say(client_ip, " unable to start TLS: ", err);
  qtls_ctl_refuse(ctl[0], "unable to start TLS: ", err);
  close(ctl[0]);
  close(data[0]);
  close(0);
  close(1);
  qtls_wait(pid);
  return 111;
}

int main(int argc, char **argv)
{
  int implicit = 0;
  const char *cert = NULL;
  const char *key = NULL;
  const char *qhome;
  char certbuf[4096];
  char keybuf[4096];
  int opt;

  qtls_prog = "qtls-server";
  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "+iu:U:c:k:t:")) != -1) {
    switch (opt) {
      case 'i': implicit = 1; break;
      case 'u': account_find(&wrapper_acct, optarg); break;
      case 'U': account_find(&prog_acct, optarg); break;
      case 'c': cert = optarg; break;
      case 'k': key = optarg; break;
      case 't': if (qtls_scan_uint(optarg, &timeout) == -1) die_usage(); break;
      default: die_usage();
    }
  }
  argv += optind;
  if (argv[0] == NULL) die_usage();

  qhome = getenv("QHOME");
  if (qhome == NULL || qhome[0] == '\0') qhome = "/var/qmta";
  if (cert == NULL) {
    certbuf[0] = '\0';
    cert = qtls_cat(certbuf, sizeof certbuf, qhome, "/tls/cert.pem");
  }
  if (key == NULL) {
    keybuf[0] = '\0';
    key = qtls_cat(keybuf, sizeof keybuf, qhome, "/tls/key.pem");
  }
  if (getenv("TCPREMOTEIP") != NULL) client_ip = getenv("TCPREMOTEIP");

  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) qtls_die_sys(111, "unable to ignore SIGPIPE");
  return implicit ? implicit_tls(cert, key, argv) : starttls(cert, key, argv);
}
