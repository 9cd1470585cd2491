/*
 * qpop3d: the POP3 server (RFC 1939; CAPA and response codes RFC 2449;
 * STLS RFC 2595), in the manner of qmail-popup + checkpassword +
 * qmail-pop3d.
 *
 * "qpop3d [checkpassword prog...]" speaks the AUTHORIZATION state on fd 0
 * and fd 1 (from tcpserver, or qtls-server), and runs checkpassword
 * (default: qauth qpop3d -s) with "user\0password\0\0" on fd 3 for each
 * USER/PASS; a good login becomes the session "qpop3d -s" (see
 * qpop3d_session.c), run as the mailbox owner.
 *
 * Privileges: started as root (a root instance), qpop3d forks at once.
 * The child drops to qmta-smtpd and does all the talking; the parent
 * stays root, never reads the network, and only runs checkpassword for
 * the child, given the user, the password and whether STLS happened,
 * over a socket pair (message: 2-byte length, then "S" or "P", proto\0,
 * cipher\0, user\0, password\0; answer: one byte '0' the session ran,
 * '1' bad login, 'T' temporary failure). Started as another user, qpop3d
 * is one process and runs checkpassword itself.
 *
 * TLS: qtls-server sets QTLS_PROTO (implicit TLS, port 995) or QTLS_CTL
 * and QTLS_DATA (STLS possible). USER and PASS are taken only under TLS,
 * or from a loopback client when control/authplaintext says so.
 * Exit: 0 after a session or QUIT, 111 temporary failure, 100 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt.h>

#include "accounts.h"
#include "addr.h"
#include "ctl.h"
#include "durable.h"
#include "ipaddr.h"
#include "qlog.h"
#include "qpop3d.h"

#define USAGE "qpop3d [checkpassword prog [arg...]] | qpop3d -s"
#define CHECKPW_RECORD_MAX 512  /* the checkpassword interface's limit */
#define MAX_FAILURES 3          /* failed logins per connection */
#define MAX_TLS_LINE 256        /* qtls-server's answer to "S" */

static void die_usage(void) { qdie(100, "usage: " USAGE); }

static char *default_checkpw[] = {"qauth", "qpop3d", "-s", NULL};
static char **checkpw = default_checkpw;

static const char *ip = "unknown";
static int tls_active;
static int tls_ctl = -1;
static int tls_data = -1;
static int started_tls;
static char tls_proto[POP_MAX_TLS_NAME];
static char tls_cipher[POP_MAX_TLS_NAME];
static int plain_ok;
static int monitor_fd = -1;  /* privsep: the socket to the root parent */
static unsigned long failures;

static int env_fd(const char *name)
{
  const char *s = getenv(name);
  unsigned long n;

  if (s == NULL || !pop_scan_number(s, &n) || n < 3 || n > 1024) return -1;
  if (fcntl((int)n, F_GETFD) == -1) return -1;
  return (int)n;
}

/* Runs checkpassword with the record on fd 3 and waits for it. datafd:
 * the descriptor to put on fd 0 and fd 1 (after STLS), or -1. Returns its
 * exit code (0 also after a session), 111 if it could not run or died. */
static int run_checkpw(const char *user, size_t ulen, const char *pass, size_t plen, int datafd)
{
  char rec[CHECKPW_RECORD_MAX];
  size_t n;
  int pi[2];
  pid_t pid;
  int status;

  if (ulen + plen + 3 > sizeof rec) return 1; /* qauth could not take it either */
  memcpy(rec, user, ulen);
  rec[ulen] = '\0';
  memcpy(rec + ulen + 1, pass, plen);
  rec[ulen + 1 + plen] = '\0';
  rec[ulen + plen + 2] = '\0';
  n = ulen + plen + 3;

  if (pipe2(pi, O_CLOEXEC) == -1) {
    qwarn_sys("unable to create a pipe");
    return 111;
  }
  pid = fork();
  if (pid == -1) {
    qwarn_sys("unable to fork");
    close(pi[0]);
    close(pi[1]);
    return 111;
  }
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (datafd != -1 && (dup2(datafd, 0) == -1 || dup2(datafd, 1) == -1)) _exit(111);
    if (pi[0] == 3) {
      if (fcntl(3, F_SETFD, 0) == -1) _exit(111);
    } else if (dup2(pi[0], 3) == -1) {
      _exit(111);
    }
    execvp(checkpw[0], checkpw);
    qwarn_sys("unable to run ", checkpw[0]);
    _exit(111);
  }
  close(pi[0]);
  /* a checkpassword that exits early closes the pipe: EPIPE is fine */
  (void)durable_writeall(pi[1], rec, n);
  close(pi[1]);
  explicit_bzero(rec, sizeof rec);
  while (waitpid(pid, &status, 0) == -1) {
    if (errno != EINTR) return 111;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 111;
}

static int read_full(int fd, char *buf, size_t len)
{
  size_t got = 0;
  ssize_t r;

  while (got < len) {
    r = read(fd, buf + got, len - got);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* The root parent: runs checkpassword for the unprivileged child. */
static void monitor(int s, pid_t child)
{
  char req[POP_MAX_REQUEST];
  unsigned char hdr[2];
  size_t len;
  struct pop_req r;
  int code;
  char answer;

  for (;;) {
    if (read_full(s, (char *)hdr, 2) == -1) break;
    len = (size_t)hdr[0] << 8 | hdr[1];
    if (len < 1 || len > sizeof req) break;
    if (read_full(s, req, len) == -1) break;
    if (req[0] != 'S' && req[0] != 'P') break;
    if (!pop_req_parse(&r, req, len)) goto protocol;
    if (r.kind == 'S') {
      if (tls_data == -1) goto protocol;
      if (setenv("QTLS_PROTO", r.proto, 1) == -1 || setenv("QTLS_CIPHER", r.cipher, 1) == -1)
        code = 111;
      else
        code = run_checkpw(r.user, r.ulen, r.pass, r.plen, tls_data);
    } else {
      code = run_checkpw(r.user, r.ulen, r.pass, r.plen, -1);
    }
    explicit_bzero(req, sizeof req);
    answer = code == 0 ? '0' : code == 1 ? '1' : 'T';
    if (durable_writeall(s, &answer, 1) == -1 || code == 0) break;
  }
  close(s);
  while (waitpid(child, NULL, 0) == -1 && errno == EINTR) {}
  _exit(0);

protocol:
  qwarn("protocol error from the POP3 child: closing");
  explicit_bzero(req, sizeof req);
  close(s);
  kill(child, SIGTERM);
  while (waitpid(child, NULL, 0) == -1 && errno == EINTR) {}
  _exit(111);
}

static void drop_privileges(void)
{
  struct passwd *pw;
  gid_t gid;

  errno = 0;
  pw = getpwnam(ACCT_SMTPD);
  if (pw == NULL) {
    pop_puts("-ERR [SYS/TEMP] server misconfigured\r\n");
    pop_flush();
    if (errno != 0) qdie_sys(111, "unable to find user " ACCT_SMTPD);
    qdie(111, "unable to find user " ACCT_SMTPD ": no such user");
  }
  gid = pw->pw_gid;
  if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(pw->pw_uid) == -1)
    qdie_sys(111, "unable to become " ACCT_SMTPD);
  if (getuid() == 0 || geteuid() == 0) qdie(111, "unable to drop root");
}

static void privsep(void)
{
  int sv[2];
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
    qdie_sys(111, "unable to create a socket pair");
  pid = fork();
  if (pid == -1) qdie_sys(111, "unable to fork");
  if (pid != 0) {
    close(sv[1]);
    monitor(sv[0], pid);
  }
  close(sv[0]);
  monitor_fd = sv[1];
  drop_privileges();
}

static void front_end(const char *why)
{
  char n[FMT_ULONG];

  qlog("connection from ", ip, ": no login (", qlog_ulong(n, failures), " failed), ", why);
}

/* 0 session ran, 1 bad login, 111 temporary failure. */
static int authenticate(const char *user, size_t ulen, const char *pass, size_t plen)
{
  char req[POP_MAX_REQUEST];
  size_t len;
  struct pop_req q;
  char answer;
  ssize_t r;

  if (monitor_fd == -1) return run_checkpw(user, ulen, pass, plen, -1);

  q.kind = started_tls ? 'S' : 'P';
  q.proto = started_tls ? tls_proto : "";
  q.cipher = started_tls ? tls_cipher : "";
  q.user = user;
  q.ulen = ulen;
  q.pass = pass;
  q.plen = plen;
  len = pop_req_fmt(req, &q);
  if (len == 0) return 1; /* a password qauth could not take either */
  r = durable_writeall(monitor_fd, req, len);
  explicit_bzero(req, sizeof req);
  if (r == -1) return 111;
  do {
    r = read(monitor_fd, &answer, 1);
  } while (r == -1 && errno == EINTR);
  if (r != 1) return 111;
  return answer == '0' ? 0 : answer == '1' ? 1 : 111;
}

/* Writes the request byte req to qtls-server and reads its one-line
 * answer into line (MAX_TLS_LINE bytes), without the newline. */
static void tls_ask(const char *req, char *line)
{
  size_t len = 0;
  ssize_t r;
  struct pollfd p;

  if (durable_writeall(tls_ctl, req, 1) == -1) qdie_sys(111, "unable to write to qtls-server");
  for (;;) {
    p.fd = tls_ctl;
    p.events = POLLIN;
    r = poll(&p, 1, 120000);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) qdie(111, "unable to read from qtls-server: timed out");
    r = read(tls_ctl, line + len, 1);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) qdie(111, "unable to read from qtls-server: no answer");
    if (line[len] == '\n') break;
    if (++len >= MAX_TLS_LINE) qdie(111, "unable to read from qtls-server: line too long");
  }
  line[len] = '\0';
}

/* RFC 2595 4: "+OK", then the handshake; input sent before it is lost.
 * First the wrapper is asked whether TLS can start at all ("P": "R" or
 * "N reason"): if not, -ERR and the session goes on without STLS. */
static void do_stls(void)
{
  char line[MAX_TLS_LINE];
  size_t len;
  char *sp;

  if (tls_active) {
    pop_puts("-ERR command not permitted when TLS active\r\n");
    return;
  }
  if (tls_ctl == -1) {
    pop_puts("-ERR STLS not available\r\n");
    return;
  }
  tls_ask("P", line);
  if (line[0] != 'R') {
    qlog("connection from ", ip, ": TLS not available: ", line[0] == 'N' ? line + 1 : line);
    close(tls_ctl);
    close(tls_data);
    tls_ctl = tls_data = -1;
    pop_puts("-ERR [SYS/TEMP] TLS not available\r\n");
    return;
  }
  pop_puts("+OK begin TLS negotiation\r\n");
  pop_flush();
  pop_in_discard();
  tls_ask("S", line);
  if (line[0] != 'Y') {
    qlog("connection from ", ip, ": TLS handshake failed: ", line[0] == 'N' ? line + 1 : line);
    _exit(0);
  }
  if (dup2(tls_data, 0) == -1 || dup2(tls_data, 1) == -1)
    qdie_sys(111, "unable to switch to the TLS descriptor");
  sp = line + 1;
  while (*sp == ' ') sp++;
  len = strcspn(sp, " ");
  if (len >= POP_MAX_TLS_NAME) len = POP_MAX_TLS_NAME - 1;
  memcpy(tls_proto, sp, len);
  tls_proto[len] = '\0';
  sp += strcspn(sp, " ");
  while (*sp == ' ') sp++;
  len = strlen(sp);
  if (len >= POP_MAX_TLS_NAME) len = POP_MAX_TLS_NAME - 1;
  memcpy(tls_cipher, sp, len);
  tls_cipher[len] = '\0';
  if (setenv("QTLS_PROTO", tls_proto, 1) == -1 || setenv("QTLS_CIPHER", tls_cipher, 1) == -1)
    qdie(111, "out of memory");
  tls_active = 1;
  started_tls = 1;
}

static void do_capa(void)
{
  pop_puts("+OK capability list follows\r\n"
           "TOP\r\n"
           "UIDL\r\n"
           "RESP-CODES\r\n"
           "AUTH-RESP-CODE\r\n"
           "EXPIRE NEVER\r\n");
  if (tls_ctl != -1 && !tls_active) pop_puts("STLS\r\n");
  if (tls_active || plain_ok) pop_puts("USER\r\n");
  pop_puts("IMPLEMENTATION qmta\r\n.\r\n");
}

static void authorization(void)
{
  char line[POP_MAX_CMDLINE + 1];
  char user[ADDR_MAX + 1];
  size_t ulen = 0;
  int have_user = 0;
  unsigned long bad = 0;
  struct pop_cmd c;
  size_t len;
  int r;

  pop_io_end = front_end;
  pop_puts("+OK POP3 server ready\r\n");
  for (;;) {
    r = pop_getline(line, POP_MAX_CMDLINE, &len);
    if (r == 0) pop_exit(0, "closed");
    if (r == -2) {
      pop_puts("-ERR line too long\r\n");
      if (++bad >= POP_MAX_BADCMDS) pop_exit(0, "too many bad commands");
      continue;
    }
    pop_cmd_parse(&c, line, len);
    if (strcmp(c.word, "capa") == 0) {
      do_capa();
    } else if (strcmp(c.word, "stls") == 0) {
      do_stls();
      have_user = 0;
    } else if (strcmp(c.word, "quit") == 0) {
      pop_puts("+OK bye\r\n");
      pop_flush();
      pop_exit(0, "quit");
    } else if (strcmp(c.word, "user") == 0) {
      if (!tls_active && !plain_ok) {
        pop_puts("-ERR [AUTH] plaintext login needs TLS: use STLS first\r\n");
        continue;
      }
      ulen = strlen(c.arg);
      if (ulen == 0 || ulen > ADDR_MAX) {
        pop_puts("-ERR [AUTH] user name missing or too long\r\n");
        have_user = 0;
        continue;
      }
      memcpy(user, c.arg, ulen + 1);
      have_user = 1;
      pop_puts("+OK send PASS\r\n");
    } else if (strcmp(c.word, "pass") == 0) {
      size_t plen = strlen(c.arg);
      if (!have_user) {
        pop_puts("-ERR USER first\r\n");
        continue;
      }
      have_user = 0;
      if (pop_in.p < pop_in.n) {
        /* the session is another process: what the client sent after
         * PASS would be lost in this buffer, so pipelining stops here */
        pop_in_discard();
        explicit_bzero(line, sizeof line);
        pop_puts("-ERR no commands after PASS before its answer (no PIPELINING before login)\r\n");
        continue;
      }
      pop_flush();
      r = authenticate(user, ulen, c.arg, plen);
      explicit_bzero(line, sizeof line);
      explicit_bzero(pop_in.x, pop_in.a); /* all read: only the password is there */
      if (r == 0) _exit(0); /* the session ran, and logged */
      if (r == 1) {
        failures++;
        pop_puts("-ERR [AUTH] invalid user name or password\r\n");
        if (failures >= MAX_FAILURES) {
          pop_flush();
          pop_exit(0, "too many failed logins");
        }
        continue;
      }
      pop_puts("-ERR [SYS/TEMP] unable to log in now, try again later\r\n");
      pop_flush();
      pop_exit(0, "temporary failure");
    } else if (strcmp(c.word, "apop") == 0 || strcmp(c.word, "auth") == 0) {
      pop_puts("-ERR not supported\r\n");
    } else {
      pop_puts("-ERR unknown command or not authenticated\r\n");
      if (++bad >= POP_MAX_BADCMDS) {
        pop_flush();
        pop_exit(0, "too many bad commands");
      }
    }
  }
}

int main(int argc, char **argv)
{
  const char *env;
  unsigned long timeout;

  qlog_prog = "qpop3d";
  if (argc >= 2 && strcmp(argv[1], "-s") == 0) {
    if (argc != 2) die_usage();
    pop_session();
  }
  if (argc == 2 || (argc > 2 && argv[1][0] == '-')) die_usage();
  if (argc > 2) checkpw = argv + 1;
  signal(SIGPIPE, SIG_IGN);

  env = getenv("TCPREMOTEIP");
  if (env != NULL && env[0] != '\0') ip = env;
  if (getenv("QTLS_PROTO") != NULL) {
    tls_active = 1;
  } else {
    tls_ctl = env_fd("QTLS_CTL");
    tls_data = env_fd("QTLS_DATA");
    if (tls_ctl == -1 || tls_data == -1) tls_ctl = tls_data = -1;
  }

  if (qhome_chdir() == -1) {
    pop_puts("-ERR [SYS/TEMP] server misconfigured\r\n");
    pop_flush();
    qdie_sys(111, "unable to switch to ", qhome());
  }
  if (ctl_readint(&timeout, "control/timeoutpop3d", POP_TIMEOUT) == 1) pop_timeout = timeout;
  /* as in qsmtpd: the file's existence is the switch */
  if (access("control/authplaintext", F_OK) == 0 && ipaddr_isloopback(ip)) plain_ok = 1;

  if (geteuid() == 0) privsep();
  authorization();
  return 0;
}
