/*
 * qtls_sslerr, qtls_liberr: a short reason for a failed OpenSSL call, for
 * the log and for the N status lines.
 */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>

#include "qtls_ssl.h"

/* The first error in the queue, as its reason text; "" if none. */
static void queue_reason(char *buf, size_t size)
{
  unsigned long code = ERR_peek_error();
  const char *reason;

  buf[0] = '\0';
  if (code == 0) return;
  reason = ERR_reason_error_string(code);
  if (reason != NULL) qtls_cat(buf, size, reason);
  else ERR_error_string_n(code, buf, size);
  ERR_clear_error();
}

void qtls_liberr(char *buf, size_t size)
{
  queue_reason(buf, size);
  if (buf[0] == '\0') qtls_cat(buf, size, "unknown TLS library error");
}

void qtls_sslerr(SSL *ssl, int ret, int err, char *buf, size_t size)
{
  int e = SSL_get_error(ssl, ret);

  buf[0] = '\0';
  switch (e) {
    case SSL_ERROR_ZERO_RETURN:
      qtls_cat(buf, size, "connection closed by peer");
      break;
    case SSL_ERROR_SYSCALL:
      queue_reason(buf, size);
      if (buf[0] != '\0') break;
      if (err != 0) qtls_cat(buf, size, strerror(err));
      else qtls_cat(buf, size, "connection closed by peer");
      break;
    default:
      queue_reason(buf, size);
      if (buf[0] == '\0') qtls_cat(buf, size, "TLS protocol error");
      break;
  }
  ERR_clear_error();
}
