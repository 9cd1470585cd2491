/*
 * qsmtpd: the ESMTP server (RFC 5321): the command loop and the
 * transaction. Run by qlisten as qmta-smtpd (never root), log lines on
 * fd 2. Works in QHOME (control/ files). In qlisten's pool mode
 * (QLISTENFD set) one process serves connection after connection: each
 * arrives with its environment (lib/listenproto.h), every piece of session
 * state is reset before it (session_begin; the session's own fields and
 * settings live in qsmtpd_session.c), and the session's end comes back to
 * the loop in main (sess_exit). Otherwise (qlisten without -s, tcpserver)
 * the client is on fd 0 and fd 1 and the process serves that one session.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "access.h"
#include "bflush.h"
#include "addr.h"
#include "aliases.h"
#include "cdbmap.h"
#include "ctl.h"
#include "ctldef.h"
#include "ipaddr.h"
#include "listenproto.h"
#include "qlog.h"
#include "qsmtpd.h"
#include "users.h"

#define USAGE "qsmtpd"
#define MAX_ERRORS 50         /* bad commands per session; then 421 */


static int tx_generics;           /* this transaction's sender and header are rewritten */

/* the connection */
static int conn_rejected;         /* access refused the client: only QUIT */
static int conn_relay;            /* RELAYCLIENT or access RELAY */
static int conn_ok;               /* access Connect: OK: no more access checks */
static int conn_discard;          /* access Connect: DISCARD */
static unsigned long errors;

/* the transaction */
static int seen_mail;
static int tx_utf8;
static int tx_relay;              /* access From: RELAY */
static int tx_ok;                 /* access From: OK */
static int tx_discard;            /* access DISCARD: accept and drop */
static unsigned long rcpt_count;
static unsigned long rcpt_tried;
static stralloc envelope;         /* F, V, X, then T, N, O records */
static size_t env_rcpt_start;     /* offset of the first T record */
static char tx_sender[ADDR_MAX + 1];
static int tx_body_started;       /* BDAT chunks are being received */
static struct inject tx_inject;
static int tx_inject_open;
static struct smtpdata tx_data;
static unsigned long long tx_bytes; /* bytes read from the client for this message */
static int tx_toobig;
static int tx_remote;             /* a recipient is not local: the message is relayed */

static stralloc scratch;          /* lookups */
static stralloc received;

/* pool mode: qlisten's socket, and where a session's end goes */
static int pool_ctl = -1;
static sigjmp_buf session_end;

/* ---- logging ---- */

static const char *tls_text(char *buf, size_t max)
{
  size_t a;
  size_t b;

  if (!sess.tls) return "none";
  a = strlen(sess.tls_proto);
  b = strlen(sess.tls_cipher);
  if (a + b + 2 > max) return "yes";
  memcpy(buf, sess.tls_proto, a);
  buf[a] = '/';
  memcpy(buf + a + 1, sess.tls_cipher, b + 1);
  return buf;
}

static const char *helo_text(void)
{
  return sess.helo[0] != '\0' ? sess.helo : "-";
}

static const char *auth_text(void)
{
  return sess.authed ? sess.authuser : "-";
}

/* "550 5.1.1 text\r\n" -> "550 5.1.1 text" in buf */
static const char *code_text(const char *r, char *buf, size_t max)
{
  size_t n = strlen(r);

  while (n > 0 && (r[n - 1] == '\n' || r[n - 1] == '\r')) n--;
  if (n >= max) n = max - 1;
  memcpy(buf, r, n);
  buf[n] = '\0';
  return buf;
}

static void log_reject(const char *rcpt, const char *r)
{
  char tls[200];
  char code[ACCESS_REPLY_MAX];

  if (rcpt != NULL)
    qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
         " auth=", auth_text(), " from=<", tx_sender, "> rcpt=<", rcpt, "> code=",
         code_text(r, code, sizeof code));
  else
    qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
         " auth=", auth_text(), " from=<", tx_sender, "> code=", code_text(r, code, sizeof code));
}

/* The recipients of the envelope as "<a>,<b>" (cut by qlog's line limit). */
static void rcpt_list(stralloc *sa)
{
  size_t i = env_rcpt_start;

  stralloc_copys(sa, "");
  while (i < envelope.len) {
    const char *rec = envelope.s + i;
    size_t n = strlen(rec);
    if (rec[0] == 'T' && sa->len < QLOG_MAX) {
      if (sa->len > 0) stralloc_append(sa, ",");
      stralloc_append(sa, "<");
      stralloc_catb(sa, rec + 1, n - 1);
      stralloc_append(sa, ">");
    }
    i += n + 1;
  }
  stralloc_0(sa);
}

/* id: the queue id when qsmtpd wrote the queue file itself, else 0 */
static void log_message(const char *what, const char *r, unsigned long long size,
                        const char *id)
{
  char tls[200];
  char code[ACCESS_REPLY_MAX];
  char n1[FMT_ULONG];
  char n2[FMT_ULONG];

  rcpt_list(&scratch);
  qlog(what, " ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
       " auth=", auth_text(), " from=<", tx_sender, "> rcpts=", qlog_ulong(n1, rcpt_count),
       " size=", qlog_ulong(n2, (unsigned long)size), id[0] != '\0' ? " id=" : "", id, " to=", scratch.s != NULL ? scratch.s : "",
       authint_log(), " code=", code_text(r, code, sizeof code));
}

void sess_exit(const char *why)
{
  char tls[200];
  char n[FMT_ULONG];

  if (tx_inject_open) {
    inject_abort(&tx_inject);
    tx_inject_open = 0;
  }
  smtp_tls_end();
  qlog("session ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
       " auth=", auth_text(), " msgs=", qlog_ulong(n, sess.msgs), " end=", why);
  if (pool_ctl == -1) _exit(0);
  siglongjmp(session_end, 1); /* back to the loop in main, for the next connection */
}

/* 1 if the client has sent more than it may have yet (and the checks are on) */
static int pipelining_abuse(void)
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
static void refuse_pipelining(const char *what, const char *r) __attribute__((noreturn));
static void refuse_pipelining(const char *what, const char *r)
{
  char code[ACCESS_REPLY_MAX];

  qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", sess.tls ? "yes" : "none",
       " auth=- from=<", tx_sender, "> pipelining=", what, " code=",
       code_text(r, code, sizeof code));
  io_reply(r);
  io_flush();
  sess_exit("improper pipelining");
}

/* ---- the transaction ---- */

static void tx_reset(void)
{
  if (tx_inject_open) {
    inject_abort(&tx_inject);
    tx_inject_open = 0;
  }
  seen_mail = 0;
  tx_utf8 = 0;
  tx_relay = 0;
  tx_ok = 0;
  tx_discard = 0;
  milters_abort();
  authint_reset();
  rcpt_count = 0;
  rcpt_tried = 0;
  envelope.len = 0;
  env_rcpt_start = 0;
  tx_sender[0] = '\0';
  tx_generics = 0;
  tx_body_started = 0;
  tx_bytes = 0;
  tx_toobig = 0;
  tx_remote = 0;
}

int sess_tx_active(void)
{
  return seen_mail;
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

static int env_add(char tag, const char *s, size_t len)
{
  if (!stralloc_append(&envelope, &tag)) return 0;
  if (!stralloc_catb(&envelope, s, len)) return 0;
  return stralloc_0(&envelope);
}

/* ---- map lookups ---- */

/* 1 if s is a virtual user (users.cdb: keys in lower case), 0 if not, -1 error. */
static int lookup_user(const char *s, size_t len)
{
  struct cdbmap *m;
  char key[ADDR_MAX];
  size_t i;
  int r;

  if (len > sizeof key) return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    key[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  r = cdbmap_get(&m, USERS_CDB);
  if (r != 1) return r;
  return cdbmap_find(m, key, len, &scratch);
}

static int lookup_alias(const char *s, size_t len, stralloc *val)
{
  int kind;

  return aliases_find(s, len, 1, val, &kind);
}

/* ---- access map ---- */

/* Looks kind/key up in control/access.cdb. ACT_*; reply filled for
 * REJECT/ERROR; -1 on a lookup error. */
static int access_check(int kind, const char *key, size_t len, const char *def, char *rbuf)
{
  int r;
  int act;

  if (!stralloc_copys(&scratch, "")) io_die_nomem();
  r = access_lookup(kind, key, len,
                    kind == ACCESS_CONNECT && sess.host_confirmed ? sess.host : NULL, &scratch);
  if (r == -1) return -1;
  if (r == 0 || scratch.len == 0) return ACT_NONE;
  act = policy_access_action(scratch.s, scratch.len, def, rbuf, ACCESS_REPLY_MAX);
  if (act == ACT_NONE) {
    if (!stralloc_0(&scratch)) io_die_nomem();
    qwarn("unknown action in control/access: ", scratch.s);
  }
  return act;
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

static int same_domain(const char *a, const char *b)
{
  size_t alen;
  size_t blen;
  const char *da = addr_domain(a, strlen(a), &alen);
  const char *db = addr_domain(b, strlen(b), &blen);

  return alen > 0 && alen == blen && strncasecmp(da, db, alen) == 0;
}

/* cfg.authsender=address: the login itself, or an address whose alias (not a
 * catch-all) names the login. 1 owned, 0 not, -1 lookup error. */
static int sender_owned(const char *sender, size_t len, const char *user)
{
  stralloc targets = {0};
  int kind;
  int r;

  if (strcasecmp(sender, user) == 0) return 1;
  r = aliases_find(sender, len, 1, &targets, &kind);
  if (r == 1) r = kind != 'c' && policy_alias_names_user(sender, targets.s, targets.len, user);
  stralloc_free(&targets);
  return r;
}

static void smtp_mail(const char *arg, size_t len)
{
  struct mail_args m;
  const char *err;
  char rbuf[ACCESS_REPLY_MAX];

  if (!sess.seen_helo) {
    io_reply("503 5.5.1 send HELO or EHLO first\r\n");
    return;
  }
  if (seen_mail) {
    io_reply("503 5.5.1 nested MAIL command\r\n");
    return;
  }
  if (sess.submission && !sess.authed) {
    err = "530 5.7.0 authentication required\r\n";
    log_reject(NULL, err);
    io_reply(err);
    return;
  }
  err = smtp_mail_parse(&m, arg, len, sess.ehlo);
  if (err != NULL) {
    io_reply(err);
    return;
  }
  memcpy(tx_sender, m.addr.s, m.addr.len + 1);
  if (cfg.databytes > 0 && m.size > cfg.databytes) {
    err = "552 5.3.4 message size exceeds fixed maximum message size\r\n";
    log_reject(NULL, err);
    io_reply(err);
    tx_sender[0] = '\0';
    return;
  }
  if (sess.authed && cfg.authsender != 0) {
    int own = m.addr.null ? 0
              : cfg.authsender == 1 ? sender_owned(m.addr.s, m.addr.len, sess.authuser)
                                : same_domain(m.addr.s, sess.authuser);
    if (own == -1) {
      io_reply("451 4.3.0 temporary lookup failure\r\n");
      tx_sender[0] = '\0';
      return;
    }
    if (!own) {
      err = "553 5.7.1 sender address not owned by the authenticated user\r\n";
      log_reject(NULL, err);
      io_reply(err);
      tx_sender[0] = '\0';
      return;
    }
  }
  if (!conn_ok && !m.addr.null) {
    switch (access_check(ACCESS_FROM, m.addr.s, m.addr.len, "550", rbuf)) {
      case -1:
        io_reply("451 4.3.0 temporary lookup failure\r\n");
        tx_sender[0] = '\0';
        return;
      case ACT_REJECT:
      case ACT_ERROR:
        log_reject(NULL, rbuf);
        io_reply(rbuf);
        tx_sender[0] = '\0';
        return;
      case ACT_RELAY: tx_relay = 1; break;
      case ACT_OK: tx_ok = 1; break;
      case ACT_DISCARD: tx_discard = 1; break;
      default: break;
    }
  }
  tx_generics = 0;
  if (sess.authed && cfg.submission_generics) { /* qsmtpd_generics.c */
    if (generics_start(&sess.me) == -1 || generics_sender(m.addr.s, sizeof m.addr.s) == -1) {
      io_reply("451 4.3.0 unable to read control/generics or masquerading\r\n");
      tx_sender[0] = '\0';
      return;
    }
    m.addr.len = strlen(m.addr.s);
    memcpy(tx_sender, m.addr.s, m.addr.len + 1);
    tx_generics = 1;
  }
  err = spfcheck_mail(m.addr.null ? "" : m.addr.s); /* qsmtpd_spf.c */
  if (err != NULL) {
    log_reject(NULL, err);
    io_reply(err);
    tx_sender[0] = '\0';
    return;
  }
  err = milters_mail(m.addr.null ? "" : m.addr.s);
  if (err != NULL) {
    log_reject(NULL, err);
    io_reply(err);
    tx_sender[0] = '\0';
    return;
  }
  envelope.len = 0;
  if (!env_add('F', m.addr.s, m.addr.len)) io_die_nomem();
  if (m.ret[0] != '\0' && !env_add('V', m.ret, 4)) io_die_nomem();
  if (m.has_envid && !env_add('X', m.envid, strlen(m.envid))) io_die_nomem();
  env_rcpt_start = envelope.len;
  seen_mail = 1;
  tx_utf8 = m.smtputf8;
  io_reply("250 2.1.0 sender ok\r\n");
}

static int is_postmaster(const char *s, size_t len)
{
  return len == 10 && strncasecmp(s, "postmaster", 10) == 0;
}

/* Relay control (fails closed). NULL: accept; else the reply. */
static const char *rcpt_policy(struct rcpt_args *r, char *rbuf, int *rcpt_relay)
{
  const struct addr *a = &r->addr;
  const char *dom;
  size_t dlen;
  int local;

  *rcpt_relay = 0;
  dom = addr_domain(a->s, a->len, &dlen);
  local = dlen > 0 && ctl_domainmatch(&cfg.locals, dom, dlen);
  /* RFC 5321 4.5.1: postmaster, bare (made postmaster@me) or at a local domain, always */
  if (is_postmaster(a->s, a->at) &&
      (local || (dlen == sess.me.len - 1 && strncasecmp(dom, sess.me.s, dlen) == 0)))
    return NULL;

  if (!conn_ok && !tx_ok) {
    switch (access_check(ACCESS_TO, a->s, a->len, "550", rbuf)) {
      case -1: return "451 4.3.0 temporary lookup failure\r\n";
      case ACT_REJECT:
      case ACT_ERROR: return rbuf;
      case ACT_RELAY: *rcpt_relay = 1; break;
      case ACT_DISCARD: tx_discard = 1; break;
      default: break;
    }
  }
  if (a->at == a->len) return "550 5.1.1 unknown user\r\n"; /* a bare name other than postmaster */

  if (local) {
    int f = lookup_user(a->s, a->len);
    if (f == -1) return "451 4.3.0 temporary lookup failure\r\n";
    if (f == 1) return NULL;
    if (!stralloc_copys(&scratch, "")) io_die_nomem();
    f = lookup_alias(a->s, a->len, &scratch);
    if (f == -1) return "451 4.3.0 temporary lookup failure\r\n";
    if (f == 1) {
      size_t first = scratch.len > 0 ? strnlen(scratch.s, scratch.len) : 0;
      if (policy_alias_error(scratch.s, first, rbuf, ACCESS_REPLY_MAX)) return rbuf;
      return NULL;
    }
    return "550 5.1.1 unknown user\r\n";
  }
  if (dlen > 0 && ctl_domainmatch(&cfg.rcpthosts, dom, dlen)) return NULL;
  if (conn_relay || sess.authed || tx_relay || *rcpt_relay) return NULL;
  return "554 5.7.1 relaying denied\r\n";
}

static void smtp_rcpt(const char *arg, size_t len)
{
  struct rcpt_args r;
  const char *err;
  char rbuf[ACCESS_REPLY_MAX];
  int rcpt_relay;
  size_t need;

  if (!seen_mail) {
    io_reply("503 5.5.1 need MAIL first\r\n");
    return;
  }
  if (tx_body_started) {
    io_reply("503 5.5.1 RCPT not allowed after BDAT\r\n");
    return;
  }
  rcpt_tried++;
  if (rcpt_count >= cfg.maxrcpt) {
    io_reply("452 4.5.3 too many recipients\r\n");
    return;
  }
  err = smtp_rcpt_parse(&r, arg, len, sess.ehlo, tx_utf8);
  if (err != NULL) {
    io_reply(err);
    return;
  }
  if (r.addr.at == r.addr.len && is_postmaster(r.addr.s, r.addr.len)) {
    /* bare postmaster: ours */
    size_t mlen = sess.me.len - 1;
    if (r.addr.len + 1 + mlen <= ADDR_MAX) {
      r.addr.s[r.addr.len] = '@';
      memcpy(r.addr.s + r.addr.len + 1, sess.me.s, mlen + 1);
      r.addr.len += 1 + mlen;
      r.addr.at = 10;
    }
  }
  need = r.addr.len + strlen(r.notify) + strlen(r.orcpt) + 8;
  if (envelope.len + need > MAX_ENVELOPE) {
    io_reply("452 4.5.3 too many recipients\r\n");
    return;
  }
  err = rcpt_policy(&r, rbuf, &rcpt_relay);
  if (err != NULL) {
    log_reject(r.addr.s, err);
    io_reply(err);
    return;
  }
  err = milters_rcpt(r.addr.s);
  if (err != NULL) {
    log_reject(r.addr.s, err);
    io_reply(err);
    return;
  }
  /* relayed, as qsend will decide (ctl_islocal) */
  if (r.addr.at == r.addr.len ||
      !ctl_islocal(&cfg.locals, sess.me.s, sess.me.len - 1, r.addr.s, r.addr.len))
    tx_remote = 1;
  if (!env_add('T', r.addr.s, r.addr.len)) io_die_nomem();
  if (r.notify[0] != '\0' && !env_add('N', r.notify, strlen(r.notify))) io_die_nomem();
  if (r.orcpt[0] != '\0' && !env_add('O', r.orcpt, strlen(r.orcpt))) io_die_nomem();
  rcpt_count++;
  io_reply("250 2.1.5 recipient ok\r\n");
}

/* RFC 5322 2.1.1: a line is at most 998 octets; strict receivers bounce
 * longer header lines, so a relayed message with one is refused now. */
#define HEADER_LINE_MAX 998

/* The reply that refuses the message as received so far, or NULL. */
static const char *tx_refusal(void)
{
  if (tx_toobig) return "552 5.3.4 message size exceeds fixed maximum message size\r\n";
  if (tx_data.bare && !cfg.barelf)
    return "554 5.6.0 message contains a bare CR or LF (RFC 5321 2.3.8), refused\r\n";
  if (tx_data.nul && !cfg.stripnul) return "554 5.6.0 message contains NUL bytes, refused\r\n";
  if (tx_remote && !cfg.longheaders && tx_data.hline_max > HEADER_LINE_MAX)
    return "554 5.6.0 header line longer than 998 octets (RFC 5322 2.1.1), refused\r\n";
  if (tx_data.hops > cfg.maxhops) return "554 5.4.6 too many hops, mail loop?\r\n";
  return NULL;
}

/* The message sink: qinject, unless the message is already doomed. */
static void data_put(void *cookie, const char *s, size_t len)
{
  (void)cookie;
  if (tx_discard || !tx_inject_open || tx_refusal() != NULL) return;
  inject_put(&tx_inject, s, len);
}

/* Starts the message: qinject and the Received: field. NULL ok, else the reply. */
static const char *body_start(int mode)
{
  struct received_info ri;
  char proto[16];
  char tls[200];

  smtpdata_init(&tx_data, mode, cfg.barelf, data_put, NULL);
  tx_data.stripnul = cfg.stripnul;
  if (tx_generics) tx_data.rewrite = generics_field;
  tx_data.drop = authint_drop; /* forged Authentication-Results: (qsmtpd_dkim.c) */
  tx_bytes = 0;
  tx_toobig = 0;
  if (tx_discard || conn_discard) {
    tx_discard = 1;
    return NULL;
  }
  if (inject_start(&tx_inject) == -1) {
    qwarn_sys("unable to start qinject");
    return "451 4.3.0 unable to queue the message, try again later\r\n";
  }
  tx_inject_open = 1;
  proto[0] = '\0';
  if (tx_utf8) strcpy(proto, "UTF8SMTP");
  else strcpy(proto, sess.ehlo ? "ESMTP" : "SMTP");
  if (sess.tls && (sess.ehlo || tx_utf8)) strcat(proto, "S");
  if (sess.authed && (sess.ehlo || tx_utf8)) strcat(proto, "A");
  ri.helo = sess.helo;
  ri.host = sess.host;
  ri.ip = sess.ip;
  ri.me = sess.me.s;
  ri.proto = proto;
  ri.tls = NULL;
  if (sess.tls) {
    size_t a = strlen(sess.tls_proto);
    memcpy(tls, sess.tls_proto, a);
    tls[a] = ' ';
    memcpy(tls + a + 1, sess.tls_cipher, strlen(sess.tls_cipher) + 1);
    ri.tls = tls;
  }
  ri.authuser = sess.authed ? sess.authuser : NULL;
  ri.id = tx_inject.id[0] != '\0' ? tx_inject.id : NULL;
  ri.now = (long long)time(NULL);
  if (spfcheck_header(&received) == -1) io_die_nomem(); /* RFC 7208 9.1: above our Received: */
  inject_put(&tx_inject, received.s, received.len);
  if (received_fmt(&received, &ri) == -1) io_die_nomem();
  inject_put(&tx_inject, received.s, received.len);
  return NULL;
}

/* Feeds n bytes of the client's stream (BDAT: exactly n; DATA: up to the end). */
static void body_count(size_t used)
{
  if (__builtin_add_overflow(tx_bytes, (unsigned long long)used, &tx_bytes)) tx_bytes = ~0ULL;
  if (cfg.databytes > 0 && tx_bytes > cfg.databytes) tx_toobig = 1;
}

/* 1 if the recipient of a T record (internal form) is in list (NUL
 * separated paths, with or without < >), compared without case. */
static int rcpt_listed(const stralloc *list, const char *rcpt)
{
  size_t rlen = strlen(rcpt);

  for (size_t pos = 0; pos < list->len; pos += strlen(list->s + pos) + 1) {
    const char *a = list->s + pos;
    size_t alen = strlen(a);
    if (alen >= 2 && a[0] == '<' && a[alen - 1] == '>') {
      a++;
      alen -= 2;
    }
    if (alen == rlen && strncasecmp(a, rcpt, rlen) == 0) return 1;
  }
  return 0;
}

/* The milters' recipient changes applied to the envelope (complete, with
 * its final empty record): the number of recipients left. */
static unsigned long rcpt_edit(void)
{
  static stralloc out;
  const stralloc *add;
  const stralloc *del;
  unsigned long left = 0;
  int keep = 1;

  milters_rcpts(&add, &del);
  if (add->len == 0 && del->len == 0) return rcpt_count;
  if (!stralloc_copyb(&out, envelope.s, env_rcpt_start)) io_die_nomem();
  for (size_t pos = env_rcpt_start; pos < envelope.len;) {
    const char *rec = envelope.s + pos;
    size_t n = strlen(rec) + 1;
    if (n == 1) break; /* the end of the envelope: added again below */
    if (rec[0] == 'T') {
      keep = !rcpt_listed(del, rec + 1);
      if (!keep) qlog("milter: recipient deleted: ", rec + 1);
      left += keep;
    }
    if (keep && !stralloc_catb(&out, rec, n)) io_die_nomem();
    pos += n;
  }
  for (size_t pos = 0; pos < add->len; pos += strlen(add->s + pos) + 1) {
    const char *a = add->s + pos;
    struct addr x;
    size_t alen = strlen(a);
    if (addr_parse(&x, a, alen, ADDR_ALLOW_NOBRACKET) != alen || x.at == x.len ||
        left >= cfg.maxrcpt) {
      qwarn("milter: recipient not added: ", a);
      continue;
    }
    if (out.len + x.len + 2 > MAX_ENVELOPE) break;
    if (!stralloc_append(&out, "T") || !stralloc_catb(&out, x.s, x.len + 1)) io_die_nomem();
    qlog("milter: recipient added: ", x.s);
    left++;
  }
  if (!stralloc_0(&out) || !stralloc_copy(&envelope, &out)) io_die_nomem();
  rcpt_count = left;
  return left;
}

/* A milter's new sender put into the envelope's F record (its first) and
 * the log; a sender that is no address is logged and left alone. */
static void sender_edit(void)
{
  static stralloc out;
  const char *s = milters_sender();
  struct addr x;
  size_t n;
  size_t first;

  if (s == NULL) return;
  n = strlen(s);
  if (addr_parse(&x, s, n, ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_NULL |
                 (tx_utf8 ? ADDR_ALLOW_UTF8 : 0)) != n || (!x.null && x.at == x.len)) {
    qwarn("milter: sender not changed: ", s);
    return;
  }
  first = strlen(envelope.s) + 1; /* "Fsender\0" */
  if (!stralloc_copyb(&out, "F", 1) || !stralloc_catb(&out, x.s, x.len + 1) ||
      !stralloc_catb(&out, envelope.s + first, envelope.len - first) ||
      !stralloc_copy(&envelope, &out))
    io_die_nomem();
  env_rcpt_start = env_rcpt_start - first + x.len + 2;
  qlog("milter: sender changed: <", tx_sender, "> to <", x.s, ">");
  memcpy(tx_sender, x.s, x.len + 1);
}

/* The message is complete: refuse it, drop it or queue it; reply. */
static void body_end(void)
{
  const char *r;
  unsigned long long size;

  smtpdata_finish(&tx_data);
  size = tx_data.outbytes;
  r = tx_refusal();

  if (r != NULL) {
    log_message("reject", r, size, "");
  } else if (tx_discard) {
    r = "250 2.0.0 ok: message accepted\r\n";
    log_message("discard", r, size, "");
  } else {
    static char queued[80];
    int sign = sess.authed || conn_relay || tx_relay;
    int discard = 0;

    /* qsmtpd_dkim.c: signed for our users, verified from the world */
    r = authint_message(&tx_inject, sign, !sign && !sess.submission, tx_sender);
    if (r != NULL) {
      inject_abort(&tx_inject);
      tx_inject_open = 0;
      log_message("reject", r, size, "");
      io_reply(r);
      tx_reset();
      return;
    }
    r = milters_message(&tx_inject, &discard); /* qsmtpd_milter.c */
    if (r == NULL && !discard && rcpt_edit() == 0) discard = 1; /* every recipient deleted */
    if (r == NULL && !discard) {
      sender_edit();
      inject_quarantine(&tx_inject, milters_quarantine()); /* a Q record: held */
    }
    if (r != NULL || discard) {
      inject_abort(&tx_inject);
      tx_inject_open = 0;
      if (r == NULL) r = "250 2.0.0 ok: message accepted\r\n";
      log_message(discard ? "discard" : "reject", r, size, "");
      io_reply(r);
      tx_reset();
      return;
    }
    r = inject_finish(&tx_inject, envelope.s, envelope.len);
    tx_inject_open = 0;
    if (r[0] == '2') sess.msgs++;
    if (r[0] == '2' && tx_inject.id[0] != '\0') { /* "250 2.0.0 ok: queued as ID" */
      static const char pre[] = "250 2.0.0 ok: queued as ";
      size_t n = sizeof pre - 1;
      size_t k = strnlen(tx_inject.id, QUEUE_ID_MAX - 1);

      memcpy(queued, pre, n);
      memcpy(queued + n, tx_inject.id, k);
      memcpy(queued + n + k, "\r\n", 3);
      r = queued;
    }
    log_message(r[0] == '2' ? "accept" : "reject", r, size, r[0] == '2' ? tx_inject.id : "");
    if (r[0] == '2' && milters_quarantine() != NULL)
      qlog("milter: quarantined ", tx_inject.id, ": ", milters_quarantine());
  }
  io_reply(r);
  tx_reset();
}

static void smtp_data(const char *arg, size_t len)
{
  const char *err;

  (void)arg;
  if (len > 0) {
    io_reply("501 5.5.4 syntax: DATA\r\n");
    return;
  }
  if (!seen_mail) {
    io_reply("503 5.5.1 need MAIL first\r\n");
    return;
  }
  if (tx_body_started) {
    io_reply("503 5.5.1 DATA not allowed after BDAT\r\n");
    return;
  }
  if (rcpt_count == 0) {
    io_reply(rcpt_tried > 0 ? "554 5.5.1 no valid recipients\r\n" : "503 5.5.1 need RCPT first\r\n");
    return;
  }
  if (!envelope.len || !stralloc_0(&envelope)) io_die_nomem();  /* the end of the envelope */
  if (pipelining_abuse()) /* RFC 2920 3.1: DATA ends a group; the data waits for 354 */
    refuse_pipelining("data", "554 5.5.0 improper pipelining: message data sent before the 354 reply\r\n");
  err = body_start(DATA_DOT);
  if (err != NULL) {
    log_message("reject", err, 0, 0);
    io_reply(err);
    tx_reset();
    return;
  }
  io_reply("354 go ahead, end with <CRLF>.<CRLF>\r\n");
  io_phase_data();
  while (!tx_data.done) {
    ssize_t n = buffer_feed(&io_in);
    size_t used;
    if (n == -1) io_die_read();
    if (n == 0) sess_exit("eof in data");
    used = smtpdata_feed(&tx_data, buffer_peek(&io_in), (size_t)n);
    buffer_seek(&io_in, used);
    body_count(used);
  }
  body_end();
}

/* Reads and drops n bytes of the client's stream. */
static void skip_bytes(unsigned long long n)
{
  io_phase_data();
  while (n > 0) {
    ssize_t got = buffer_feed(&io_in);
    size_t take;
    if (got == -1) io_die_read();
    if (got == 0) sess_exit("eof in data");
    take = (unsigned long long)got < n ? (size_t)got : (size_t)n;
    buffer_seek(&io_in, take);
    n -= take;
  }
}

static void smtp_bdat(const char *arg, size_t len)
{
  unsigned long long size;
  int last;
  const char *err = NULL;
  char num[FMT_ULONG];

  if (!smtp_bdat_parse(arg, len, &size, &last)) {
    io_reply("501 5.5.4 syntax: BDAT size [LAST]\r\n");
    return;
  }
  if (!seen_mail) err = "503 5.5.1 need MAIL first\r\n";
  else if (rcpt_count == 0)
    err = rcpt_tried > 0 ? "554 5.5.1 no valid recipients\r\n" : "503 5.5.1 need RCPT first\r\n";
  if (err != NULL) {
    skip_bytes(size);
    io_reply(err);
    return;
  }
  if (!tx_body_started) {
    if (!stralloc_0(&envelope)) io_die_nomem();
    err = body_start(DATA_RAW);
    if (err != NULL) {
      skip_bytes(size);
      log_message("reject", err, 0, 0);
      io_reply(err);
      tx_reset();
      return;
    }
    tx_body_started = 1;
  }
  /* RFC 3030 3: a chunk is exactly size bytes; no dot handling */
  if (cfg.databytes > 0 && size > cfg.databytes) {
    tx_toobig = 1;
    skip_bytes(size);
  } else {
    unsigned long long left = size;
    io_phase_data();
    while (left > 0) {
      ssize_t got = buffer_feed(&io_in);
      size_t take;
      if (got == -1) io_die_read();
      if (got == 0) sess_exit("eof in data");
      take = (unsigned long long)got < left ? (size_t)got : (size_t)left;
      smtpdata_feed(&tx_data, buffer_peek(&io_in), take);
      buffer_seek(&io_in, take);
      body_count(take);
      left -= take;
    }
  }
  if (last || tx_toobig) {
    body_end();
    return;
  }
  io_puts("250 2.0.0 ");
  io_puts(qlog_ulong(num, (unsigned long)size));
  io_puts(" octets received\r\n");
}

static void smtp_help(void)
{
  io_reply("214-2.0.0 qsmtpd: commands EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT\r\n"
        "214-2.0.0 VRFY HELP STARTTLS AUTH; see RFC 5321\r\n"
        "214 2.0.0 end of HELP\r\n");
}

static void command(char *line, size_t len)
{
  size_t argoff;
  int verb = smtp_verb(line, len, &argoff);
  const char *arg = line + argoff;
  size_t alen = len - argoff;

  while (alen > 0 && arg[alen - 1] == ' ') alen--; /* trailing blanks are not arguments */

  if (len + 2 > MAX_CMDLINE && verb != VERB_AUTH) {
    io_reply("500 5.5.2 line too long\r\n");
    errors++;
    return;
  }
  if (conn_rejected && verb != VERB_QUIT) {
    io_reply("503 5.5.1 connection refused, send QUIT\r\n");
    errors++;
    return;
  }
  switch (verb) {
    case VERB_HELO: smtp_helo(arg, alen, 0); break;
    case VERB_EHLO: smtp_helo(arg, alen, 1); break;
    case VERB_MAIL: smtp_mail(arg, alen); break;
    case VERB_RCPT: smtp_rcpt(arg, alen); break;
    case VERB_DATA: smtp_data(arg, alen); break;
    case VERB_BDAT: smtp_bdat(arg, alen); break;
    case VERB_RSET:
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
    /* RFC 5321 2.3.8: a command ends with CRLF, never with a bare LF */
    if (len > 0 && line[len - 1] == '\n' && (len < 2 || line[len - 2] != '\r') && !cfg.barelf) {
      qlog("reject ip=", sess.ip, " helo=", helo_text(), " bare LF in a command");
      io_reply("500 5.5.2 command ended with a bare LF (RFC 5321 2.3.8), use CRLF\r\n");
      errors++;
      continue;
    }
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
  conn_rejected = 0;
  conn_relay = 0;
  conn_ok = 0;
  conn_discard = 0;
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
  char code[ACCESS_REPLY_MAX];
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
  conn_relay = getenv("RELAYCLIENT") != NULL;
  v = getenv("QTLSD");
  sess.tlsd = (v != NULL && v[0] != '\0') ? v : NULL;
  v = getenv("IMPLICITTLS");
  if (v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && smtp_tls_implicit() == -1)
    sess_exit("tls failed");

  sess_config();
  act = access_check(ACCESS_CONNECT, ip, strlen(ip), "554", rbuf);
  if (act == ACT_NONE && sess_client_name()) /* the address first: the client controls its PTR */
    act = access_check(ACCESS_CONNECT, ip, strlen(ip), "554", rbuf);
  switch (act) {
    case -1: sess_die_config("control/access.cdb");
    case ACT_REJECT:
    case ACT_ERROR:
      conn_rejected = 1;
      qlog("reject ip=", sess.ip, " helo=- tls=none auth=- from=<> code=",
           code_text(rbuf, code, sizeof code));
      io_reply(rbuf);
      if (strncmp(rbuf, "421", 3) == 0) { /* RFC 5321 3.8: 421 closes the connection */
        io_flush();
        sess_exit("refused");
      }
      return;
    case ACT_RELAY: conn_relay = 1; break;
    case ACT_OK: conn_ok = 1; break;
    case ACT_DISCARD: conn_discard = 1; break;
    default: break;
  }
  if (pipelining_abuse()) /* RFC 5321 4.3.1: the client waits for the greeting */
    refuse_pipelining("early", "554 5.5.0 improper pipelining: commands sent before the greeting\r\n");
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
    if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1) qdie_sys(111, "unable to close the connection");
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
