/*
 * qtls_ctx_setup: what every TLS context of qtlsd and qtls-client has: no
 * compression, no renegotiation, no tickets, no session cache (each TLS
 * session runs in a process of its own, a child of qtlsd or a qtls-client,
 * whose cache no later session would see: nothing could ever be resumed),
 * a TCP close taken like close_notify, partial writes for the relay, TLS
 * 1.2 at least.
 */
#include "qtls_ssl.h"

int qtls_ctx_setup(SSL_CTX *ctx, uint64_t opts)
{
  opts |= SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  opts |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
  SSL_CTX_set_options(ctx, opts);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 ? 0 : -1;
}
