/*
 * qsmtpd_auth: SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms. The password is checked by the checkpassword program qauth
 * ($QAUTH, else qauth from PATH), run as "qauth /bin/true" with
 * "user\0password\0timestamp\0" on its fd 3: exit 0 ok, 1 bad login,
 * anything else a temporary failure. qsmtpd never sees a password hash.
 *
 * Offered only under TLS, or to a loopback client (ipaddr_isloopback) when control/authplaintext
 * exists. Passwords are wiped from memory after use and never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>

#include "b64.h"
#include "qlog.h"
#include "qsmtpd.h"

#define MAX_AUTH_FAILURES 5   /* per session; then 421 */
#define AUTH_DECODED_MAX 1600 /* MAX_AUTHLINE * 3 / 4, rounded up */

static int spawn_qauth(pid_t *pid, int fd3)
{
  const char *prog = getenv("QAUTH");
  char *argv[3];
  int use_path = 0;
  pid_t child;

  if (prog == NULL || prog[0] == '\0') {
    prog = "qauth";
    use_path = 1;
  }
  argv[0] = (char *)"qauth";
  argv[1] = (char *)"/bin/true";
  argv[2] = NULL;
  child = fork();
  if (child == -1) return -1;
  if (child == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    io_child_setup();
    /* the client's connection stays out of reach: fd 0 and 1 are /dev/null */
    if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1) _exit(111);
    if (fd3 == 3) {
      if (fcntl(3, F_SETFD, 0) == -1) _exit(111); /* dup2 onto itself keeps CLOEXEC */
    } else if (dup2(fd3, 3) == -1) {
      _exit(111);
    }
    if (use_path) execvp(prog, argv);
    else execv(prog, argv);
    _exit(111);
  }
  *pid = child;
  return 0;
}

/* Waits for pid at most io_timeout seconds; then kills it. -1 if it had to. */
static int wait_bounded(pid_t pid)
{
  struct timespec start;
  struct timespec now;
  struct timespec nap = { 0, 5000000 }; /* 5 ms, growing to 50 ms */
  int status;

  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r == -1 && errno != EINTR) return -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((unsigned long)(now.tv_sec - start.tv_sec) > io_timeout) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {}
      return -1;
    }
    nanosleep(&nap, NULL);
    if (nap.tv_nsec < 50000000) nap.tv_nsec += 5000000;
  }
}

int smtp_auth_check(const char *user, size_t ulen, const char *pass, size_t plen)
{
  char data[MAX_AUTHUSER + MAX_AUTHPASS + 64];
  char num[FMT_ULONG];
  size_t n = 0;
  int fds[2];
  pid_t pid;
  int status;
  size_t done = 0;

  if (ulen > MAX_AUTHUSER || plen > MAX_AUTHPASS) return 1;
  memcpy(data, user, ulen);
  n = ulen;
  data[n++] = '\0';
  memcpy(data + n, pass, plen);
  n += plen;
  data[n++] = '\0';
  /* the timestamp is only meaningful for challenge mechanisms: a unique token */
  data[n++] = '<';
  qlog_ulong(num, (unsigned long)getpid());
  memcpy(data + n, num, strlen(num));
  n += strlen(num);
  data[n++] = '.';
  qlog_ulong(num, (unsigned long)time(NULL));
  memcpy(data + n, num, strlen(num));
  n += strlen(num);
  data[n++] = '>';
  data[n++] = '\0';

  if (pipe2(fds, O_CLOEXEC) == -1) {
    explicit_bzero(data, sizeof data);
    return 2;
  }
  if (spawn_qauth(&pid, fds[0]) == -1) {
    qwarn_sys("unable to run qauth");
    explicit_bzero(data, sizeof data);
    close(fds[0]);
    close(fds[1]);
    return 2;
  }
  close(fds[0]);
  while (done < n) {
    ssize_t w = write(fds[1], data + done, n - done);
    if (w == -1 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  explicit_bzero(data, sizeof data);
  close(fds[1]);
  status = wait_bounded(pid);
  if (status == -1 || !WIFEXITED(status)) return 2;
  if (WEXITSTATUS(status) == 0) return 0;
  if (WEXITSTATUS(status) == 1) return 1;
  return 2;
}

/* Reads one response line of the exchange into buf (CRLF removed).
 * 1 ok, 0 the client cancelled ("*") or sent a line too long (replied). */
static int read_response(char *buf, size_t size, size_t *len)
{
  int r = io_getline(buf, size, len);

  if (r == -1) io_die_read();
  if (r == 0) sess_exit("eof");
  if (r == -2) {
    io_reply("500 5.5.6 authentication exchange line is too long\r\n"); /* RFC 4954 4 */
    return 0;
  }
  if (*len > 0 && buf[*len - 1] == '\n') (*len)--;
  if (*len > 0 && buf[*len - 1] == '\r') (*len)--;
  if (*len == 1 && buf[0] == '*') {
    io_reply("501 5.0.0 authentication cancelled\r\n");
    return 0;
  }
  return 1;
}

/* Decodes a base64 response; "=" is the empty response (RFC 4954 4). */
static int decode(char *out, size_t max, size_t *outlen, const char *s, size_t len)
{
  size_t n;

  if (len == 1 && s[0] == '=') {
    *outlen = 0;
    return 1;
  }
  n = b64_decode(out, max, s, len);
  if (n == (size_t)-1) {
    io_reply("501 5.5.2 cannot decode the response\r\n");
    return 0;
  }
  *outlen = n;
  return 1;
}

static int user_ok(const char *s, size_t len)
{
  size_t i;

  if (len == 0 || len > MAX_AUTHUSER) return 0;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f) return 0;
  return 1;
}

static void finish(const char *user, size_t ulen, const char *pass, size_t plen)
{
  int r;
  char shown[MAX_AUTHUSER + 1];
  size_t i;

  if (!user_ok(user, ulen) || plen == 0 || plen > MAX_AUTHPASS || memchr(pass, '\0', plen)) {
    r = 1;
  } else {
    r = smtp_auth_check(user, ulen, pass, plen);
  }
  if (ulen > MAX_AUTHUSER) ulen = MAX_AUTHUSER;
  for (i = 0; i < ulen; i++)
    shown[i] = ((unsigned char)user[i] < 0x21 || (unsigned char)user[i] >= 0x7f) ? '?' : user[i];
  shown[ulen] = '\0';
  if (r == 0) {
    sess.authed = 1;
    memcpy(sess.authuser, shown, ulen + 1);
    qlog("auth ip=", sess.ip, " user=", shown, " result=ok");
    io_reply("235 2.7.0 authentication successful\r\n");
    return;
  }
  qlog("auth ip=", sess.ip, " user=", shown, r == 1 ? " result=bad" : " result=temp");
  /* temporary failures count too: a client locked out by qauth must not
   * go on trying in the same session */
  if (++sess.auth_failures >= MAX_AUTH_FAILURES) {
    io_reply("421 4.7.0 too many authentication failures, closing connection\r\n");
    io_flush();
    sess_exit("auth failures");
  }
  if (r == 1)
    io_reply("535 5.7.8 authentication credentials invalid\r\n");
  else
    io_reply("454 4.7.0 temporary authentication failure\r\n");
}

static int mech_is(const char *s, size_t len, const char *m)
{
  size_t i;

  if (len != strlen(m)) return 0;
  for (i = 0; i < len; i++) {
    int c = (unsigned char)s[i];
    if (c >= 'a' && c <= 'z') c -= 32;
    if (c != m[i]) return 0;
  }
  return 1;
}

static void auth_plain(const char *init, size_t initlen)
{
  char line[MAX_AUTHLINE];
  char dec[AUTH_DECODED_MAX];
  size_t len;
  size_t n;
  const char *user;
  const char *pass;
  size_t ulen;
  size_t plen;
  int r;

  if (initlen == 0) {
    io_reply("334 \r\n");
    if (!read_response(line, sizeof line, &len)) return;
    init = line;
    initlen = len;
  }
  if (!decode(dec, sizeof dec, &n, init, initlen)) return;
  r = sasl_plain_split(dec, n, &user, &ulen, &pass, &plen); /* lib/b64.h */
  if (r == 1) finish(user, ulen, pass, plen);
  else if (r == -1) io_reply("535 5.7.8 authorization identity must be the login\r\n");
  else io_reply("501 5.5.2 malformed PLAIN response\r\n");
  explicit_bzero(dec, sizeof dec);
  explicit_bzero(line, sizeof line);
}

static void auth_login(const char *init, size_t initlen)
{
  char line[MAX_AUTHLINE];
  char user[AUTH_DECODED_MAX];
  char pass[AUTH_DECODED_MAX];
  size_t len;
  size_t ulen;
  size_t plen;

  if (initlen == 0) {
    io_reply("334 VXNlcm5hbWU6\r\n"); /* "Username:" */
    if (!read_response(line, sizeof line, &len)) return;
    init = line;
    initlen = len;
  }
  if (!decode(user, sizeof user, &ulen, init, initlen)) return;
  io_reply("334 UGFzc3dvcmQ6\r\n");   /* "Password:" */
  if (!read_response(line, sizeof line, &len)) return;
  if (!decode(pass, sizeof pass, &plen, line, len)) {
    explicit_bzero(line, sizeof line);
    return;
  }
  explicit_bzero(line, sizeof line);
  finish(user, ulen, pass, plen);
  explicit_bzero(pass, sizeof pass);
}

void smtp_auth(const char *arg, size_t len)
{
  size_t m;
  size_t i;

  if (sess.authed) {
    io_reply("503 5.5.1 already authenticated\r\n");
    return;
  }
  if (!sess.ehlo) {
    io_reply("503 5.5.1 send EHLO first\r\n");
    return;
  }
  if (sess_tx_active()) {
    io_reply("503 5.5.1 AUTH not allowed during a mail transaction\r\n");
    return;
  }
  if (!sess_auth_offered()) {
    if (!sess.tls) io_reply("538 5.7.11 encryption required for authentication\r\n");
    else io_reply("502 5.5.1 AUTH not available\r\n");
    return;
  }
  for (m = 0; m < len && arg[m] != ' '; m++) {}
  for (i = m; i < len && arg[i] == ' '; i++) {}
  if (m == 0) {
    io_reply("501 5.5.4 syntax: AUTH mechanism [initial-response]\r\n");
    return;
  }
  if (mech_is(arg, m, "PLAIN")) auth_plain(arg + i, len - i);
  else if (mech_is(arg, m, "LOGIN")) auth_login(arg + i, len - i);
  else io_reply("504 5.5.4 unrecognized authentication mechanism\r\n");
}
