/*
 * qtlsd: the TLS service of qsmtpd and qpop3d, long-lived, the only
 * process that holds the private key.
 *
 *   qtlsd [-d fd] [-u user] [-g group] [-c certfile] [-k keyfile]
 *         [-t timeout] [-n max] socket
 *
 * Started by its s6 run script as root: binds the Unix socket (mode 0660,
 * owned by -u and group -g, the session programs' account; 0600 without
 * -g), becomes -u, loads the certificate and the key, and waits. A session
 * program connects and hands over its client's socket (the protocol is in
 * lib/tlsd.h); qtlsd forks a child for that TLS session, which answers,
 * does the handshake and relays between the client's socket and the
 * session program's connection until both sides close, then logs one
 * line. A fork of this process, not a new program: the context is loaded
 * once, and no plaintext session ever pays for TLS.
 *
 * The certificate and the key are loaded again when either file changes
 * (contents, owner or mode; checked before each session) or on SIGHUP;
 * while they cannot be loaded, requests get "N reason" (STARTTLS is
 * refused with a temporary error, the session goes on in plaintext).
 * -t: seconds for a handshake and for the session program's requests
 * (default 60). -n: TLS sessions at once (default 1000); beyond it a
 * request gets "N busy".
 * SIGTERM: stop taking requests and exit; running sessions go on.
 * -d fd: "\n" to fd once the socket listens.
 * Exit: 0 after SIGTERM, 100 on misuse, 111 when it cannot start.
 * Plain POSIX and OpenSSL only: never libowfat (see qtls.h).
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
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fdpass.h"
#include "qtls_ssl.h"

#define USAGE "qtlsd [-d fd] [-u user] [-g group] [-c certfile] [-k keyfile] [-t timeout] " \
              "[-n max] socket"

/* TLS 1.2: ECDHE key exchange and AEAD ciphers only. TLS 1.3 keeps the
 * library's default suites, which are all AEAD with ephemeral keys. */
#define CIPHERS_TLS12 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
                      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
                      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define REQUEST_MAX 80     /* "P " + an address + "\n" */
#define SESSIONS_MAX 100000

static unsigned int timeout = QTLS_TIMEOUT;
static const char *cert_file = "tls/cert.pem";
static const char *key_file = "tls/key.pem";
static SSL_CTX *ctx;
static char ctx_error[QTLS_LINE_MAX]; /* why ctx is NULL */
static struct stat cert_st;
static struct stat key_st;
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void die_usage(void) __attribute__((noreturn));
static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

/* ---- the context ---- */

/* The change time too: a key that could not be read because of its owner
 * or mode is fixed with chown or chmod, which change nothing else. */
static int same_file(const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* NULL and a reason in err if the certificate or the key is unusable. */
static SSL_CTX *load_ctx(char *err, size_t errsize)
{
  SSL_CTX *c;
  char why[QTLS_TEXT_MAX];

  err[0] = '\0';
  c = SSL_CTX_new(TLS_server_method());
  if (c == NULL) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to create TLS context: ", why);
    return NULL;
  }
  SSL_CTX_set_num_tickets(c, 0);
  if (qtls_ctx_setup(c, SSL_OP_CIPHER_SERVER_PREFERENCE) == -1 ||
      SSL_CTX_set_cipher_list(c, CIPHERS_TLS12) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to set TLS parameters: ", why);
    SSL_CTX_free(c);
    return NULL;
  }
  if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to load certificate ", cert_file, ": ", why);
    SSL_CTX_free(c);
    return NULL;
  }
  if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    qtls_liberr(why, sizeof why);
    qtls_cat(err, errsize, "unable to load key ", key_file, ": ", why);
    SSL_CTX_free(c);
    return NULL;
  }
  return c;
}

/* Loads the files again if they changed since the last load (or force). */
static void refresh_ctx(int force)
{
  struct stat cs;
  struct stat ks;
  SSL_CTX *c;

  if (stat(cert_file, &cs) == -1) {
    ctx_error[0] = '\0';
    qtls_cat(ctx_error, sizeof ctx_error, "unable to read ", cert_file, ": ", strerror(errno));
    memset(&cert_st, 0, sizeof cert_st);
    if (ctx != NULL) SSL_CTX_free(ctx);
    ctx = NULL;
    return;
  }
  if (stat(key_file, &ks) == -1) {
    ctx_error[0] = '\0';
    qtls_cat(ctx_error, sizeof ctx_error, "unable to read ", key_file, ": ", strerror(errno));
    memset(&key_st, 0, sizeof key_st);
    if (ctx != NULL) SSL_CTX_free(ctx);
    ctx = NULL;
    return;
  }
  if (!force && same_file(&cs, &cert_st) && same_file(&ks, &key_st)) return;
  cert_st = cs;
  key_st = ks;
  c = load_ctx(ctx_error, sizeof ctx_error);
  if (ctx != NULL) SSL_CTX_free(ctx);
  ctx = c;
  if (c == NULL) qtls_say("warning: ", ctx_error);
  else qtls_say("loaded ", cert_file, " and ", key_file);
}

/* ---- one TLS session (a child) ---- */

/* The request on conn: its kind ('P' or 'I'), the client's socket in
 * *client and its address in ip; -1 if it is malformed or late. */
static int read_request(int conn, int *client, char *ip, size_t ipsize)
{
  char req[REQUEST_MAX];
  size_t got = 0;
  struct stat st;
  char *nl = NULL;

  *client = -1;
  while (nl == NULL && got < sizeof req) {
    struct pollfd p;
    ssize_t n;
    int fd;

    p.fd = conn;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, (int)timeout * 1000) != 1) return -1;
    n = fdpass_recvmsg(conn, req + got, sizeof req - got, &fd, 0);
    if (fd != -1) {
      if (*client == -1) *client = fd;
      else close(fd); /* one client a request */
    }
    if (n <= 0) return -1;
    got += (size_t)n;
    nl = memchr(req, '\n', got);
  }
  if (nl == NULL || *client == -1 || nl != req + got - 1 || got < 3 || req[1] != ' ' ||
      (req[0] != 'P' && req[0] != 'I'))
    return -1;
  if (fstat(*client, &st) == -1 || !S_ISSOCK(st.st_mode)) return -1;
  *nl = '\0';
  qtls_clean(ip, ipsize, req + 2, 0, 0); /* printable: an IPv6 address keeps its colons */
  return req[0];
}

/* The session program's next byte on conn, or -1 (closed, late). */
static int read_byte(int conn)
{
  struct pollfd p;
  unsigned char c;
  ssize_t n;

  p.fd = conn;
  p.events = POLLIN;
  for (;;) {
    int r = poll(&p, 1, (int)timeout * 1000);

    if (r == -1 && errno == EINTR) continue;
    if (r != 1) return -1;
    n = read(conn, &c, 1);
    if (n == -1 && errno == EINTR) continue;
    return n == 1 ? c : -1;
  }
}

static int session(int conn)
{
  char ip[QTLS_TOKEN_MAX + 1];
  char err[QTLS_LINE_MAX];
  char line[QTLS_STATUS_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];
  char in[QTLS_ULONG];
  char out[QTLS_ULONG];
  struct qtls_relay r;
  SSL *ssl;
  int client;
  int kind;

  kind = read_request(conn, &client, ip, sizeof ip);
  if (kind == -1) {
    qtls_say("warning: bad request from a session program");
    return 111;
  }
  if (ctx == NULL) {
    qtls_say(ip, " unable to start TLS: ", ctx_error);
    qtls_ctl_refuse(conn, "", ctx_error);
    return 111;
  }
  if (kind == 'P') { /* the session says 220 (or +OK) to the client, then "S" */
    int c;

    qtls_ctl_answer(conn, "R\n");
    c = read_byte(conn);
    if (c == -1) return 0; /* it gave up */
    if (c != 'S') {
      qtls_say("warning: protocol error from a session program");
      return 111;
    }
  }

  ssl = SSL_new(ctx);
  if (ssl == NULL || SSL_set_fd(ssl, client) != 1) {
    qtls_liberr(err, sizeof err);
    qtls_say(ip, " unable to start TLS: ", err);
    qtls_ctl_refuse(conn, "unable to start TLS: ", err);
    return 111;
  }
  if (qtls_nonblock(client, 1) == -1 || qtls_handshake(ssl, client, client, 1, timeout, err,
                                                       sizeof err) == -1) {
    qtls_say(ip, " handshake failed: ", err);
    qtls_ctl_refuse(conn, "handshake failed: ", err);
    SSL_free(ssl);
    return 111;
  }
  qtls_clean(proto, sizeof proto, SSL_get_version(ssl), 1, 0);
  qtls_clean(cipher, sizeof cipher, SSL_get_cipher_name(ssl), 1, 0);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "Y ", proto, " ", cipher, "\n");
  qtls_ctl_answer(conn, line);

  memset(&r, 0, sizeof r);
  r.ssl = ssl;
  r.net_rfd = client;
  r.net_wfd = client;
  r.plain_rfd = conn;
  r.plain_wfd = conn;
  r.linger = timeout;
  if (qtls_nonblock(conn, 1) == -1) qtls_die_sys(111, "unable to set up relay");
  kind = qtls_relay(&r);
  qtls_ulong(in, r.in);
  qtls_ulong(out, r.out);
  if (kind == 0) qtls_say(ip, " ", proto, " ", cipher, " in=", in, " out=", out);
  else qtls_say(ip, " ", proto, " ", cipher, " in=", in, " out=", out, " error: ", r.error);
  SSL_free(ssl);
  close(client);
  return 0;
}

/* ---- the service ---- */

static void on_signal(int sig)
{
  int e = errno;
  char c = (char)sig;

  if (sig == SIGTERM || sig == SIGINT) got_term = 1;
  if (sig == SIGHUP) got_hup = 1;
  if (write(sig_pipe[1], &c, 1) == -1) { /* full: a wake-up is pending anyway */ }
  errno = e;
}

static void catch(int sig)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, NULL) == -1) qtls_die_sys(111, "unable to catch signals");
}

static void lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
                       gid_t *sock_gid)
{
  struct passwd *pw;
  struct group *gr;

  if (user != NULL) {
    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL)
      qtls_die(111, "unable to find user ", user, errno != 0 ? ": " : ": no such user",
               errno != 0 ? strerror(errno) : "");
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
  }
  if (group != NULL) {
    errno = 0;
    gr = getgrnam(group);
    if (gr == NULL)
      qtls_die(111, "unable to find group ", group, errno != 0 ? ": " : ": no such group",
               errno != 0 ? strerror(errno) : "");
    *sock_gid = gr->gr_gid;
  }
}

static int bind_socket(const char *path, uid_t uid, gid_t sock_gid, int own, int group)
{
  struct sockaddr_un sun;
  size_t len = strlen(path);
  mode_t old;
  int fd;

  if (len >= sizeof sun.sun_path) qtls_die(100, "socket path too long: ", path);
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, len + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) qtls_die_sys(111, "unable to create socket");
  if (unlink(path) == -1 && errno != ENOENT) qtls_die_sys(111, "unable to remove ", path);
  old = umask(077);
  if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
    qtls_die_sys(111, "unable to bind ", path);
  umask(old);
  if (own && chown(path, uid, group ? sock_gid : (gid_t)-1) == -1)
    qtls_die_sys(111, "unable to set the owner of ", path);
  if (!own && group && chown(path, (uid_t)-1, sock_gid) == -1)
    qtls_die_sys(111, "unable to set the group of ", path);
  if (chmod(path, group ? 0660 : 0600) == -1) qtls_die_sys(111, "unable to set the mode of ", path);
  if (listen(fd, 256) == -1) qtls_die_sys(111, "unable to listen on ", path);
  return fd;
}

static void become(const char *user, uid_t uid, gid_t gid)
{
  if (initgroups(user, gid) == -1) qtls_die_sys(111, "unable to set groups of ", user);
  if (setgid(gid) == -1) qtls_die_sys(111, "unable to set group of ", user);
  if (setuid(uid) == -1) qtls_die_sys(111, "unable to become ", user);
  if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
    qtls_die(111, "unable to become ", user, ": ids did not change");
  if (uid != 0 && setuid(0) != -1) qtls_die(111, "unable to drop root for ", user);
}

static void reap(unsigned long *children)
{
  int status;

  while (waitpid(-1, &status, WNOHANG) > 0)
    if (*children > 0) (*children)--;
}

int main(int argc, char **argv)
{
  const char *user = NULL;
  const char *group = NULL;
  unsigned int max = 1000;
  int notify_fd = -1;
  unsigned long children = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t sock_gid = 0;
  int lfd;
  int opt;

  qtls_prog = "qtlsd";
  opterr = 0;
  while ((opt = getopt(argc, argv, "+d:u:g:c:k:t:n:")) != -1) {
    switch (opt) {
      case 'd': {
        unsigned int fd;
        if (qtls_scan_uint(optarg, &fd) == -1 || fd < 3) die_usage();
        notify_fd = (int)fd;
        break;
      }
      case 'u': user = optarg; break;
      case 'g': group = optarg; break;
      case 'c': cert_file = optarg; break;
      case 'k': key_file = optarg; break;
      case 't': if (qtls_scan_uint(optarg, &timeout) == -1) die_usage(); break;
      case 'n': if (qtls_scan_uint(optarg, &max) == -1 || max > SESSIONS_MAX) die_usage(); break;
      default: die_usage();
    }
  }
  argv += optind;
  if (argv[0] == NULL || argv[1] != NULL) die_usage();

  lookup_ids(user, group, &uid, &gid, &sock_gid);
  if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1) qtls_die_sys(111, "unable to create pipe");
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) qtls_die_sys(111, "unable to ignore SIGPIPE");
  catch(SIGTERM);
  catch(SIGINT);
  catch(SIGHUP);
  catch(SIGCHLD);
  lfd = bind_socket(argv[0], uid, sock_gid, user != NULL, group != NULL);
  if (user != NULL) become(user, uid, gid);
  refresh_ctx(1);
  if (notify_fd != -1) {
    if (write(notify_fd, "\n", 1) != 1) qtls_say("warning: unable to notify readiness");
    close(notify_fd);
  }

  while (!got_term) {
    struct pollfd p[2];
    char drain[64];
    int conn;
    pid_t pid;

    p[0].fd = lfd;
    p[0].events = POLLIN;
    p[0].revents = 0;
    p[1].fd = sig_pipe[0];
    p[1].events = POLLIN;
    p[1].revents = 0;
    if (poll(p, 2, -1) == -1 && errno != EINTR) qtls_die_sys(111, "unable to poll");
    while (read(sig_pipe[0], drain, sizeof drain) > 0) {}
    reap(&children);
    if (got_hup) {
      got_hup = 0;
      refresh_ctx(1);
    }
    if (got_term || (p[0].revents & POLLIN) == 0) continue;
    conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn == -1) continue;
    if (children >= max) {
      qtls_ctl_refuse(conn, "", "busy: too many TLS sessions");
      close(conn);
      continue;
    }
    refresh_ctx(0);
    pid = fork();
    if (pid == -1) {
      qtls_say("warning: unable to fork: ", strerror(errno));
      qtls_ctl_refuse(conn, "", "unable to fork");
      close(conn);
      continue;
    }
    if (pid == 0) {
      qtls_in_child = 1;
      close(lfd);
      close(sig_pipe[0]);
      close(sig_pipe[1]);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      signal(SIGCHLD, SIG_DFL);
      _exit(session(conn));
    }
    children++;
    close(conn);
  }
  return 0;
}
