/*
 * qpop3d: the POP3 server (RFC 1939; CAPA and response codes RFC 2449;
 * STLS RFC 2595; AUTH PLAIN RFC 5034), in the manner of qmail-popup + checkpassword +
 * qmail-pop3d.
 *
 * "qpop3d [checkpassword prog...]" speaks the AUTHORIZATION state on fd 0
 * and fd 1 (started by qlisten, one process per connection), and runs
 * checkpassword (default: qauth qpop3d -s) with "user\0password\0\0" on
 * fd 3 for each USER/PASS or AUTH PLAIN; a good login becomes the session "qpop3d -s" (see
 * qpop3d_session.c), run as the mailbox owner.
 *
 * Privileges: started as root (a root instance), qpop3d forks at once.
 * The child drops to qmta-smtpd and does all the talking; the parent
 * stays root, closes its copies of the client's socket at once, and only
 * runs checkpassword for the child, given the user, the password, whether
 * TLS is on, and the connection to put on the session's fd 0 and fd 1
 * (the client's socket, or qtlsd's connection after TLS), over a socket
 * pair (message: 2-byte length, then "S" or "P", proto\0, cipher\0,
 * user\0, password\0, with the connection attached (SCM_RIGHTS);
 * answer: one byte '0' the session ran, '1' bad login, 'T' temporary
 * failure). The parent closes that connection as soon as checkpassword
 * is forked: no root process holds it while the session runs. The names
 * of protocol and cipher come from the unprivileged child: they are cut
 * down to [A-Za-z0-9._-] before they go into checkpassword's environment. Started as another user, qpop3d is one process and runs
 * checkpassword itself.
 *
 * TLS through qtlsd (lib/tlsd.h): QTLSD names its socket (STLS offered);
 * IMPLICITTLS=1 starts TLS before the greeting (port 995). USER and PASS
 * are taken only under TLS, or from a loopback client when
 * control/authplaintext says so.
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt.h>

#include "fdpass.h"
#include "accounts.h"
#include "addr.h"
#include "b64.h"
#include "ctl.h"
#include "durable.h"
#include "ipaddr.h"
#include "listenproto.h"
#include "qlog.h"
#include "qpop3d.h"
#include "tlsd.h"

#define USAGE "qpop3d [checkpassword prog [arg...]] | qpop3d -s"
#define CHECKPW_RECORD_MAX 512  /* the checkpassword interface's limit */
#define MAX_FAILURES 3          /* failed logins per connection */
#define TLSD_WAIT 120           /* seconds for qtlsd's answer (its handshake limit is 60) */

static char *default_checkpw[] = {"qauth", "qpop3d", "-s", NULL};
static char **checkpw = default_checkpw;

static const char *ip = "unknown";
static int tls_active;
static const char *tlsd;      /* QTLSD: qtlsd's socket, NULL: no TLS */
static char tls_proto[POP_MAX_TLS_NAME];
static char tls_cipher[POP_MAX_TLS_NAME];
static int plain_ok;
static int monitor_fd = -1;  /* privsep: the socket to the root parent */
static unsigned long failures;

/* Runs checkpassword with the record on fd 3 and waits for it. datafd:
 * the descriptor to put on fd 0 and fd 1 (after STLS), or -1; it is
 * closed here in every case, before the wait. Returns its exit code (0
 * also after a session), 111 if it could not run or died. */
/* Sends len bytes of buf with fd attached (SCM_RIGHTS). 0, or -1. */
static int send_with_fd(int s, const char *buf, size_t len, int fd)
{
  ssize_t w = fdpass_sendmsg(s, buf, len, fd, 0);

  if (w == (ssize_t)len) return 0;
  if (w >= 0) return durable_writeall(s, buf + w, len - (size_t)w) == -1 ? -1 : 0;
  return -1;
}

static int run_checkpw(const char *user, size_t ulen, const char *pass, size_t plen, int datafd)
{
  char rec[CHECKPW_RECORD_MAX];
  size_t n;
  int pi[2];
  pid_t pid;
  int status;

  if (ulen + plen + 3 > sizeof rec) {
    if (datafd != -1) close(datafd);
    return 1; /* qauth could not take it either */
  }
  memcpy(rec, user, ulen);
  rec[ulen] = '\0';
  memcpy(rec + ulen + 1, pass, plen);
  rec[ulen + 1 + plen] = '\0';
  rec[ulen + plen + 2] = '\0';
  n = ulen + plen + 3;

  if (pipe2(pi, O_CLOEXEC) == -1) {
    qwarn_sys("unable to create a pipe");
    if (datafd != -1) close(datafd);
    return 111;
  }
  pid = fork();
  if (pid == -1) {
    qwarn_sys("unable to fork");
    close(pi[0]);
    close(pi[1]);
    if (datafd != -1) close(datafd);
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
  /* the session has the connection now: the root parent keeps no copy of
   * it while it waits, which may be for the whole session */
  if (datafd != -1) close(datafd);
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

/* The first bytes of a request, with the descriptor sent along (*fd, or -1). */
static int read_first(int s, char *buf, size_t len, int *fd)
{
  return fdpass_recvmsg(s, buf, len, fd, MSG_WAITALL) == (ssize_t)len ? 0 : -1;
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

/* A TLS name from the unprivileged child, for the environment of what
 * root runs: at most size - 1 bytes, each outside [A-Za-z0-9._-] made '_'. */
static void tls_name(char *dest, size_t size, const char *name)
{
  size_t i;

  for (i = 0; i + 1 < size && name[i] != '\0'; i++) {
    char c = name[i];
    int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    dest[i] = plain ? c : '_';
  }
  dest[i] = '\0';
}

/* The root parent: runs checkpassword for the unprivileged child. */
static void monitor(int s, pid_t child)
{
  char proto[POP_MAX_TLS_NAME];
  char cipher[POP_MAX_TLS_NAME];
  char req[POP_MAX_REQUEST];
  unsigned char hdr[2];
  size_t len;
  struct pop_req r;
  int code;
  char answer;
  int conn = -1;

  for (;;) {
    if (read_first(s, (char *)hdr, 2, &conn) == -1) break;
    len = (size_t)hdr[0] << 8 | hdr[1];
    if (conn == -1 || len < 1 || len > sizeof req) goto protocol;
    if (read_full(s, req, len) == -1) break;
    if (req[0] != 'S' && req[0] != 'P') goto protocol;
    if (!pop_req_parse(&r, req, len)) goto protocol;
    if (r.kind == 'S') {
      tls_name(proto, sizeof proto, r.proto);
      tls_name(cipher, sizeof cipher, r.cipher);
    }
    if (r.kind == 'S' &&
        (setenv("QTLS_PROTO", proto, 1) == -1 || setenv("QTLS_CIPHER", cipher, 1) == -1)) {
      code = 111;
      close(conn);
    } else {
      code = run_checkpw(r.user, r.ulen, r.pass, r.plen, conn); /* closes conn */
    }
    explicit_bzero(req, sizeof req);
    conn = -1;
    answer = code == 0 ? '0' : code == 1 ? '1' : 'T';
    if (durable_writeall(s, &answer, 1) == -1 || code == 0) break;
  }
  if (conn != -1) close(conn);
  close(s);
  while (waitpid(child, NULL, 0) == -1 && errno == EINTR) {}
  _exit(0);

protocol:
  qwarn("protocol error from the POP3 child: closing");
  explicit_bzero(req, sizeof req);
  if (conn != -1) close(conn);
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
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* root never holds the client's socket: the child sends the session's
     * connection along with each login */
    if (devnull == -1 || dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
      qdie_sys(111, "unable to close the client's socket");
    close(devnull);
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

  q.kind = tls_active ? 'S' : 'P';
  q.proto = tls_active ? tls_proto : "";
  q.cipher = tls_active ? tls_cipher : "";
  q.user = user;
  q.ulen = ulen;
  q.pass = pass;
  q.plen = plen;
  len = pop_req_fmt(req, &q);
  if (len == 0) return 1; /* a password qauth could not take either */
  r = send_with_fd(monitor_fd, req, len, 0);
  explicit_bzero(req, sizeof req);
  if (r == -1) return 111;
  do {
    r = read(monitor_fd, &answer, 1);
  } while (r == -1 && errno == EINTR);
  if (r != 1) return 111;
  return answer == '0' ? 0 : answer == '1' ? 1 : 111;
}

/* After "Y proto cipher": qtlsd's connection becomes fd 0 and fd 1. */
static void tls_switch(int conn, const char *line)
{
  if (dup2(conn, 0) == -1 || dup2(conn, 1) == -1)
    qdie_sys(111, "unable to switch to the TLS connection");
  close(conn);
  tlsd_names(line, tls_proto, sizeof tls_proto, tls_cipher, sizeof tls_cipher);
  if (setenv("QTLS_PROTO", tls_proto, 1) == -1 || setenv("QTLS_CIPHER", tls_cipher, 1) == -1)
    qdie(111, "out of memory");
  tls_active = 1;
}

/* For the log: qtlsd's answer of n bytes without its "N ", or "no answer". */
static const char *tlsd_why(const char *line, ssize_t n)
{
  if (n < 1) return "no answer";
  if (line[0] == 'N' && line[1] == ' ') return line + 2;
  return line;
}

/* Port 995: TLS before the greeting; a failed handshake ends the connection. */
static void implicit_tls(void)
{
  char line[TLSD_LINE_MAX];
  ssize_t n = -1;
  int conn;

  if (tlsd == NULL) qdie(111, "implicit TLS without QTLSD: no TLS service to ask");
  conn = tlsd_request(tlsd, 0, 'I', ip);
  if (conn == -1) qdie_sys(111, "unable to reach qtlsd at ", tlsd);
  n = tlsd_line(conn, line, sizeof line, TLSD_WAIT);
  if (n < 1 || line[0] != 'Y') {
    qlog("connection from ", ip, ": TLS handshake failed: ", tlsd_why(line, n));
    _exit(0);
  }
  tls_switch(conn, line);
}

/* RFC 2595 4: "+OK", then the handshake; input sent before it is lost.
 * First qtlsd is asked whether TLS can start at all ("P": "R" or
 * "N reason"): if not, -ERR and the session goes on without STLS. */
static void do_stls(void)
{
  char line[TLSD_LINE_MAX];
  ssize_t n = -1;
  int conn;

  if (tls_active) {
    pop_puts("-ERR command not permitted when TLS active\r\n");
    return;
  }
  if (tlsd == NULL) {
    pop_puts("-ERR STLS not available\r\n");
    return;
  }
  conn = tlsd_request(tlsd, 0, 'P', ip);
  if (conn == -1) qwarn_sys("unable to reach qtlsd at ", tlsd);
  else n = tlsd_line(conn, line, sizeof line, TLSD_WAIT);
  if (n < 1 || line[0] != 'R') {
    qlog("connection from ", ip, ": TLS not available: ",
         tlsd_why(line, n));
    if (conn != -1) close(conn);
    tlsd = NULL; /* not offered again in this session */
    pop_puts("-ERR [SYS/TEMP] TLS not available\r\n");
    return;
  }
  /* sent before the +OK, so plaintext that must not count (RFC 2595 4);
   * a client that waits for the +OK has sent nothing yet */
  pop_in_drop();
  pop_puts("+OK begin TLS negotiation\r\n");
  pop_flush();
  n = write(conn, "S", 1) == 1 ? tlsd_line(conn, line, sizeof line, TLSD_WAIT) : -1;
  if (n < 1 || line[0] != 'Y') {
    qlog("connection from ", ip, ": TLS handshake failed: ",
         tlsd_why(line, n));
    _exit(0);
  }
  tls_switch(conn, line);
}

static void do_capa(void)
{
  pop_puts("+OK capability list follows\r\n"
           "TOP\r\n"
           "UIDL\r\n"
           "RESP-CODES\r\n"
           "AUTH-RESP-CODE\r\n"
           "EXPIRE NEVER\r\n");
  if (tlsd != NULL && !tls_active) pop_puts("STLS\r\n");
  if (tls_active || plain_ok) pop_puts("USER\r\nSASL PLAIN\r\n");
  pop_puts("IMPLEMENTATION qmta\r\n.\r\n");
}

/* The end of USER/PASS and of AUTH: the login is tried. Returns after a
 * refusal; the session answers a good login, and then this process ends. */
static void login(const char *user, size_t ulen, const char *pass, size_t plen)
{
  int r;

  if (pop_in.p < pop_in.n) {
    /* the session is another process: what the client sent after the
     * password would be lost in this buffer, so pipelining stops here
     * (only when fd 0 is no socket: a socket is read a line at a time,
     * and the rest stays there for the session) */
    pop_in_discard();
    pop_puts("-ERR no commands after the password before its answer"
             " (no PIPELINING before login)\r\n");
    return;
  }
  pop_flush();
  r = authenticate(user, ulen, pass, plen);
  explicit_bzero(pop_in.x, pop_in.a); /* all read: only the password is there */
  if (r == 0) _exit(0); /* the session ran, and logged */
  if (r == 1) {
    failures++;
    pop_puts("-ERR [AUTH] invalid user name or password\r\n");
    if (failures >= MAX_FAILURES) {
      pop_flush();
      pop_exit(0, "too many failed logins");
    }
    return;
  }
  pop_puts("-ERR [SYS/TEMP] unable to log in now, try again later\r\n");
  pop_flush();
  pop_exit(0, "temporary failure");
}

/* 1 if the mechanism named by the len bytes of s is PLAIN, in any case. */
static int mech_plain(const char *s, size_t len)
{
  return len == 5 && strncasecmp(s, "PLAIN", 5) == 0;
}

/* RFC 5034: AUTH PLAIN (RFC 4616), with or without an initial response,
 * under the same rule as USER and PASS (TLS, or authplaintext from
 * loopback). A good login is answered by the session, as after PASS. */
static void do_auth(const char *arg)
{
  char resp[POP_MAX_CMDLINE + 1];
  char plain[POP_MAX_CMDLINE];
  const char *sp = strchr(arg, ' ');
  const char *b64 = sp != NULL ? sp + 1 : NULL;
  size_t mlen = sp != NULL ? (size_t)(sp - arg) : strlen(arg);
  size_t blen = 0;
  size_t n;
  const char *user;
  const char *pass;
  size_t ulen;
  size_t plen;
  int r;

  if (mlen == 0) {
    pop_puts("-ERR syntax: AUTH mechanism [initial-response]\r\n");
    return;
  }
  if (!mech_plain(arg, mlen)) {
    pop_puts("-ERR unsupported authentication mechanism\r\n");
    return;
  }
  if (!tls_active && !plain_ok) {
    pop_puts("-ERR [AUTH] plaintext login needs TLS: use STLS first\r\n");
    return;
  }
  if (b64 == NULL) {
    pop_puts("+ \r\n");
    r = pop_getline(resp, POP_MAX_CMDLINE, &blen);
    if (r == 0) pop_exit(0, "closed");
    if (r == -2) {
      pop_puts("-ERR authentication line too long\r\n");
      return;
    }
    b64 = resp;
  } else {
    blen = strlen(b64);
  }
  if (blen == 1 && b64[0] == '*') {
    pop_puts("-ERR authentication cancelled\r\n");
    return;
  }
  n = blen == 1 && b64[0] == '=' ? 0 : b64_decode(plain, sizeof plain, b64, blen);
  explicit_bzero(resp, sizeof resp);
  if (n == (size_t)-1) {
    pop_puts("-ERR cannot decode the response\r\n");
    return;
  }
  r = pop_sasl_plain(plain, n, &user, &ulen, &pass, &plen);
  if (r == 1 && ulen <= ADDR_MAX) {
    login(user, ulen, pass, plen);
  } else {
    pop_puts(r == -1 ? "-ERR [AUTH] authorization identity must be the login\r\n"
                     : "-ERR [AUTH] malformed PLAIN response\r\n");
  }
  explicit_bzero(plain, sizeof plain);
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
  pop_in_bylines = 1; /* what follows the password is the session's */
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
      if (c.arg[0] != '\0') { /* RFC 2595 4: STLS has no argument */
        pop_puts("-ERR syntax: STLS takes no argument\r\n");
        continue;
      }
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
      if (!have_user) {
        pop_puts("-ERR USER first\r\n");
        continue;
      }
      have_user = 0;
      login(user, ulen, c.arg, strlen(c.arg));
      explicit_bzero(line, sizeof line);
    } else if (strcmp(c.word, "auth") == 0) {
      have_user = 0;
      do_auth(c.arg);
      explicit_bzero(line, sizeof line);
    } else if (strcmp(c.word, "apop") == 0) {
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
    if (argc != 2) qdie_usage(USAGE);
    listen_attach(0); /* qlisten's table, kept open for us by the login stage */
    pop_session();
  }
  if (argc == 2 || (argc > 2 && argv[1][0] == '-')) qdie_usage(USAGE);
  if (argc > 2) checkpw = argv + 1;
  signal(SIGPIPE, SIG_IGN);
  /* the session (qpop3d -s, run after the login) reports progress too */
  if (listen_attach(1) == -1) qwarn_sys("unable to attach qlisten's table");

  env = getenv("TCPREMOTEIP");
  if (env != NULL && env[0] != '\0') ip = env;
  env = getenv("QTLSD");
  if (env != NULL && env[0] != '\0') tlsd = env;
  unsetenv("QTLS_PROTO"); /* only what qtlsd says counts */
  unsetenv("QTLS_CIPHER");

  if (qhome_chdir() == -1) {
    pop_puts("-ERR [SYS/TEMP] server misconfigured\r\n");
    pop_flush();
    qdie_sys(111, "unable to switch to ", qhome());
  }
  if (ctl_readint(&timeout, "control/timeoutpop3d", POP_TIMEOUT) == 1) pop_timeout = timeout;
  /* as in qsmtpd: the file's existence is the switch */
  if (access("control/authplaintext", F_OK) == 0 && ipaddr_isloopback(ip)) plain_ok = 1;

  if (geteuid() == 0) privsep();
  env = getenv("IMPLICITTLS");
  if (env != NULL && env[0] != '\0' && strcmp(env, "0") != 0) implicit_tls();
  authorization();
  return 0;
}
