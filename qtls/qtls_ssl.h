#ifndef QTLS_SSL_H
#define QTLS_SSL_H
/*
 * qtls_ssl: the helpers that need OpenSSL, for qtlsd, qtls-client and qmtasts.
 */
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "qtls.h"

#define QTLS_RELAY_BUF 16384 /* bytes of each relay buffer, one per direction */

/* Why the last SSL call on ssl failed: ret is what it returned, err the
 * errno right after it. Writes a short reason into buf and empties the
 * OpenSSL error queue. */
void qtls_sslerr(SSL *ssl, int ret, int err, char *buf, size_t size);
/* Why the last library call failed (no SSL object). */
void qtls_liberr(char *buf, size_t size);

/* The options every context gets (qtls_ctx.c), plus opts: 0, or -1 when
 * the library refuses them (qtls_liberr says why). */
int qtls_ctx_setup(SSL_CTX *ctx, uint64_t opts);

/* The system's trusted certificates for a client context, read when a
 * chain needs them (qtls_ca.c): 0, or -1 (qtls_liberr says why). */
int qtls_ca_default(SSL_CTX *ctx);

/* Runs the handshake (server: 1 accept, 0 connect) on non-blocking
 * descriptors, for at most timeout seconds. 0 done, -1 failed (why in err). */
int qtls_handshake(SSL *ssl, int rfd, int wfd, int server, unsigned int timeout,
                   char *err, size_t errsize);

/* Relays between a TLS connection (net_rfd, net_wfd) and a plaintext
 * descriptor pair until both directions are closed; see qtls_relay.c. */
struct qtls_relay {
  SSL *ssl;
  int net_rfd;
  int net_wfd;
  int plain_rfd;
  int plain_wfd;
  unsigned int linger;       /* seconds to wait for the peer's close after ours */
  unsigned long long in;     /* plaintext bytes from the peer to plain_wfd */
  unsigned long long out;    /* plaintext bytes from plain_rfd to the peer */
  char error[QTLS_TEXT_MAX]; /* why qtls_relay returned -1 */
};
int qtls_relay(struct qtls_relay *r); /* 0 both sides closed, -1 error */

#endif
