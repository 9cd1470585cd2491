/*
 * qsmtpd_session: the state of one SMTP session (sess) and the settings of
 * control/ it runs under (cfg), both read afresh at the start of every
 * session: in qlisten's pool mode one process serves session after
 * session, and nothing of one may reach the next (sess_clear).
 *
 *   sess_clear        every field of sess back to its start
 *   sess_config       control/me, locals, rcpthosts, the numbers and flags
 *                     (a number that is no number: logged, default used; a
 *                     file that cannot be read: 421 and the session ends)
 *   sess_client_name  the client's forward-confirmed host name, when the
 *                     access rules have host-name keys (qsmtpd_dns.c)
 *   sess_die_config   the 421 for a setting that cannot be read
 * The session's end (sess_exit, sess_forget) stays with the command loop
 * in qsmtpd.c, which also owns the transaction (struct tx, tx_reset).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "access.h"
#include "bflush.h"
#include "ctl.h"
#include "ctldef.h"
#include "qlog.h"
#include "qsmtpd.h"

struct session sess;
struct smtpd_config cfg;

void sess_clear(void)
{
  int pooled = sess.pooled;

  sess.ip = "unknown";
  sess.host = NULL;
  sess.host_confirmed = 0;
  sess.hostname[0] = '\0';
  sess.me.len = 0;
  sess.helo[0] = '\0';
  sess.seen_helo = 0;
  sess.ehlo = 0;
  sess.submission = 0;
  sess.loopback = 0;
  sess.authplaintext = 0;
  sess.tls = 0;
  sess.tls_proto[0] = '\0';
  sess.tls_cipher[0] = '\0';
  sess.tlsd = NULL;
  sess.authed = 0;
  explicit_bzero(sess.authuser, sizeof sess.authuser);
  sess.auth_failures = 0;
  sess.msgs = 0;
  sess.refused = 0;
  sess.relay = 0;
  sess.access_ok = 0;
  sess.discard = 0;
  sess.pooled = pooled;
}

int sess_auth_offered(void)
{
  return sess.tls || (sess.loopback && sess.authplaintext);
}

void sess_die_config(const char *what)
{
  qwarn_sys("unable to read ", what);
  io_reply("421 4.3.5 temporary configuration problem, try again later\r\n");
  bflush(&io_out);
  if (sess.pooled) sess_exit("configuration problem");
  _exit(111);
}

/* 0 when the client is on a pipe or a terminal (sendmail -bs), not on the
 * network: then it may write ahead and end lines with a bare LF. */
static int stdin_is_socket(void)
{
  struct stat st;

  return fstat(0, &st) == -1 || S_ISSOCK(st.st_mode);
}

/* A number from control/: a value that is no number, or 0 where 0 makes
 * no sense, is logged (once per process and setting) and the default is
 * used: a bad setting never takes the service down. Only a file that
 * cannot be read stops the session (421). */
static void setting(unsigned long *val, const char *fn, unsigned long def, int zero_ok, int bit)
{
  static unsigned int warned;
  char num[FMT_ULONG];

  if (ctl_readint(val, fn, def) == -1) {
    if (errno != EINVAL && errno != ERANGE) sess_die_config(fn);
    *val = def;
    if (!(warned & (1U << bit))) qwarn(fn, " is not a number: using ", qlog_ulong(num, def));
    warned |= 1U << bit;
  } else if (*val == 0 && !zero_ok) {
    *val = def;
    if (!(warned & (1U << bit))) qwarn(fn, " is 0: using ", qlog_ulong(num, def));
    warned |= 1U << bit;
  }
}

/* control/authsender: 0 off, 1 address, 2 domain */
static int authsender_mode(void)
{
  static stralloc v;

  /* submission (587, 465): an authenticated user sends as itself and its
   * aliases unless the admin says otherwise (TLS active this early is
   * implicit TLS: STARTTLS comes after the greeting) */
  if (ctl_readline(&v, "control/authsender",
                   sess.submission || sess.tls ? "address" : CTLDEF_AUTHSENDER) == -1)
    sess_die_config("control/authsender");
  if (v.len == 7 && strncasecmp(v.s, "address", 7) == 0) return 1;
  if (v.len == 6 && strncasecmp(v.s, "domain", 6) == 0) return 2;
  return 0;
}

void sess_config(void)
{
  const char *v;

  if (ctl_readline(&sess.me, "control/me", NULL) == -1) sess_die_config("control/me");
  if (sess.me.len == 0) {
    v = getenv("TCPLOCALHOST");
    if (!stralloc_copys(&sess.me, (v != NULL && v[0] != '\0') ? v : "localhost")) io_die_nomem();
  }
  if (!stralloc_0(&sess.me)) io_die_nomem();
  if (ctl_readlist(&cfg.locals, "control/locals") == -1) sess_die_config("control/locals");
  if (ctl_readlist(&cfg.rcpthosts, "control/rcpthosts") == -1) sess_die_config("control/rcpthosts");
  setting(&cfg.databytes, "control/databytes", CTLDEF_DATABYTES, 1, 0);
  setting(&cfg.maxrcpt, "control/maxrcpt", CTLDEF_MAXRCPT, 0, 1);
  setting(&cfg.maxhops, "control/maxhops", CTLDEF_MAXHOPS, 0, 2);
  setting(&io_timeout, "control/timeoutsmtpd", CTLDEF_TIMEOUTSMTPD, 0, 3);
  setting(&io_timeout_stress, "control/timeoutstress", CTLDEF_TIMEOUTSTRESS, 0, 4);
  setting(&io_data_rate, "control/datarate", CTLDEF_DATARATE, 1, 5);
  cfg.barelf = access("control/barelf", F_OK) == 0;
  cfg.stripnul = access("control/stripnul", F_OK) == 0;
  cfg.longheaders = access("control/longheaders", F_OK) == 0;
  cfg.relax_pipelining = access("control/relaxpipelining", F_OK) == 0;
  cfg.submission_generics = access("control/submissiongenerics", F_OK) == 0;
  if (!stdin_is_socket()) cfg.relax_pipelining = cfg.barelf = 1; /* sendmail -bs: a local script */
  sess.authplaintext = access("control/authplaintext", F_OK) == 0;
  cfg.authsender = authsender_mode();
  authint_config(); /* qsmtpd_dkim.c: the authserv-id */
  milters_config(); /* qsmtpd_milter.c */
}

/* The client's host name, once its address has matched no access key.
 * Only a name qsmtpd has confirmed itself (its A/AAAA records lead back to
 * the address) is used by the access rules: the PTR record alone is
 * written by the client's owner, and tcpserver's TCPREMOTEHOST (-h) is a
 * bare PTR unless -p was given, which qsmtpd cannot tell. DNS is asked
 * only when control/access has host-name keys that Connect lookups can
 * match; otherwise TCPREMOTEHOST, if set, only names the client in
 * Received:. 1 confirmed (sess.host), 0 no name for the access rules. */
int sess_client_name(void)
{
  int r;

  r = access_hostkeys();
  if (r == -1) sess_die_config("control/access.cdb");
  if (r == 0 || strcmp(sess.ip, "unknown") == 0) return 0;
  sess.host = NULL; /* after a lookup of our own, only its answer names the client */
  r = fcrdns_lookup(sess.ip, sess.hostname, DNS_SECONDS);
  if (r == -1) qwarn_sys("unable to look up the host name of ", sess.ip);
  if (r != 1) return 0;
  sess.host = sess.hostname;
  sess.host_confirmed = 1;
  return 1;
}
