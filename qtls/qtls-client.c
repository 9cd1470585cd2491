/*
 * qtls-client: the client side of STARTTLS for qremote.
 * Run by qremote, as qremote's user, after the server's 220 to STARTTLS.
 * fd 3: the connected network socket. fd 0 (read and write): qremote's
 * socket pair, the plaintext side. Writes one status line on fd 0,
 * "Y proto cipher verified|unverified cn\n" or "N reason\n", and after Y
 * relays until both directions are closed. See qtls-client.8.
 * Exit: 0 after a session; 100 when -v verification failed (or usage);
 * 111 when the handshake failed or the session ended with an error.
 * Plain POSIX and OpenSSL only: never libowfat (see qtls.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "qtls_ssl.h"

#define USAGE "qtls-client [-h hostname] [-v] [-C cafile] [-t timeout]"

#define NET_FD 3   /* the network socket, from qremote */
#define PLAIN_FD 0 /* qremote's socket pair */
#define HOST_MAX 255 /* RFC 1035 2.3.4: a domain name's length */

static const char *host = NULL;
static int verify = 0;
static const char *cafile = NULL;
static unsigned int timeout = QTLS_TIMEOUT;

static void die_usage(void) { qtls_die(100, "usage: " USAGE); }

/* The status line; if qremote cannot even hear that, say it on fd 2. */
static void status(const char *line)
{
  if (qtls_write_all(PLAIN_FD, line, strlen(line)) == -1)
    qtls_die_sys(111, "unable to write status line");
}

static void refuse(int code, const char *what, const char *why)
{
  char line[QTLS_STATUS_MAX];

  status(qtls_nline(line, what, why));
  _exit(code);
}

static void refuse_lib(const char *what)
{
  char why[QTLS_TEXT_MAX];

  qtls_liberr(why, sizeof why);
  refuse(111, what, why);
}

static int is_ip(const char *s)
{
  unsigned char addr[16];

  return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

static SSL_CTX *client_ctx(void)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

  if (ctx == NULL) refuse_lib("unable to create TLS context: ");
  if (qtls_ctx_setup(ctx, 0) == -1) refuse_lib("unable to set TLS parameters: ");

  /* the chain is always checked, so that the status line can say so;
   * only -v makes a failed check fatal */
  if (cafile != NULL) {
    int fd = open(cafile, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd == -1) refuse(111, "unable to read CA file: ", strerror(errno));
    close(fd);
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
      refuse_lib("unable to load CA file: ");
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    refuse_lib("unable to load CA store: ");
  }
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  return ctx;
}

static SSL *client_ssl(SSL_CTX *ctx)
{
  SSL *ssl = SSL_new(ctx);

  if (ssl == NULL || SSL_set_fd(ssl, NET_FD) != 1) refuse_lib("unable to start TLS: ");
  if (host == NULL) return ssl;
  if (is_ip(host)) {
    /* RFC 6066 3: no IP address in SNI */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
      refuse_lib("unable to set address to check: ");
    return ssl;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
    refuse_lib("unable to set host name: ");
  return ssl;
}

/* The subject's common name, cleaned into one token; "-" if none. */
static void peer_cn(X509 *cert, char *buf, size_t size)
{
  X509_NAME *subject;
  int idx;
  unsigned char *utf8 = NULL;
  int len;

  buf[0] = '\0';
  qtls_cat(buf, size, "-");
  if (cert == NULL) return;
  subject = X509_get_subject_name(cert);
  if (subject == NULL) return;
  idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0) return;
  len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
  if (len > 0 && memchr(utf8, '\0', (size_t)len) == NULL)
    qtls_clean(buf, size, (const char *)utf8, 0, 0);
  else if (len >= 0)
    qtls_cat(buf, size, "?");
  OPENSSL_free(utf8);
  ERR_clear_error();
}

int main(int argc, char **argv)
{
  SSL_CTX *ctx;
  SSL *ssl;
  X509 *cert;
  struct qtls_relay r;
  char err[QTLS_LINE_MAX];
  char proto[QTLS_TOKEN_MAX + 1];
  char cipher[QTLS_TOKEN_MAX + 1];
  char cn[QTLS_TEXT_MAX + 1];
  char line[QTLS_STATUS_MAX + QTLS_TEXT_MAX];
  char hostbuf[HOST_MAX + 1];
  int verified;
  int opt;
  int rc;

  qtls_prog = "qtls-client";
  opterr = 0; /* our own one-line usage message, not getopt's */
  while ((opt = getopt(argc, argv, "h:vC:t:")) != -1) {
    switch (opt) {
      case 'h': host = optarg; break;
      case 'v': verify = 1; break;
      case 'C': cafile = optarg; break;
      case 't': if (qtls_scan_uint(optarg, &timeout) == -1) die_usage(); break;
      default: die_usage();
    }
  }
  if (argv[optind] != NULL) die_usage();
  if (verify && host == NULL) die_usage();
  if (host != NULL) {
    size_t len = strlen(host);

    if (len == 0 || len > HOST_MAX) die_usage();
    memcpy(hostbuf, host, len + 1);
    if (len > 1 && hostbuf[len - 1] == '.') hostbuf[len - 1] = '\0'; /* no root dot in SNI */
    host = hostbuf;
  }
  if (fcntl(PLAIN_FD, F_GETFD) == -1) qtls_die_sys(111, "unable to use descriptor 0");
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) refuse(111, "unable to ignore SIGPIPE", "");
  if (fcntl(NET_FD, F_GETFD) == -1) refuse(111, "no network socket on descriptor 3", "");

  ctx = client_ctx();
  ssl = client_ssl(ctx);
  if (qtls_nonblock(NET_FD, 1) == -1) refuse(111, "unable to use descriptor 3: ", strerror(errno));
  if (qtls_handshake(ssl, NET_FD, NET_FD, 0, timeout, err, sizeof err) == -1) {
    long result = SSL_get_verify_result(ssl);

    if (verify && result != X509_V_OK)
      refuse(100, "certificate verification failed: ", X509_verify_cert_error_string(result));
    refuse(111, "handshake failed: ", err);
  }
  cert = SSL_get0_peer_certificate(ssl);
  verified = cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
  if (verify && !verified) refuse(100, "certificate verification failed: ", "no certificate");

  qtls_clean(proto, sizeof proto, SSL_get_version(ssl), 1, 0);
  qtls_clean(cipher, sizeof cipher, SSL_get_cipher_name(ssl), 1, 0);
  peer_cn(cert, cn, sizeof cn);
  line[0] = '\0';
  qtls_cat(line, sizeof line, "Y ", proto, " ", cipher, verified ? " verified " : " unverified ",
           cn, "\n");
  status(line);

  memset(&r, 0, sizeof r);
  r.ssl = ssl;
  r.net_rfd = NET_FD;
  r.net_wfd = NET_FD;
  r.plain_rfd = PLAIN_FD;
  r.plain_wfd = PLAIN_FD;
  r.linger = timeout;
  if (qtls_nonblock(PLAIN_FD, 1) == -1) qtls_die_sys(111, "unable to use descriptor 0");
  rc = qtls_relay(&r);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return rc == 0 ? 0 : 111;
}
