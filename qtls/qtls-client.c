/*
 * qtls-client: the client side of STARTTLS for qremote.
 * Run by qremote, as qremote's user, after the server's 220 to STARTTLS.
 * fd 3: the connected network socket. fd 0 (read and write): qremote's
 * socket pair, the plaintext side. Writes one status line on fd 0,
 * "Y proto cipher verified|unverified cn\n" or "N reason\n", and after Y
 * relays until both directions are closed. See qtls-client.8.
 * -T: DANE, the TLSA records of the server (RFC 7672; see dane_setup).
 * Exit: 0 after a session; 100 when -v or DANE verification failed (or usage);
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

#define USAGE "qtls-client [-h hostname] [-v] [-C cafile] [-t timeout] [-T tlsa]..."

#define NET_FD 3   /* the network socket, from qremote */
#define PLAIN_FD 0 /* qremote's socket pair */
#define HOST_MAX 255 /* RFC 1035 2.3.4: a domain name's length */
#define TLSA_MAX 32  /* -T records */
#define TLSA_DATA_MAX 8192 /* bytes of one record's data (a whole certificate) */

static const char *host = NULL;
static int verify = 0;
static const char *cafile = NULL;
static unsigned int timeout = QTLS_TIMEOUT;
static const char *tlsa[TLSA_MAX]; /* -T "usage selector mtype hex" */
static int tlsa_count = 0;
static int dane = 0;               /* a usable TLSA record was given: DANE decides */

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
  } else if (qtls_ca_default(ctx) == -1) {
    refuse_lib("unable to load CA store: ");
  }
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  if (tlsa_count > 0 && SSL_CTX_dane_enable(ctx) <= 0) refuse_lib("unable to enable DANE: ");
  return ctx;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One -T record, "usage selector mtype hex", into its fields. 0, -1 malformed. */
static int tlsa_parse(const char *s, unsigned int f[3], unsigned char *data, size_t *len)
{
  size_t n = 0;

  for (int k = 0; k < 3; k++) {
    unsigned int v = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9' && digits < 4) v = v * 10 + (unsigned int)(*s++ - '0'), digits++;
    if (digits == 0 || v > 255 || *s++ != ' ') return -1;
    f[k] = v;
  }
  while (s[0] != '\0') {
    int hi = hexval(s[0]);
    int lo = hi < 0 ? -1 : hexval(s[1]);

    if (lo < 0 || n == TLSA_DATA_MAX) return -1;
    data[n++] = (unsigned char)(hi << 4 | lo);
    s += 2;
  }
  *len = n;
  return n > 0 ? 0 : -1;
}

/* RFC 7672: DANE for SMTP. The TLSA records of the MX host, DNSSEC-valid
 * (qremote's business), are the only trust anchors: DANE-EE(3) matches the
 * server's own certificate or key, with no name check (3.1.1); DANE-TA(2)
 * a trust anchor in the chain, with the names checked against host (3.2).
 * PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (3.1.3). With no usable
 * record, TLS is still required but not authenticated (2.2). */
static void dane_setup(SSL *ssl)
{
  static unsigned char data[TLSA_DATA_MAX];
  int usable = 0;

  if (SSL_dane_enable(ssl, host) <= 0) refuse_lib("unable to enable DANE: ");
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  for (int i = 0; i < tlsa_count; i++) {
    unsigned int f[3];
    size_t len;
    int r;

    if (tlsa_parse(tlsa[i], f, data, &len) == -1) refuse(111, "malformed TLSA record: ", tlsa[i]);
    if (f[0] != 2 && f[0] != 3) continue;
    r = SSL_dane_tlsa_add(ssl, (uint8_t)f[0], (uint8_t)f[1], (uint8_t)f[2], data, len);
    if (r < 0) refuse_lib("unable to use a TLSA record: ");
    if (r > 0) usable++;
  }
  ERR_clear_error();
  if (usable == 0) return;
  dane = 1;
  SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
}

static SSL *client_ssl(SSL_CTX *ctx)
{
  SSL *ssl = SSL_new(ctx);

  if (ssl == NULL || SSL_set_fd(ssl, NET_FD) != 1) refuse_lib("unable to start TLS: ");
  if (host == NULL) return ssl;
  if (tlsa_count > 0) {
    dane_setup(ssl);
    return ssl;
  }
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
  while ((opt = getopt(argc, argv, "h:vC:t:T:")) != -1) {
    switch (opt) {
      case 'h': host = optarg; break;
      case 'v': verify = 1; break;
      case 'C': cafile = optarg; break;
      case 't': if (qtls_scan_uint(optarg, &timeout) == -1) die_usage(); break;
      case 'T':
        if (tlsa_count == TLSA_MAX) die_usage();
        tlsa[tlsa_count++] = optarg;
        break;
      default: die_usage();
    }
  }
  if (argv[optind] != NULL) die_usage();
  if ((verify || tlsa_count > 0) && host == NULL) die_usage();
  if (tlsa_count > 0 && is_ip(host)) die_usage();
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

    if (dane && result != X509_V_OK)
      refuse(100, "DANE verification failed: ", X509_verify_cert_error_string(result));
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
  {
    uint8_t usage = 0;
    const char *how = verified ? " verified " : " unverified ";

    if (dane && SSL_get0_dane_tlsa(ssl, &usage, NULL, NULL, NULL, NULL) >= 0)
      how = usage == 3 ? " dane-ee " : " dane-ta ";
    else if (dane)
      refuse(100, "DANE verification failed: ", "no TLSA record matched");
    qtls_cat(line, sizeof line, "Y ", proto, " ", cipher, how, cn, "\n");
  }
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
