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

/* Where a relay stands between passes. */
struct relay_state {
  size_t up_len;
  size_t up_off;
  size_t down_len;
  size_t down_off;
  int plain_eof;   /* end of file (or error) read from plain_rfd */
  int close_sent;  /* our close_notify is out (or can never be) */
  int net_eof;     /* the peer's close_notify or end of file */
  int plain_shut;  /* plain_wfd shut down for writing */
  int plain_gone;  /* plain_wfd refuses writes: drop what the peer sends */
  short want_write;
  short want_read;
  short want_close;
  long long linger_end;
};

static char up[QTLS_RELAY_BUF];   /* plain -> TLS */
static char down[QTLS_RELAY_BUF]; /* TLS -> plain */

/* Each step of a pass: 1 it made progress, 0 it could not, -1 an error
 * (r->error says which). */

static int plain_read(struct qtls_relay *r, struct relay_state *s)
{
  ssize_t got;

  if (s->plain_eof || s->up_len != 0) return 0;
  got = read(r->plain_rfd, up, sizeof up);
  if (got > 0) {
    s->up_len = (size_t)got;
    s->up_off = 0;
    return 1;
  }
  if (got == 0 || !is_again(errno)) {
    s->plain_eof = 1;
    return 1;
  }
  return 0;
}

static int tls_write(struct qtls_relay *r, struct relay_state *s)
{
  int n;

  if (s->up_off >= s->up_len) return 0;
  ERR_clear_error();
  errno = 0;
  n = SSL_write(r->ssl, up + s->up_off, (int)(s->up_len - s->up_off));
  s->want_write = 0;
  if (n > 0) {
    s->up_off += (size_t)n;
    r->out += (unsigned long long)n;
    if (s->up_off == s->up_len) s->up_off = s->up_len = 0;
    return 1;
  }
  if ((s->want_write = ssl_wants(r->ssl, n)) == 0) return fail(r, "write", n, errno);
  return 0;
}

static int tls_close(struct qtls_relay *r, struct relay_state *s)
{
  int n;

  if (!s->plain_eof || s->up_len != 0 || s->close_sent) return 0;
  ERR_clear_error();
  n = SSL_shutdown(r->ssl);
  s->want_close = 0;
  if (n >= 0 || (s->want_close = ssl_wants(r->ssl, n)) == 0) {
    /* sent; or the peer is gone and there is nobody to tell */
    ERR_clear_error();
    s->close_sent = 1;
    shutdown(r->net_wfd, SHUT_WR);
    s->linger_end = qtls_now_ms() + (long long)r->linger * 1000;
    return 1;
  }
  return 0;
}

static int tls_read(struct qtls_relay *r, struct relay_state *s)
{
  int n;
  int err;
  int e;

  if (s->net_eof || s->down_len != 0) return 0;
  ERR_clear_error();
  errno = 0;
  n = SSL_read(r->ssl, down, sizeof down);
  s->want_read = 0;
  if (n > 0) {
    s->down_len = (size_t)n;
    s->down_off = 0;
    r->in += (unsigned long long)n;
    if (s->close_sent) s->linger_end = qtls_now_ms() + (long long)r->linger * 1000;
    return 1;
  }
  err = errno;
  e = SSL_get_error(r->ssl, n);
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && err == 0)) {
    s->net_eof = 1; /* close_notify, or end of file without one */
    return 1;
  }
  if (s->close_sent && e == SSL_ERROR_SYSCALL && (err == ECONNRESET || err == EPIPE)) {
    /* Our side had ended, and the peer closed without reading our
     * close_notify (python's smtplib after 221, say): its kernel
     * answers with a reset. The end of a session, not an error. */
    ERR_clear_error();
    s->net_eof = 1;
    return 1;
  }
  if ((s->want_read = ssl_wants(r->ssl, n)) == 0) return fail(r, "read", n, err);
  return 0;
}

static int plain_write(struct qtls_relay *r, struct relay_state *s)
{
  ssize_t put;

  if (s->down_off >= s->down_len) return 0;
  if (s->plain_gone) {
    s->down_off = s->down_len = 0;
    return 1;
  }
  put = write(r->plain_wfd, down + s->down_off, s->down_len - s->down_off);
  if (put > 0) {
    s->down_off += (size_t)put;
    if (s->down_off == s->down_len) s->down_off = s->down_len = 0;
    return 1;
  }
  if (put == -1 && !is_again(errno)) {
    s->plain_gone = 1;
    return 1;
  }
  return 0;
}

static int plain_shutdown(struct qtls_relay *r, struct relay_state *s)
{
  if (!s->net_eof || s->down_len != 0 || s->plain_shut) return 0;
  if (!s->plain_gone) shutdown(r->plain_wfd, SHUT_WR);
  s->plain_shut = 1;
  return 1;
}

/* One pass: every step that can proceed, in order. 1 progress, 0 none, -1 error. */
static int pass(struct qtls_relay *r, struct relay_state *s)
{
  int progress = 0;
  int k;

  progress |= plain_read(r, s);
  if ((k = tls_write(r, s)) == -1) return -1;
  progress |= k;
  progress |= tls_close(r, s);
  if ((k = tls_read(r, s)) == -1) return -1;
  progress |= k;
  progress |= plain_write(r, s);
  progress |= plain_shutdown(r, s);
  return progress;
}

/* Nothing can proceed: polls for what the stalled steps wait on. 0 go on,
 * 1 the relay is over (the peer did not close in time after us), -1 error. */
static int wait_stalled(struct qtls_relay *r, const struct relay_state *s)
{
  struct pollset ps;
  int timeout = -1;

  ps.n = 0;
  if (!s->plain_eof && s->up_len == 0) pollset_add(&ps, r->plain_rfd, POLLIN);
  if (s->down_off < s->down_len) pollset_add(&ps, r->plain_wfd, POLLOUT);
  if (s->up_off < s->up_len && s->want_write != 0)
    pollset_add(&ps, s->want_write == POLLIN ? r->net_rfd : r->net_wfd, s->want_write);
  if (s->plain_eof && s->up_len == 0 && !s->close_sent && s->want_close != 0)
    pollset_add(&ps, s->want_close == POLLIN ? r->net_rfd : r->net_wfd, s->want_close);
  if (!s->net_eof && s->down_len == 0 && s->want_read != 0)
    pollset_add(&ps, s->want_read == POLLIN ? r->net_rfd : r->net_wfd, s->want_read);

  if (s->close_sent) {
    long long left = s->linger_end - qtls_now_ms();

    if (left <= 0) return 1; /* the peer did not close in time: done anyway */
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
  return 0;
}

int qtls_relay(struct qtls_relay *r)
{
  struct relay_state s = {0};

  r->error[0] = '\0';
  for (;;) {
    int k;

    do {
      k = pass(r, &s);
      if (k == -1) return -1;
    } while (k);

    /* our side is closed, and the peer's has ended or has nowhere to go */
    if (s.close_sent && ((s.net_eof && s.plain_shut) || s.plain_gone)) return 0;

    k = wait_stalled(r, &s);
    if (k != 0) return k == 1 ? 0 : -1;
  }
}
