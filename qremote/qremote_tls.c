/*
 * qremote_tls: hands the connected socket to qtls-client (qtls-client(8))
 * after the server's 220 to STARTTLS, and talks plaintext to it through a
 * socket pair from then on. qremote never links a TLS library.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt.h>

#include "qremote.h"

#define TLS_STATUS_MAX 600 /* qtls-client(8): "Y" + proto + cipher + cn, or "N" + 200 */
#define TLS_HELPER "qtls-client"

const char *tls_helper_dir = NULL;

static void set_status(char *status, size_t size, const char *s)
{
  size_t len = strlen(s);

  if (len >= size) len = size - 1;
  memcpy(status, s, len);
  status[len] = '\0';
}

static void exec_helper(int netfd, int pairfd, const char *host, int verify, const char *cafile,
                        const char *tlsa, size_t tlsa_count, unsigned long timeout)
{
  char timetext[FMT_ULONG];
  const char *argv[10 + 2 * QR_TLSA_MAX];
  size_t argc = 0;
  int null;
  int flags;

  /* fd 0 = our end of the pair, fd 3 = the socket (both without close-on-exec) */
  if (dup2(pairfd, 0) == -1) _exit(111);
  if (netfd == 3) {
    if (fcntl(3, F_SETFD, 0) == -1) _exit(111);
  } else if (dup2(netfd, 3) == -1) {
    _exit(111);
  }
  flags = fcntl(3, F_GETFL);
  if (flags == -1 || fcntl(3, F_SETFL, flags & ~O_NONBLOCK) == -1) _exit(111);
  null = open("/dev/null", O_WRONLY);  /* fd 1 is qremote's result pipe: not for the helper */
  if (null == -1 || dup2(null, 1) == -1) _exit(111);

  timetext[fmt_ulong(timetext, timeout)] = '\0';
  argv[argc++] = TLS_HELPER;
  if (host[0] != '\0') {
    argv[argc++] = "-h";
    argv[argc++] = host;
  }
  if (verify) argv[argc++] = "-v";
  if (cafile[0] != '\0') {
    argv[argc++] = "-C";
    argv[argc++] = cafile;
  }
  for (size_t i = 0; i < tlsa_count && i < QR_TLSA_MAX; ++i) {
    argv[argc++] = "-T";
    argv[argc++] = tlsa;
    tlsa += strlen(tlsa) + 1;
  }
  argv[argc++] = "-t";
  argv[argc++] = timetext;
  argv[argc] = NULL;

  helper_exec(argv);
}

void helper_exec(const char *const *argv)
{
  char path[QR_PATH_MAX + QR_HELPER_NAME_MAX + 2];
  size_t nlen = strlen(argv[0]);

  signal(SIGPIPE, SIG_DFL);
  if (tls_helper_dir != NULL && strlen(tls_helper_dir) <= QR_PATH_MAX &&
      nlen <= QR_HELPER_NAME_MAX) {
    size_t dlen = strlen(tls_helper_dir);

    memcpy(path, tls_helper_dir, dlen);
    path[dlen] = '/';
    memcpy(path + dlen + 1, argv[0], nlen + 1);
    execv(path, (char *const *)argv);
  }
  execvp(argv[0], (char *const *)argv);
  _exit(111);
}

int tls_start(int netfd, const char *host, int verify, const char *cafile,
              const char *tlsa, size_t tlsa_count, unsigned long timeout, char *status,
              size_t statussize, pid_t *pid)
{
  int pair[2];
  char line[TLS_STATUS_MAX];
  size_t len = 0;
  int wstatus;
  int flags;

  *pid = -1;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1) {
    set_status(status, statussize, "unable to create a socket pair");
    close(netfd);
    return -1;
  }
  *pid = fork();
  if (*pid == -1) {
    set_status(status, statussize, "unable to fork the TLS helper");
    close(pair[0]);
    close(pair[1]);
    close(netfd);
    return -1;
  }
  if (*pid == 0) exec_helper(netfd, pair[1], host, verify, cafile, tlsa, tlsa_count, timeout);
  close(pair[1]);
  close(netfd);

  /* the status line, one byte at a time: nothing after it is ours to take */
  for (;;) {
    ssize_t r;
    char c;

    if (net_wait(pair[0], POLLIN, timeout + 10) != 1) {
      set_status(status, statussize, "TLS helper timed out");
      goto fail;
    }
    r = read(pair[0], &c, 1);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      set_status(status, statussize, "TLS helper failed");
      goto fail;
    }
    if (c == '\n') break;
    if (len + 1 >= sizeof line) {
      set_status(status, statussize, "TLS helper status too long");
      goto fail;
    }
    line[len++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
  }
  line[len] = '\0';
  if (len >= 2 && line[0] == 'Y' && line[1] == ' ') {
    set_status(status, statussize, line + 2);
    flags = fcntl(pair[0], F_GETFL);
    if (flags == -1 || fcntl(pair[0], F_SETFL, flags | O_NONBLOCK) == -1) {
      set_status(status, statussize, "unable to set up the TLS pipe");
      goto fail;
    }
    return pair[0];
  }
  if (len >= 2 && line[0] == 'N' && line[1] == ' ')
    set_status(status, statussize, line + 2);
  else
    set_status(status, statussize, "TLS helper said nonsense");

fail:
  close(pair[0]);
  kill(*pid, SIGTERM);
  while (waitpid(*pid, &wstatus, 0) == -1 && errno == EINTR) {}
  *pid = -1;
  return -1;
}
