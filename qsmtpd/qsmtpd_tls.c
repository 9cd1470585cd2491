/*
 * qsmtpd_tls: STARTTLS (RFC 3207) through the TLS wrapper qtls-server.
 * qsmtpd never links a TLS library. The wrapper passes two descriptors:
 *   QTLS_CTL=fd   a control socket: we write "P" (prepare) and the wrapper
 *                 answers "R\n" when it can start TLS, or "N <reason>\n"
 *                 (a bad certificate): then the client gets 454 and the
 *                 session goes on in plaintext (RFC 3207 4). After "R" we
 *                 say 220 and write "S" (start the handshake); the wrapper
 *                 answers "Y <proto> <cipher>\n" when the handshake is
 *                 done or "N <reason>\n" when it failed (then we leave
 *                 quietly: the client is gone or speaks no TLS).
 *   QTLS_DATA=fd  the plaintext side of the TLS connection, which becomes
 *                 our fd 0 and fd 1 after "Y".
 * CVE-2011-0411: whatever the client sent before the handshake is thrown
 * away (our input buffer here; the socket's bytes in the wrapper).
 * RFC 3207 4.2: after the handshake EHLO, the transaction and AUTH are
 * forgotten.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "qlog.h"
#include "qsmtpd.h"

#define CTL_LINE_MAX 256

/* Reads the wrapper's one-line answer. Returns its length, -1 on error. */
static ssize_t ctl_getline(int fd, char *line, size_t size)
{
  size_t n = 0;

  while (n < size - 1) {
    struct pollfd p;
    ssize_t r;
    int pr;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    pr = poll(&p, 1, (int)(timeout_sec > 2000000 ? 2000000000 : timeout_sec * 1000));
    if (pr == -1 && errno == EINTR) continue;
    if (pr <= 0) return -1;
    r = read(fd, line + n, 1);
    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  return (ssize_t)n;
}

/* One request byte to the wrapper: 0, or -1 (logged). */
static int ctl_put(int fd, const char *req)
{
  while (write(fd, req, 1) != 1) {
    if (errno != EINTR) {
      qwarn_sys("unable to write to the TLS control socket");
      return -1;
    }
  }
  return 0;
}

/* Copies the next blank-separated word of s into dst (cleaned, cut). */
static const char *word(const char *s, char *dst, size_t max)
{
  size_t n = 0;

  while (*s == ' ') s++;
  while (*s != '\0' && *s != ' ') {
    unsigned char c = (unsigned char)*s++;
    if (n + 1 < max) dst[n++] = (c < 0x21 || c > 0x7e || c == '(' || c == ')') ? '?' : (char)c;
  }
  dst[n] = '\0';
  return s;
}

void smtp_starttls(const char *arg, size_t len)
{
  char line[CTL_LINE_MAX];
  const char *p;
  ssize_t n;

  (void)arg;
  if (len > 0) {
    reply("501 5.5.4 syntax: STARTTLS\r\n");
    return;
  }
  if (sess.tls) {
    reply("503 5.5.1 TLS already active\r\n");
    return;
  }
  if (sess.tls_ctl == -1) {
    reply("502 5.5.1 STARTTLS not available\r\n");
    return;
  }
  if (tx_active()) {
    reply("503 5.5.1 STARTTLS not allowed during a mail transaction\r\n");
    return;
  }
  if (ctl_put(sess.tls_ctl, "P") == -1) session_exit("tls failed");
  n = ctl_getline(sess.tls_ctl, line, sizeof line);
  if (n < 1 || line[0] != 'R') { /* TLS cannot start: say so, stay in plaintext */
    if (n >= 1) qlog("starttls ip=", sess.ip, " result=unavailable reason=", line);
    else qlog("starttls ip=", sess.ip, " result=unavailable");
    close(sess.tls_ctl);
    close(sess.tls_data);
    sess.tls_ctl = -1;
    sess.tls_data = -1;
    reply("454 4.7.0 TLS not available due to temporary reason\r\n");
    return;
  }
  reply("220 2.0.0 ready to start TLS\r\n");
  out_flush();
  io_reset(); /* CVE-2011-0411: pipelined plaintext is dropped */

  if (ctl_put(sess.tls_ctl, "S") == -1) session_exit("tls failed");
  n = ctl_getline(sess.tls_ctl, line, sizeof line);
  if (n < 1 || line[0] != 'Y') {
    if (n >= 1) qlog("starttls ip=", sess.ip, " result=failed reason=", line);
    else qlog("starttls ip=", sess.ip, " result=failed");
    session_exit("tls failed");
  }
  p = word(line + 1, sess.tls_proto, sizeof sess.tls_proto);
  word(p, sess.tls_cipher, sizeof sess.tls_cipher);
  if (dup2(sess.tls_data, 0) == -1 || dup2(sess.tls_data, 1) == -1) {
    qwarn_sys("unable to switch to the TLS descriptor");
    session_exit("tls failed");
  }
  if (sess.tls_data > 1) close(sess.tls_data);
  close(sess.tls_ctl);
  sess.tls_ctl = -1;
  sess.tls_data = -1;
  sess.tls = 1;
  io_reset();
  session_forget();
  qlog("starttls ip=", sess.ip, " result=ok tls=", sess.tls_proto, "/", sess.tls_cipher);
}
