/*
 * qtls_relay: moves bytes between a TLS connection and a plaintext
 * descriptor (in qtlsd the session program's connection to it, in
 * qtls-client the socket pair with qremote) until both directions are
 * closed.
 *
 *   plain_rfd --read--> up[16 KiB]   --SSL_write--> net_wfd
 *   plain_wfd <-write-- down[16 KiB] <--SSL_read--- net_rfd
 *
 * All four descriptors are non-blocking. Each pass does every step that
 * can proceed, and only when none can does it poll, for exactly what the
 * stalled steps wait on: OpenSSL may want to read in order to write (and
 * the reverse), so each SSL call remembers what it asked for. SSL_read is
 * tried whenever down[] is empty, so plaintext that OpenSSL already holds
 * is never left waiting for the socket.
 *
 * Half-close, both ways: end of file from plain_rfd becomes a close_notify
 * and shutdown(net_wfd, SHUT_WR); a close_notify (or plain end of file)
 * from the peer becomes shutdown(plain_wfd, SHUT_WR). Once our side is
 * closed, the peer may go on sending, but it ends the session if it stays
 * silent for r->linger seconds without closing its own side; a reset from
 * the peer then ends it too, as its close.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "qtls_ssl.h"

struct pollset {
  struct pollfd fds[4];
  nfds_t n;
};

static void pollset_add(struct pollset *ps, int fd, short events)
{
  nfds_t i;

  for (i = 0; i < ps->n; i++)
    if (ps->fds[i].fd == fd) {
      ps->fds[i].events |= events;
      return;
    }
  ps->fds[ps->n].fd = fd;
  ps->fds[ps->n].events = events;
  ps->fds[ps->n].revents = 0;
  ps->n++;
}

static int is_again(int e)
{
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* What a stalled SSL call waits for: POLLIN on the read side, POLLOUT on
 * the write side, or 0 if it failed for good. */
static short ssl_wants(SSL *ssl, int ret)
{
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ: return POLLIN;
    case SSL_ERROR_WANT_WRITE: return POLLOUT;
    default: return 0;
  }
}

static int fail(struct qtls_relay *r, const char *what, int ret, int err)
{
  char why[QTLS_TEXT_MAX];

  qtls_sslerr(r->ssl, ret, err, why, sizeof why);
  r->error[0] = '\0';
  qtls_cat(r->error, sizeof r->error, what, ": ", why);
  return -1;
}

int qtls_relay(struct qtls_relay *r)
{
  static char up[QTLS_RELAY_BUF];   /* plain -> TLS */
  static char down[QTLS_RELAY_BUF]; /* TLS -> plain */
  size_t up_len = 0;
  size_t up_off = 0;
  size_t down_len = 0;
  size_t down_off = 0;
  int plain_eof = 0;   /* end of file (or error) read from plain_rfd */
  int close_sent = 0;  /* our close_notify is out (or can never be) */
  int net_eof = 0;     /* the peer's close_notify or end of file */
  int plain_shut = 0;  /* plain_wfd shut down for writing */
  int plain_gone = 0;  /* plain_wfd refuses writes: drop what the peer sends */
  short want_write = 0;
  short want_read = 0;
  short want_close = 0;
  long long linger_end = 0;

  r->error[0] = '\0';
  for (;;) {
    struct pollset ps;
    int progress;
    int timeout = -1;
    int n;

    do {
      progress = 0;

      if (!plain_eof && up_len == 0) {
        ssize_t got = read(r->plain_rfd, up, sizeof up);

        if (got > 0) {
          up_len = (size_t)got;
          up_off = 0;
          progress = 1;
        } else if (got == 0 || !is_again(errno)) {
          plain_eof = 1;
          progress = 1;
        }
      }

      if (up_off < up_len) {
        ERR_clear_error();
        errno = 0;
        n = SSL_write(r->ssl, up + up_off, (int)(up_len - up_off));
        want_write = 0;
        if (n > 0) {
          up_off += (size_t)n;
          r->out += (unsigned long long)n;
          if (up_off == up_len) up_off = up_len = 0;
          progress = 1;
        } else if ((want_write = ssl_wants(r->ssl, n)) == 0) {
          return fail(r, "write", n, errno);
        }
      }

      if (plain_eof && up_len == 0 && !close_sent) {
        ERR_clear_error();
        n = SSL_shutdown(r->ssl);
        want_close = 0;
        if (n >= 0 || (want_close = ssl_wants(r->ssl, n)) == 0) {
          /* sent; or the peer is gone and there is nobody to tell */
          ERR_clear_error();
          close_sent = 1;
          shutdown(r->net_wfd, SHUT_WR);
          linger_end = qtls_now_ms() + (long long)r->linger * 1000;
          progress = 1;
        }
      }

      if (!net_eof && down_len == 0) {
        ERR_clear_error();
        errno = 0;
        n = SSL_read(r->ssl, down, sizeof down);
        want_read = 0;
        if (n > 0) {
          down_len = (size_t)n;
          down_off = 0;
          r->in += (unsigned long long)n;
          if (close_sent) linger_end = qtls_now_ms() + (long long)r->linger * 1000;
          progress = 1;
        } else {
          int err = errno;
          int e = SSL_get_error(r->ssl, n);

          if (e == SSL_ERROR_ZERO_RETURN ||
              (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && err == 0)) {
            net_eof = 1; /* close_notify, or end of file without one */
            progress = 1;
          } else if (close_sent && e == SSL_ERROR_SYSCALL &&
                     (err == ECONNRESET || err == EPIPE)) {
            /* Our side had ended, and the peer closed without reading our
             * close_notify (python's smtplib after 221, say): its kernel
             * answers with a reset. The end of a session, not an error. */
            ERR_clear_error();
            net_eof = 1;
            progress = 1;
          } else if ((want_read = ssl_wants(r->ssl, n)) == 0) {
            return fail(r, "read", n, err);
          }
        }
      }

      if (down_off < down_len) {
        if (plain_gone) {
          down_off = down_len = 0;
          progress = 1;
        } else {
          ssize_t put = write(r->plain_wfd, down + down_off, down_len - down_off);

          if (put > 0) {
            down_off += (size_t)put;
            if (down_off == down_len) down_off = down_len = 0;
            progress = 1;
          } else if (put == -1 && !is_again(errno)) {
            plain_gone = 1;
            progress = 1;
          }
        }
      }

      if (net_eof && down_len == 0 && !plain_shut) {
        if (!plain_gone) shutdown(r->plain_wfd, SHUT_WR);
        plain_shut = 1;
        progress = 1;
      }
    } while (progress);

    /* our side is closed, and the peer's has ended or has nowhere to go */
    if (close_sent && ((net_eof && plain_shut) || plain_gone)) return 0;

    ps.n = 0;
    if (!plain_eof && up_len == 0) pollset_add(&ps, r->plain_rfd, POLLIN);
    if (down_off < down_len) pollset_add(&ps, r->plain_wfd, POLLOUT);
    if (up_off < up_len && want_write != 0)
      pollset_add(&ps, want_write == POLLIN ? r->net_rfd : r->net_wfd, want_write);
    if (plain_eof && up_len == 0 && !close_sent && want_close != 0)
      pollset_add(&ps, want_close == POLLIN ? r->net_rfd : r->net_wfd, want_close);
    if (!net_eof && down_len == 0 && want_read != 0)
      pollset_add(&ps, want_read == POLLIN ? r->net_rfd : r->net_wfd, want_read);

    if (close_sent) {
      long long left = linger_end - qtls_now_ms();

      if (left <= 0) return 0; /* the peer did not close in time: done anyway */
      timeout = (int)left;
    }
    if (ps.n == 0 && timeout == -1) {
      qtls_cat(r->error, sizeof r->error, "relay stalled");
      return -1;
    }

    if (poll(ps.fds, ps.n, timeout) == -1 && errno != EINTR) {
      qtls_cat(r->error, sizeof r->error, "poll failed");
      return -1;
    }
  }
}
