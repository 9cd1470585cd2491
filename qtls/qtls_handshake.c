/*
 * qtls_handshake: the TLS handshake on non-blocking descriptors, bounded
 * by a deadline, waiting with poll(2) for whatever OpenSSL asks for.
 */
#include <errno.h>
#include <poll.h>

#include <openssl/err.h>

#include "qtls_ssl.h"

int qtls_handshake(SSL *ssl, int rfd, int wfd, int server, unsigned int timeout,
                   char *err, size_t errsize)
{
  long long deadline = qtls_now_ms() + (long long)timeout * 1000;

  for (;;) {
    struct pollfd pfd;
    long long left;
    int r;
    int e;

    ERR_clear_error();
    errno = 0;
    r = server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (r == 1) return 0;
    e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      pfd.fd = rfd;
      pfd.events = POLLIN;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      pfd.fd = wfd;
      pfd.events = POLLOUT;
    } else {
      qtls_sslerr(ssl, r, errno, err, errsize);
      return -1;
    }

    left = deadline - qtls_now_ms();
    if (left <= 0) {
      err[0] = '\0';
      qtls_cat(err, errsize, "timed out");
      return -1;
    }
    if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
      err[0] = '\0';
      qtls_cat(err, errsize, "poll failed");
      return -1;
    }
  }
}
