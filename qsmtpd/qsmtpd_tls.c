/*
 * qsmtpd_tls: TLS through qtlsd, the TLS service (lib/tlsd.h): STARTTLS
 * (RFC 3207) and implicit TLS (RFC 8314, the smtps listener). qsmtpd
 * never links a TLS library and never sees the key: it hands the client's
 * socket to qtlsd and, after the handshake, talks plaintext on its
 * connection to qtlsd, which relays. QTLSD names qtlsd's socket; without
 * it STARTTLS is not offered.
 * STARTTLS: qtlsd is asked first whether TLS can start ("P"); if not, the
 * client gets 454 and the session goes on in plaintext (RFC 3207 4).
 * CVE-2011-0411: whatever the client sent before the handshake is thrown
 * away (our input buffer here; the socket's bytes go to the handshake).
 * RFC 3207 4.2: after the handshake EHLO, the transaction and AUTH are
 * forgotten.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qlog.h"
#include "qsmtpd.h"
#include "tlsd.h"

#define TLSD_WAIT 120 /* seconds for qtlsd's answer (its handshake limit is 60) */

/* qtlsd's connection while STARTTLS is negotiated, else -1: the session
 * may end meanwhile (a reply that cannot be written, a timeout: every such
 * path goes through session_exit), and this must not outlive it. */
static int pending = -1;

void smtp_tls_end(void)
{
  if (pending != -1) {
    close(pending);
    pending = -1;
  }
}

/* After "Y proto cipher": the connection to qtlsd becomes fd 0 and fd 1. */
static int tls_switch(int conn, const char *line)
{
  tlsd_names(line, sess.tls_proto, sizeof sess.tls_proto, sess.tls_cipher,
             sizeof sess.tls_cipher);
  if (dup2(conn, 0) == -1 || dup2(conn, 1) == -1) {
    qwarn_sys("unable to switch to the TLS connection");
    close(conn);
    return -1;
  }
  if (conn > 1) close(conn);
  sess.tls = 1;
  io_reset();
  return 0;
}

void smtp_starttls(const char *arg, size_t len)
{
  char line[TLSD_LINE_MAX];
  ssize_t n;
  int conn;

  (void)arg;
  if (len > 0) {
    io_reply("501 5.5.4 syntax: STARTTLS\r\n");
    return;
  }
  if (sess.tls) {
    io_reply("503 5.5.1 TLS already active\r\n");
    return;
  }
  if (sess.tlsd == NULL) {
    io_reply("502 5.5.1 STARTTLS not available\r\n");
    return;
  }
  if (sess_tx_active()) {
    io_reply("503 5.5.1 STARTTLS not allowed during a mail transaction\r\n");
    return;
  }
  conn = tlsd_request(sess.tlsd, 0, 'P', sess.ip);
  if (conn == -1) {
    qwarn_sys("unable to reach qtlsd at ", sess.tlsd);
    n = -1;
  } else {
    pending = conn;
    n = tlsd_line(conn, line, sizeof line, TLSD_WAIT);
  }
  if (n < 1 || line[0] != 'R') { /* TLS cannot start: say so, stay in plaintext */
    if (n >= 1) qlog("starttls ip=", sess.ip, " result=unavailable reason=", line);
    else qlog("starttls ip=", sess.ip, " result=unavailable");
    smtp_tls_end();
    sess.tlsd = NULL; /* not offered again in this session */
    io_reply("454 4.7.0 TLS not available due to temporary reason\r\n");
    return;
  }
  io_reply("220 2.0.0 ready to start TLS\r\n");
  io_flush();
  io_reset(); /* CVE-2011-0411: pipelined plaintext is dropped */

  n = write(conn, "S", 1) == 1 ? tlsd_line(conn, line, sizeof line, TLSD_WAIT) : -1;
  if (n < 1 || line[0] != 'Y') {
    if (n >= 1) qlog("starttls ip=", sess.ip, " result=failed reason=", line);
    else qlog("starttls ip=", sess.ip, " result=failed");
    sess_exit("tls failed"); /* closes conn */
  }
  pending = -1; /* conn becomes fd 0 and 1, or is closed */
  if (tls_switch(conn, line) == -1) sess_exit("tls failed");
  sess_forget();
  qlog("starttls ip=", sess.ip, " result=ok tls=", sess.tls_proto, "/", sess.tls_cipher);
}

int smtp_tls_implicit(void)
{
  char line[TLSD_LINE_MAX];
  ssize_t n = -1;
  int conn;

  if (sess.tlsd == NULL) {
    qwarn("implicit TLS without QTLSD: no TLS service to ask");
    return -1;
  }
  conn = tlsd_request(sess.tlsd, 0, 'I', sess.ip);
  if (conn == -1) qwarn_sys("unable to reach qtlsd at ", sess.tlsd);
  else n = tlsd_line(conn, line, sizeof line, TLSD_WAIT);
  if (n < 1 || line[0] != 'Y') {
    if (n >= 1) qlog("tls ip=", sess.ip, " result=failed reason=", line);
    if (conn != -1) close(conn);
    return -1;
  }
  return tls_switch(conn, line);
}
