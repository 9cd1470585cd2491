/*
 * qtls-server-tls: the TLS stage of qtls-server. Never run by hand:
 * qtls-server execs it (as the -u user, found through PATH) when a session
 * needs TLS, at once with -i, after the program's "S" without.
 *   qtls-server-tls implicit PLAIN NAMES PID TIMEOUT CERT KEY
 *     PLAIN: the wrapper's end of the program's socket pair; NAMES: the
 *     pipe on which the waiting child gets "proto\0cipher\0" (end of file:
 *     prog must not run).
 *   qtls-server-tls starttls CTL DATA PID TIMEOUT CERT KEY
 *     CTL: the control socket, on which "S" has been read already and
 *     "Y proto cipher\n" or "N reason\n" is answered; DATA: the plaintext
 *     socket the program switches to after Y.
 * fd 0 and fd 1: the client's socket. PID: the protocol program, a child
 * of this process (qtls-server forked it before the exec). TIMEOUT:
 * seconds for the handshake. CERT, KEY: PEM files, loaded only here.
 * TCPREMOTEIP: the client's address, for the log. Its log lines say
 * "qtls-server:", as the session's wrapper did before the exec.
 * Exit: prog's status after a session; 111 on a failed handshake or a
 * fatal error; 100 on misuse (bad arguments: one line on fd 2).
 * Plain POSIX and OpenSSL only: never libowfat (see qtls.h).
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "qtls_ssl.h"

#define USAGE "qtls-server-tls implicit|starttls fd fd pid timeout certfile keyfile " \
              "(started by qtls-server only)"

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only. TLS 1.3 keeps the
 * library's default suites, which are all AEAD with ephemeral keys. */
#define CIPHERS_TLS12 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define NUMBER_MAX 9 /* digits of a descriptor or pid argument (below 10^9) */

static unsigned int timeout = QTLS_TIMEOUT;
static const char *client_ip = "unknown";

static void die_usage(void) __attribute__((noreturn));
static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

/* A decimal number from 1 to 999999999, without sign or leading zero;
 * -1 for anything else. */
static int scan_number(const char *s)
{
  int n = 0;
  size_t len = 0;

  if (s[0] < '1' || s[0] > '9') return -1;
  for (; s[len] != '\0'; len++) {
    if (s[len] < '0' || s[len] > '9' || len == NUMBER_MAX) return -1;
    n = n * 10 + (s[len] - '0');
  }
  return n;
}

/* A descriptor handed over by qtls-server: above 2, open, of the kind
 * expected (S_IFSOCK or S_IFIFO); made close-on-exec again. */
static int take_fd(const char *arg, mode_t kind)
{
  int fd = scan_number(arg);
  struct stat st;

  if (fd < 3) die_usage();
  if (fstat(fd, &st) == -1 || (st.st_mode & S_IFMT) != kind)
    qtls_die(100, "descriptor ", arg, " is not an open ", kind == S_IFSOCK ? "socket" : "pipe",
             ": started by qtls-server only");
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) qtls_die_sys(111, "unable to set close-on-exec");
  return fd;
}

/* The protocol program: it must be our child (forked before the exec);
 * WNOWAIT leaves it to be waited for at the end. */
static int take_child(const char *arg)
{
  int pid = scan_number(arg);
  siginfo_t info;

  if (pid < 1) die_usage();
  memset(&info, 0, sizeof info);
  if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1)
    qtls_die(100, "process ", arg, " is not a child: started by qtls-server only");
  return pid;
}

/* A readable error before OpenSSL's own: open(2) says why a file is not there. */
static int check_readable(const char *fn, char *err, size_t errsize)
{
  int fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd == -1) {
    qtls_cat(err, errsize, "unable to read ", fn, ": ", strerror(errno));
    return -1;
  }
  close(fd);
  return 0;
}

/* NULL and a reason in err if the certificate or the key is unusable. */
static SSL_CTX *server_ctx(const char *cert, const char *key, char *err, size_t errsize)
{
  SSL_CTX *ctx;
  char why[QTLS_TEXT_MAX];

  err[0] = '\0';
  if (check_readable(cert, err, errsize) == -1) return NULL;
  if (check_readable(key, err, errsize) == -1) return NULL;

  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to create TLS context: ", why);
    return NULL;
  }
  SSL_CTX_set_num_tickets(ctx, 0);
  if (qtls_ctx_setup(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE) == -1 ||
      SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to set TLS parameters: ", why);
    SSL_CTX_free(ctx);
    return NULL;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to load certificate ", cert, ": ", why);
    SSL_CTX_free(ctx);
    return NULL;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to load key ", key, ": ", why);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static SSL *new_ssl(SSL_CTX *ctx)
{
  SSL *ssl = SSL_new(ctx);
  char why[QTLS_TEXT_MAX];

  if (ssl == NULL || SSL_set_rfd(ssl, 0) != 1 || SSL_set_wfd(ssl, 1) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_die(111, "unable to start TLS: ", why);
  }
  return ssl;
}

/* proto and cipher of a finished handshake, cleaned into tokens */
static void session_names(SSL *ssl, char *proto, char *cipher)
{
  qtls_clean(proto, QTLS_TOKEN_MAX + 1, SSL_get_version(ssl), 1, 0);
  qtls_clean(cipher, QTLS_TOKEN_MAX + 1, SSL_get_cipher_name(ssl), 1, 0);
}

/* Relays until both sides close, then logs the session's one line. */
static void relay_and_log(SSL *ssl, int plain, const char *proto, const char *cipher)
{
  struct qtls_relay r;
  char in[QTLS_ULONG];
  char out[QTLS_ULONG];
  int rc;

  memset(&r, 0, sizeof r);
  r.ssl = ssl;
  r.net_rfd = 0;
  r.net_wfd = 1;
  r.plain_rfd = plain;
  r.plain_wfd = plain;
  r.linger = timeout;
  if (qtls_nonblock(plain, 1) == -1) qtls_die_sys(111, "unable to set up relay");
  rc = qtls_relay(&r);
  qtls_ulong(in, r.in);
  qtls_ulong(out, r.out);
  if (rc == 0)
    qtls_say(client_ip, " ", proto, " ", cipher, " in=", in, " out=", out);
  else
    qtls_say(client_ip, " ", proto, " ", cipher, " in=", in, " out=", out, " error: ", r.error);
}

/* A new SSL on the client's socket (fd 0 and 1, made non-blocking) and its
 * handshake: the SSL, or NULL (logged; why in err). */
static SSL *handshake(SSL_CTX *ctx, char *err, size_t errsize)
{
  SSL *ssl = new_ssl(ctx);

  if (qtls_nonblock(0, 1) == -1 || qtls_nonblock(1, 1) == -1)
    qtls_die_sys(111, "unable to set client socket non-blocking");
  if (qtls_handshake(ssl, 0, 1, 1, timeout, err, errsize) == -1) {
    qtls_say(client_ip, " handshake failed: ", err);
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

/* The end of a session: ssl freed (NULL: none), a and b closed (-1:
 * none), and the client's socket too when client is 1; then the program's
 * exit code. */
static int finish(SSL *ssl, int a, int b, int client, int pid)
{
  if (ssl != NULL) SSL_free(ssl);
  close(a);
  if (b != -1) close(b);
  if (client) {
    close(0);
    close(1);
  }
  return qtls_wait(pid);
}

/* -i: the child waits for "proto\0cipher\0" on names; closing names
 * without them keeps prog from running. */
static int implicit_tls(SSL_CTX **ctxp, int plain, int names_fd, int pid, const char *cert,
                        const char *key)
{
  SSL_CTX *ctx;
  SSL *ssl;
  char err[QTLS_LINE_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];
  char names[2 * QTLS_TOKEN_MAX + 2];
  size_t names_len;

  ctx = server_ctx(cert, key, err, sizeof err);
  if (ctx == NULL) {
    qtls_say(client_ip, " handshake failed: ", err);
    finish(NULL, names_fd, plain, 0, pid);
    return 111;
  }
  *ctxp = ctx;
  ssl = handshake(ctx, err, sizeof err);
  if (ssl == NULL) {
    finish(NULL, names_fd, plain, 0, pid);
    return 111;
  }

  session_names(ssl, proto, cipher);
  names[0] = '\0';
  qtls_cat(names, sizeof names, proto);
  names_len = strlen(names) + 1;
  memcpy(names + names_len, cipher, strlen(cipher) + 1);
  names_len += strlen(cipher) + 1;
  if (qtls_write_all(names_fd, names, names_len) == -1) {
    /* the child is gone: nothing to relay to */
    qtls_say(client_ip, " ", proto, " ", cipher, " error: program did not start");
    return finish(ssl, names_fd, plain, 0, pid);
  }
  close(names_fd);

  relay_and_log(ssl, plain, proto, cipher);
  return finish(ssl, plain, -1, 1, pid);
}

/* The program's next request byte on ctl, or -1 when it closed ctl or sent
 * nothing for timeout seconds. */
static int ctl_request(int ctl)
{
  struct pollfd p;
  unsigned char c;
  ssize_t n;

  p.fd = ctl;
  p.events = POLLIN;
  for (;;) {
    int r = poll(&p, 1, (int)timeout * 1000);

    if (r == -1 && errno == EINTR) continue;
    if (r != 1) return -1;
    n = read(ctl, &c, 1);
    if (n == -1 && errno == EINTR) continue;
    return n == 1 ? c : -1;
  }
}

/* STARTTLS: the program has asked ("S" read by qtls-server) and waits for
 * one line on ctl. A bad certificate does not stop plaintext service: the
 * answer is N. prepare ("P" read instead): the context is loaded first and
 * answered with "R" (or N), then the program says 220 and sends "S". */
static int starttls(SSL_CTX **ctxp, int ctl, int data, int pid, const char *cert,
                    const char *key, int prepare)
{
  SSL_CTX *ctx;
  SSL *ssl;
  char err[QTLS_LINE_MAX];
  char line[QTLS_STATUS_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];

  ctx = server_ctx(cert, key, err, sizeof err);
  *ctxp = ctx;
  if (ctx == NULL) {
    qtls_say(client_ip, " handshake failed: ", err);
    qtls_ctl_refuse(ctl, "", err);
    finish(NULL, ctl, data, 1, pid);
    return 111;
  }
  if (prepare) { /* "R": the program now says 220 to the client, then "S" */
    int r;

    qtls_ctl_answer(ctl, "R\n");
    r = ctl_request(ctl);
    if (r == -1) return finish(NULL, ctl, data, 1, pid); /* it gave up */
    if (r != 'S') {
      qtls_say("fatal: protocol error on control descriptor");
      finish(NULL, ctl, data, 1, pid);
      return 111;
    }
  }
  ssl = handshake(ctx, err, sizeof err);
  if (ssl == NULL) {
    qtls_nonblock(0, 0); /* the program still holds the socket */
    qtls_nonblock(1, 0);
    qtls_ctl_refuse(ctl, "handshake failed: ", err);
    finish(NULL, ctl, data, 1, pid);
    return 111;
  }

  session_names(ssl, proto, cipher);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "Y ", proto, " ", cipher, "\n");
  qtls_ctl_answer(ctl, line);
  close(ctl);
  relay_and_log(ssl, data, proto, cipher);
  return finish(ssl, data, -1, 1, pid);
}

int main(int argc, char **argv)
{
  int implicit;
  int prepare = 0;
  int fd1;
  int fd2;
  int pid;
  const char *cert;
  const char *key;
  SSL_CTX *ctx = NULL;
  int code;

  qtls_prog = "qtls-server-tls";
  if (argc != 8) die_usage();
  if (strcmp(argv[1], "implicit") == 0) implicit = 1;
  else if (strcmp(argv[1], "starttls") == 0) implicit = 0;
  else if (strcmp(argv[1], "prepare") == 0) implicit = 0, prepare = 1;
  else die_usage();
  if (qtls_scan_uint(argv[5], &timeout) == -1) die_usage();
  if (scan_number(argv[2]) == scan_number(argv[3])) die_usage();
  fd1 = take_fd(argv[2], S_IFSOCK);
  fd2 = take_fd(argv[3], implicit ? S_IFIFO : S_IFSOCK);
  pid = take_child(argv[4]);
  cert = argv[6];
  key = argv[7];

  qtls_prog = "qtls-server"; /* the session's log lines, as the wrapper's */
  if (getenv("TCPREMOTEIP") != NULL) client_ip = getenv("TCPREMOTEIP");
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) qtls_die_sys(111, "unable to ignore SIGPIPE");
  if (implicit) code = implicit_tls(&ctx, fd1, fd2, pid, cert, key);
  else code = starttls(&ctx, fd1, fd2, pid, cert, key, prepare);
  SSL_CTX_free(ctx);
  return code;
}
