/*
 * qtls-server: the TLS side of a protocol server (qsmtpd, qpop3d).
 * Run by tcpserver as root (or as the instance user), with the client's
 * socket on fd 0 and fd 1; runs prog as a child.
 *   -i: handshake at once, then exec prog on a socket pair with
 *       QTLS_PROTO and QTLS_CIPHER, and relay.
 *   default: prog talks plaintext on the client socket and asks for TLS
 *       through QTLS_CTL (one byte "S"); answers "Y proto cipher\n" or
 *       "N reason\n"; then relays through QTLS_DATA. See qtls-server.8.
 * The wrapper becomes -u before it reads the key; prog runs as -U.
 * Exit: prog's status after a session; 111 on a failed handshake, a
 * protocol error or a fatal error; 100 on a usage error.
 * Plain POSIX and OpenSSL only: never libowfat (see qtls.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "qtls.h"

#define USAGE "qtls-server [-i] [-u user] [-U user] [-c certfile] [-k keyfile] " \
              "[-t timeout] prog [arg ...]"

/* where prog finds its ends of the control and data socket pairs (not 3:
 * qsmtpd and checkpassword programs use it) */
#define CTL_FD 6
#define DATA_FD 7
#define CTL_FD_TEXT "6"
#define DATA_FD_TEXT "7"

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only. TLS 1.3 keeps the
 * library's default suites, which are all AEAD with ephemeral keys. */
#define CIPHERS_TLS12 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

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
  uint64_t opts = SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                  SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET;

  err[0] = '\0';
  if (check_readable(cert, err, errsize) == -1) return NULL;
  if (check_readable(key, err, errsize) == -1) return NULL;

  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to create TLS context: ", why);
    return NULL;
  }
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  opts |= SSL_OP_IGNORE_UNEXPECTED_EOF; /* a TCP close ends the session like close_notify */
#endif
  SSL_CTX_set_options(ctx, opts);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  /* one process per connection: nothing could ever be resumed */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
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

/* -i: the child waits, as the -U user, for "proto\0cipher\0" on a pipe;
 * end of file there means the handshake failed and prog must not run. */
static int implicit_tls(SSL_CTX **ctxp, const char *cert, const char *key, char **argv)
{
  int plain[2];
  int env[2];
  int pid;
  SSL_CTX *ctx;
  SSL *ssl;
  char err[QTLS_LINE_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];
  char names[2 * QTLS_TOKEN_MAX + 2];
  size_t names_len;
  int code;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, plain) == -1)
    qtls_die_sys(111, "unable to create socket pair");
  if (pipe2(env, O_CLOEXEC) == -1) qtls_die_sys(111, "unable to create pipe");
  pid = fork();
  if (pid == -1) qtls_die_sys(111, "unable to fork");
  if (pid == 0) {
    size_t got = 0;

    qtls_in_child = 1;
    close(plain[0]);
    close(env[1]);
    account_become(&prog_acct);
    if (dup2(plain[1], 0) == -1 || dup2(plain[1], 1) == -1)
      qtls_die_sys(111, "unable to move descriptor");
    close(plain[1]);
    for (;;) {
      ssize_t n = read(env[0], names + got, sizeof names - got);

      if (n == -1 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
      if (got == sizeof names) break;
    }
    close(env[0]);
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
  close(env[0]);

  account_become(&wrapper_acct);
  ctx = server_ctx(cert, key, err, sizeof err);
  if (ctx == NULL) {
    qtls_say(client_ip, " handshake failed: ", err);
    close(env[1]);
    close(plain[0]);
    qtls_wait(pid);
    return 111;
  }
  *ctxp = ctx;
  ssl = new_ssl(ctx);
  if (qtls_nonblock(0, 1) == -1 || qtls_nonblock(1, 1) == -1)
    qtls_die_sys(111, "unable to set client socket non-blocking");
  if (qtls_handshake(ssl, 0, 1, 1, timeout, err, sizeof err) == -1) {
    qtls_say(client_ip, " handshake failed: ", err);
    SSL_free(ssl);
    close(env[1]);
    close(plain[0]);
    qtls_wait(pid);
    return 111;
  }

  session_names(ssl, proto, cipher);
  names[0] = '\0';
  qtls_cat(names, sizeof names, proto);
  names_len = strlen(names) + 1;
  memcpy(names + names_len, cipher, strlen(cipher) + 1);
  names_len += strlen(cipher) + 1;
  if (qtls_write_all(env[1], names, names_len) == -1) {
    /* the child is gone: nothing to relay to */
    qtls_say(client_ip, " ", proto, " ", cipher, " error: program did not start");
    SSL_free(ssl);
    close(env[1]);
    close(plain[0]);
    return qtls_wait(pid);
  }
  close(env[1]);

  relay_and_log(ssl, plain[0], proto, cipher);
  SSL_free(ssl);
  close(plain[0]);
  close(0);
  close(1);
  code = qtls_wait(pid);
  return code;
}

/* A line on ctl; the program may be gone already, which changes nothing. */
static void ctl_answer(int ctl, const char *line)
{
  qtls_write_all(ctl, line, strlen(line));
}

/* "N reason\n", with the reason cut to QTLS_TEXT_MAX printable bytes */
static void ctl_refuse(int ctl, const char *what, const char *why)
{
  char text[QTLS_LINE_MAX];
  char reason[QTLS_TEXT_MAX + 1];
  char line[QTLS_STATUS_MAX];

  text[0] = '\0';
  qtls_cat(text, sizeof text, what, why);
  qtls_clean(reason, sizeof reason, text, 0, 1);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "N ", reason, "\n");
  ctl_answer(ctl, line);
}

/* default mode: prog runs at once on the client's socket and may ask for
 * TLS on ctl. */
static int starttls(SSL_CTX **ctxp, const char *cert, const char *key, char **argv)
{
  int ctl[2];
  int data[2];
  int pid;
  SSL_CTX *ctx;
  SSL *ssl;
  char err[QTLS_LINE_MAX];
  char line[QTLS_STATUS_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];
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
  if (request != 'S') {
    qtls_say("fatal: protocol error on control descriptor");
    close(ctl[0]);
    close(data[0]);
    close(0);
    close(1);
    qtls_wait(pid);
    return 111;
  }

  /* the certificate is loaded only now: most plaintext sessions never ask,
   * and a TLS context is most of what this process would hold in memory.
   * A bad certificate does not stop plaintext service: the answer is N. */
  ctx = server_ctx(cert, key, err, sizeof err);
  *ctxp = ctx;
  if (ctx == NULL) {
    qtls_say(client_ip, " handshake failed: ", err);
    ctl_refuse(ctl[0], "", err);
    close(ctl[0]);
    close(data[0]);
    close(0);
    close(1);
    qtls_wait(pid);
    return 111;
  }
  ssl = new_ssl(ctx);
  if (qtls_nonblock(0, 1) == -1 || qtls_nonblock(1, 1) == -1)
    qtls_die_sys(111, "unable to set client socket non-blocking");
  if (qtls_handshake(ssl, 0, 1, 1, timeout, err, sizeof err) == -1) {
    qtls_say(client_ip, " handshake failed: ", err);
    SSL_free(ssl);
    qtls_nonblock(0, 0); /* the program still holds the socket */
    qtls_nonblock(1, 0);
    ctl_refuse(ctl[0], "handshake failed: ", err);
    close(ctl[0]);
    close(data[0]);
    close(0);
    close(1);
    qtls_wait(pid);
    return 111;
  }

  session_names(ssl, proto, cipher);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "Y ", proto, " ", cipher, "\n");
  ctl_answer(ctl[0], line);
  close(ctl[0]);
  relay_and_log(ssl, data[0], proto, cipher);
  SSL_free(ssl);
  close(data[0]);
  close(0);
  close(1);
  return qtls_wait(pid);
}

int main(int argc, char **argv)
{
  int implicit = 0;
  const char *cert = NULL;
  const char *key = NULL;
  const char *qhome;
  char certbuf[4096];
  char keybuf[4096];
  SSL_CTX *ctx = NULL;
  int opt;
  int code;

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
  code = implicit ? implicit_tls(&ctx, cert, key, argv) : starttls(&ctx, cert, key, argv);
  SSL_CTX_free(ctx);
  return code;
}
