/*
 * qsmtpd: the ESMTP server (RFC 5321): the command loop, the session's
 * start and end, and the transaction's reset (struct tx, qsmtpd.h; MAIL
 * and RCPT are in qsmtpd_envelope.c, DATA and BDAT in qsmtpd_message.c,
 * the log lines in qsmtpd_log.c). Run by qlisten as qmta-smtpd (never
 * root), log lines on fd 2. Works in QHOME (control/ files). In qlisten's
 * pool mode (QLISTENFD set) one process serves connection after
 * connection: each arrives with its environment (lib/listenproto.h), every
 * piece of session state is reset before it (session_begin; the session's
 * own fields and settings live in qsmtpd_session.c), and the session's end
 * comes back to the loop in main (sess_exit). Otherwise (qlisten without
 * -s, tcpserver) the client is on fd 0 and fd 1 and the process serves
 * that one session.
 *
 * A message on its way: MAIL is checked by SPF (qsmtpd_spf.c) and the
 * access rules, each RCPT by the maps; the milters of control/milters are
 * asked at every stage (qsmtpd_milter.c). DATA or BDAT bytes go through
 * the transport and header filter (qsmtpd_data.c) straight into a queue
 * file that qsmtpd writes itself with the queue library (qsmtpd_inject.c;
 * the QINJECT program instead when that is set). At the end of data the
 * milters see the message and may edit it, qdkimd signs it (submission)
 * or verifies it (port 25) and the fields it answers go on top
 * (qsmtpd_dkim.c); then the envelope is written and the file committed
 * (fsync, rename into queue/new) before the 250: nothing is acknowledged
 * that is not on disk.
 * Environment per connection: TCPREMOTEIP, RELAYCLIENT (the client may
 * relay), TCPREMOTEHOST (only for Received:); per listener: SUBMISSION=1
 * (MAIL needs AUTH), QTLSD (qtlsd's socket: STARTTLS offered), IMPLICITTLS=1
 * (TLS before the greeting: smtps), QINJECT, QAUTH, DNSCACHEIP (asked only
 * when control/access has host-name keys: qsmtpd_dns.c).
 * Exit: 0 when the session (pool: qlisten) ends, whatever the client did;
 * 100 on misuse; 111 when the instance is unusable (after 421 to the client).
 *
 * Every reply is one literal with its RFC 3463 code; the log lines are
 * described in qsmtpd.8.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>

#include "access.h"
#include "bflush.h"
#include "cdbmap.h"
#include "ctl.h"
#include "ipaddr.h"
#include "listenproto.h"
#include "qlog.h"
#include "qsmtpd.h"

#define USAGE "qsmtpd"
#define MAX_ERRORS 50         /* bad commands per session; then 421 */

struct tx tx;                     /* the transaction (qsmtpd.h) */
static unsigned long errors;      /* bad commands in this session */

/* pool mode: qlisten's socket, and where a session's end goes */
static int pool_ctl = -1;
static int listener_gone; /* qlisten's end of pool_ctl seen closed */
static sigjmp_buf session_end;

/* ---- the session's end, pipelining ---- */

void sess_exit(const char *why)
{
  if (tx.inject_open) {
    inject_abort(&tx.inject);
    tx.inject_open = 0;
  }
  smtp_tls_end();
  log_session(why); /* qsmtpd_log.c */
  if (pool_ctl == -1) _exit(0);
  siglongjmp(session_end, 1); /* back to the loop in main, for the next connection */
}

int sess_pool_fd(void)
{
  return pool_ctl;
}

/* Pool mode: whether the listener has stopped (qlisten closed our socket
 * pair: s6-svc -d, or it died). qlisten sends nothing in a session: a
 * readable socket pair is its end of file. Once seen, it stays so. */
int sess_listener_gone(void)
{
  struct pollfd p;
  char c;

  if (pool_ctl == -1 || listener_gone) return listener_gone;
  p.fd = pool_ctl;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) == 1 && recv(pool_ctl, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
    listener_gone = 1;
  return listener_gone;
}

/* Pool mode: a session whose listener has stopped may finish the
 * transaction in progress and QUIT, and nothing more: any other command
 * outside a transaction (MAIL above all) ends it with 421, so that a
 * client that keeps its connection for message after message (a
 * connection cache) goes elsewhere instead of holding a stopped service
 * up, and no session process outlives its listener for long (the wait
 * for such a command is short too: qsmtpd_io.c). */
void sess_stop_check(void)
{
  if (!sess_listener_gone()) return;
  io_reply("421 4.3.2 service shutting down, closing connection\r\n");
  io_flush();
  sess_exit("shutdown");
}

int sess_pipelining_abuse(void)
{
  struct pollfd p;

  if (cfg.relax_pipelining || sess.authed) return 0;
  if (io_in.p < io_in.n) return 1;
  p.fd = 0;
  p.events = POLLIN;
  p.revents = 0;
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

/* Postfix's smtpd_forbid_unauth_pipelining: spam software talks ahead. */
void sess_pipelining_refuse(const char *what, const char *r)
{
  log_pipelining(what, r);
  io_reply(r);
  io_flush();
  sess_exit("improper pipelining");
}

/* ---- the transaction ---- */

void tx_reset(void)
{
  if (tx.inject_open) {
    inject_abort(&tx.inject);
    tx.inject_open = 0;
  }
  tx.seen_mail = 0;
  tx.utf8 = 0;
  tx.relay = 0;
  tx.access_ok = 0;
  tx.discard = 0;
  milters_abort();
  authint_reset();
  tx.rcpt_count = 0;
  tx.rcpt_tried = 0;
  tx.rcpt_dups = 0;
  tx.envelope.len = 0;
  tx.env_rcpt_start = 0;
  tx.sender[0] = '\0';
  tx.generics = 0;
  tx.body_started = 0;
  tx.bytes = 0;
  tx.toobig = 0;
  tx.remote = 0;
}

int sess_tx_active(void)
{
  return tx.seen_mail;
}

void sess_forget(void)
{
  tx_reset();
  sess.helo[0] = '\0';
  sess.seen_helo = 0;
  sess.ehlo = 0;
  sess.authed = 0;
  sess.authuser[0] = '\0';
}

/* ---- commands ---- */

static void smtp_greet(void)
{
  io_puts("220 ");
  io_puts(sess.me.s);
  io_puts(" ESMTP qmta\r\n");
}

static void smtp_helo(const char *arg, size_t len, int ehlo)
{
  char num[FMT_ULONG];
  const char *err;

  if (!smtp_helo_ok(arg, len)) {
    io_reply(ehlo ? "501 5.5.4 syntax: EHLO hostname or address literal\r\n"
               : "501 5.5.4 syntax: HELO hostname or address literal\r\n");
    return;
  }
  tx_reset();
  memcpy(sess.helo, arg, len);
  sess.helo[len] = '\0';
  err = milters_helo(sess.helo); /* qsmtpd_milter.c */
  if (err != NULL) {
    sess.helo[0] = '\0';
    io_reply(err);
    return;
  }
  sess.seen_helo = 1;
  sess.ehlo = ehlo;
  io_puts("250");
  io_puts(ehlo ? "-" : " ");
  io_puts(sess.me.s);
  io_puts("\r\n");
  if (!ehlo) return;
  io_puts("250-PIPELINING\r\n");
  if (cfg.databytes > 0) {
    io_puts("250-SIZE ");
    io_puts(qlog_ulong(num, cfg.databytes));
    io_puts("\r\n");
  } else {
    io_puts("250-SIZE\r\n");
  }
  io_puts("250-8BITMIME\r\n");
  io_puts("250-ENHANCEDSTATUSCODES\r\n");
  io_puts("250-SMTPUTF8\r\n");
  io_puts("250-CHUNKING\r\n");
  io_puts("250-DSN\r\n");
  if (!sess.tls && sess.tlsd != NULL) io_puts("250-STARTTLS\r\n");
  if (sess_auth_offered() && !sess.authed) io_puts("250-AUTH PLAIN LOGIN\r\n");
  io_puts("250 HELP\r\n");
}


static void smtp_help(void)
{
  io_reply("214-2.0.0 qsmtpd: commands EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT\r\n"
        "214-2.0.0 VRFY HELP STARTTLS AUTH; see RFC 5321\r\n"
        "214 2.0.0 end of HELP\r\n");
}

/* The longest line, CRLF included, that a command may have. */
static size_t max_line(int verb)
{
  switch (verb) {
    case VERB_AUTH: return MAX_AUTHLINE;
    case VERB_MAIL: return MAX_MAILLINE;
    case VERB_RCPT: return MAX_RCPTLINE;
    default: return MAX_CMDLINE;
  }
}

static void command(char *line, size_t len)
{
  size_t argoff;
  int verb = smtp_verb(line, len, &argoff);
  const char *arg = line + argoff;
  size_t alen = len - argoff;

  while (alen > 0 && arg[alen - 1] == ' ') alen--; /* trailing blanks are not arguments */

  if (len + 2 > max_line(verb)) {
    io_reply("500 5.5.2 line too long\r\n");
    errors++;
    return;
  }
  if (sess.refused && verb != VERB_QUIT) {
    io_reply("503 5.5.1 connection refused, send QUIT\r\n");
    errors++;
    return;
  }
  if (verb != VERB_QUIT && !tx.seen_mail) sess_stop_check(); /* the listener gone: 421 */
  switch (verb) {
    case VERB_HELO: smtp_helo(arg, alen, 0); break;
    case VERB_EHLO: smtp_helo(arg, alen, 1); break;
    case VERB_MAIL: smtp_mail(arg, alen); break;
    case VERB_RCPT: smtp_rcpt(arg, alen); break;
    case VERB_DATA: smtp_data(arg, alen); break;
    case VERB_BDAT: smtp_bdat(arg, alen); break;
    case VERB_RSET: /* RFC 5321 4.1.1.5: no parameters */
      if (alen > 0) {
        io_reply("501 5.5.4 syntax: RSET\r\n");
        break;
      }
      tx_reset();
      io_reply("250 2.0.0 ok\r\n");
      break;
    case VERB_NOOP: io_reply("250 2.0.0 ok\r\n"); break;
    case VERB_QUIT:
      io_puts("221 2.0.0 ");
      io_puts(sess.me.s);
      io_puts(" closing connection\r\n");
      io_flush();
      sess_exit("quit");
    case VERB_VRFY:
      if (alen == 0) io_reply("501 5.5.4 syntax: VRFY address\r\n");
      else io_reply("252 2.0.0 cannot VRFY, but send some mail and delivery will be tried\r\n");
      break;
    case VERB_EXPN: io_reply("502 5.5.1 EXPN not available\r\n"); break;
    case VERB_HELP: smtp_help(); break;
    case VERB_STARTTLS: smtp_starttls(arg, alen); break;
    case VERB_AUTH: smtp_auth(arg, alen); break;
    default:
      io_reply("500 5.5.1 command not recognized\r\n");
      errors++;
      break;
  }
}

static void loop(void)
{
  char line[MAX_AUTHLINE];
  size_t len;

  for (;;) {
    int r;
    if (errors >= MAX_ERRORS) {
      io_reply("421 4.7.0 too many errors, closing connection\r\n");
      io_flush();
      sess_exit("too many errors");
    }
    r = io_getline(line, sizeof line, &len);
    if (r == -1) io_die_read();
    if (r == 0) sess_exit("eof");
    if (r == -2) {
      io_reply("500 5.5.2 line too long\r\n");
      errors++;
      continue;
    }
    /* a command ended by a bare LF is taken as ended by CRLF (as Postfix's
     * smtpd_forbid_bare_newline=normalize): it splits nothing, and typed
     * commands (openssl s_client without -crlf) work; in DATA a bare LF
     * is never a line end (qsmtpd_data.c) */
    if (len > 0 && line[len - 1] == '\n') len--;
    if (len > 0 && line[len - 1] == '\r') len--;
    if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL) {
      io_reply("500 5.5.2 invalid characters in command\r\n");
      errors++;
      continue;
    }
    command(line, len);
  }
}

/* ---- start-up ---- */

/* Every piece of per-connection state back to its start: nothing of one
 * client's session may reach the next one's (pool mode). */
static void session_reset(void)
{
  tx_reset();
  milters_end();
  errors = 0;
  sess_clear();
  io_reset();
}

/* The start of a session: state reset, the connection's environment
 * read, TLS for smtps, the access rules for the client, the greeting. */
static void session_begin(void)
{
  const char *v;
  char rbuf[ACCESS_REPLY_MAX];
  const char *ip;
  int act;

  session_reset();
  v = getenv("TCPREMOTEIP");
  sess.ip = (v != NULL && v[0] != '\0') ? v : "unknown";
  v = getenv("TCPREMOTEHOST");
  sess.host = (v != NULL && v[0] != '\0') ? v : NULL; /* until client_name looks */
  ip = sess.ip;
  if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL) ip += 7;
  sess.loopback = ipaddr_isloopback(sess.ip);
  v = getenv("SUBMISSION");
  sess.submission = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
  sess.relay = getenv("RELAYCLIENT") != NULL;
  v = getenv("QTLSD");
  sess.tlsd = (v != NULL && v[0] != '\0') ? v : NULL;
  v = getenv("IMPLICITTLS");
  if (v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && smtp_tls_implicit() == -1)
    sess_exit("tls failed");

  sess_config();
  act = smtp_access(ACCESS_CONNECT, ip, strlen(ip), "554", rbuf);
  if (act == ACT_NONE && sess_client_name()) /* the address first: the client controls its PTR */
    act = smtp_access(ACCESS_CONNECT, ip, strlen(ip), "554", rbuf);
  switch (act) {
    case -1: sess_die_config("control/access.cdb");
    case ACT_REJECT:
    case ACT_ERROR:
      sess.refused = 1;
      log_refused(rbuf);
      io_reply(rbuf);
      if (strncmp(rbuf, "421", 3) == 0) { /* RFC 5321 3.8: 421 closes the connection */
        io_flush();
        sess_exit("refused");
      }
      return;
    case ACT_RELAY: sess.relay = 1; break;
    case ACT_OK: sess.access_ok = 1; break;
    case ACT_DISCARD: sess.discard = 1; break;
    default: break;
  }
  /* RFC 5321 4.3.1: the client waits for the greeting. Not judged on a
   * submission listener (587, 465), where nothing is sent without AUTH:
   * there it would only turn away scripts that write ahead after the TLS
   * handshake of port 465 */
  if (!sess.submission && sess_pipelining_abuse())
    sess_pipelining_refuse(
        "early", "554 5.5.0 improper pipelining: commands sent before the greeting\r\n");
  smtp_greet();
}

/* Pool mode: connection after connection from qlisten, until it says stop. */
static void pool(void)
{
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

  if (devnull == -1) qdie_sys(111, "unable to open /dev/null");
  for (;;) {
    int fd;

    if (io_wait_idle(pool_ctl) == -1) _exit(0); /* SIGTERM while waiting: no session */
    fd = listen_next(pool_ctl);

    if (fd == -1) {
      if (errno == 0) _exit(0); /* qlisten retired us */
      qdie_sys(111, "unable to get a connection from qlisten");
    }
    if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1) qdie_sys(111, "unable to take the connection");
    close(fd);
    if (sigsetjmp(session_end, 1) == 0) {
      session_begin();
      loop();
    }
    /* the session is over: its socket (or qtlsd's connection) goes */
    if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
      qdie_sys(111, "unable to close the connection");
    if (io_terminated()) _exit(0);
    if (listen_done(pool_ctl) == -1) _exit(0);
  }
}

int main(int argc, char **argv)
{
  (void)argv;
  qlog_prog = "qsmtpd";
  cdbmap_report = cdbmap_warn; /* a damaged map: one loud line, then 451s */
  if (argc > 1) qdie_usage(USAGE);
  if (getuid() == 0 || geteuid() == 0) qdie(100, "refusing to run as root");
  io_init();
  if (listen_attach(0) == -1) qwarn_sys("unable to attach qlisten's table");
  if (qhome_chdir() == -1) {
    qwarn_sys("unable to read QHOME");
    io_reply("421 4.3.5 temporary configuration problem, try again later\r\n");
    bflush(&io_out);
    _exit(111);
  }
  pool_ctl = listen_ctlfd();
  sess.pooled = pool_ctl != -1;
  if (pool_ctl != -1) pool();
  session_begin();
  loop();
  return 0;
}
