/*
 * qsmtpd_envelope: MAIL and RCPT, the envelope of a transaction (struct
 * tx, qsmtpd.h). MAIL: the sender an authenticated user may use
 * (control/authsender), the access rules (From:), generics for
 * submission (qsmtpd_generics.c), SPF (qsmtpd_spf.c) and the milters;
 * then the F, V, X records. RCPT: a recipient given before is taken
 * once, postmaster always, the access rules (To:), the users and aliases
 * of the local domains, control/rcpthosts and relay permission (fails
 * closed), the milters; then the T, N, O records. Every refusal is logged (log_reject) and answered with one
 * literal; a map that cannot be read is a 451.
 */
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stralloc.h>

#include "access.h"
#include "accounts.h"
#include "addr.h"
#include "aliases.h"
#include "cdbmap.h"
#include "ctl.h"
#include "qlog.h"
#include "qsmtpd.h"
#include "users.h"

static stralloc scratch; /* lookups */

/* One record of the envelope: tag, s, NUL. 0: out of memory. */
static int env_add(char tag, const char *s, size_t len)
{
  if (!stralloc_append(&tx.envelope, &tag)) return 0;
  if (!stralloc_catb(&tx.envelope, s, len)) return 0;
  return stralloc_0(&tx.envelope);
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

/* A catch-all ("@domain") that the local part may not go into (one of
 * its targets refuses it: aliases_subst), or whose one target is an
 * address at a local domain that has no user and no alias of its own
 * ("%1@other.example" with no such user there): 1, since taking the
 * message would only bounce it later to a sender who may be forged; 0
 * otherwise; -1 lookup error. */
static int catchall_dead_end(const char *rcpt, size_t len, const stralloc *val)
{
  static stralloc t;
  static stralloc v;
  const char *at = memrchr(rcpt, '@', len); /* a quoted local part may hold '@' */
  const char *dom;
  size_t dlen;
  size_t i;
  int kind;
  int r;

  if (at == NULL || val->len == 0) return 0;
  /* a local part that may not go into a target ("|cmd" into "%1@x"):
   * no such user, as delivery would say (aliases_subst) */
  for (i = 0; i < val->len; i += strlen(val->s + i) + 1) {
    t.len = 0;
    r = aliases_subst(&t, val->s + i, rcpt, (size_t)(at - rcpt));
    if (r == -1) io_die_nomem();
    if (r == 1) return 1;
  }
  if (strlen(val->s) + 1 != val->len) return 0; /* one target */
  if (strchr("|/\\:\"", val->s[0]) != NULL || strncasecmp(val->s, "error:", 6) == 0) return 0;
  t.len = 0;
  if (aliases_subst(&t, val->s, rcpt, (size_t)(at - rcpt)) == -1) io_die_nomem();
  t.len--; /* the NUL */
  if (memchr(t.s, '@', t.len) == NULL) return 0; /* a bare name: the alias loops, qlocal says so */
  dom = addr_domain(t.s, t.len, &dlen);
  if (dlen == 0 || !ctl_domainmatch(&cfg.locals, dom, dlen)) return 0; /* relayed: not ours to judge */
  r = lookup_user(t.s, t.len);
  if (r != 0) return r == -1 ? -1 : 0;
  v.len = 0;
  r = aliases_find(t.s, t.len, 1, &v, &kind);
  if (r == -1) return -1;
  /* an alias of its own, or another domain's catch-all (not this one again) */
  return r == 0 || (kind == 'c' && dlen == len - (size_t)(at + 1 - rcpt) &&
                    strncasecmp(dom, at + 1, dlen) == 0);
}

/* On a root instance (QHOME is root's: qsmtpd runs in it), a login
 * account of the me domain, whose mail qlspawn puts in ~/Maildir/: 1, or 0. */
static int login_here(const char *local, size_t len, const char *dom, size_t dlen)
{
  static int root = -1;
  struct passwd_entry pe;

  if (root == -1) {
    struct stat st;
    root = stat(".", &st) == 0 && st.st_uid == 0;
  }
  return root && dlen == sess.me.len - 1 && strncasecmp(dom, sess.me.s, dlen) == 0 &&
         accounts_login(local, len, &pe) == 1;
}

/* ---- access map ---- */

int smtp_access(int kind, const char *key, size_t len, const char *def, char *rbuf)
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

/* ---- MAIL ---- */

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

void smtp_mail(const char *arg, size_t len)
{
  struct mail_args m;
  const char *err;
  char rbuf[ACCESS_REPLY_MAX];

  if (!sess.seen_helo) {
    io_reply("503 5.5.1 send HELO or EHLO first\r\n");
    return;
  }
  if (tx.seen_mail) {
    io_reply("503 5.5.1 nested MAIL command\r\n");
    return;
  }
  sess_stop_check(); /* qsmtpd.c: the listener stopped: 421 */
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
  memcpy(tx.sender, m.addr.s, m.addr.len + 1);
  if (cfg.databytes > 0 && m.size > cfg.databytes) {
    err = "552 5.3.4 message size exceeds fixed maximum message size\r\n";
    log_reject(NULL, err);
    io_reply(err);
    tx.sender[0] = '\0';
    return;
  }
  if (sess.authed && cfg.authsender != 0) {
    /* the null sender names no one: it is what an MDN (RFC 8098 2.1) or an
     * auto-reply (RFC 3834 3.3) must be sent from, and the login stays on
     * the Authentication-Results and in the log */
    int own = m.addr.null ? 1
              : cfg.authsender == 1 ? sender_owned(m.addr.s, m.addr.len, sess.authuser)
                                : same_domain(m.addr.s, sess.authuser);
    if (own == -1) {
      io_reply("451 4.3.0 temporary lookup failure\r\n");
      tx.sender[0] = '\0';
      return;
    }
    if (!own) {
      err = "553 5.7.1 sender address not owned by the authenticated user\r\n";
      log_reject(NULL, err);
      io_reply(err);
      tx.sender[0] = '\0';
      return;
    }
  }
  /* the null sender is looked up as "<>" (qnewmaps(8)) */
  if (!sess.access_ok) {
    switch (smtp_access(ACCESS_FROM, m.addr.s, m.addr.null ? 0 : m.addr.len, "550", rbuf)) {
      case -1:
        io_reply("451 4.3.0 temporary lookup failure\r\n");
        tx.sender[0] = '\0';
        return;
      case ACT_REJECT:
      case ACT_ERROR:
        log_reject(NULL, rbuf);
        io_reply(rbuf);
        tx.sender[0] = '\0';
        return;
      case ACT_RELAY: tx.relay = 1; break;
      case ACT_OK: tx.access_ok = 1; break;
      case ACT_DISCARD: tx.discard = 1; break;
      default: break;
    }
  }
  tx.generics = 0;
  if (sess.authed && cfg.submission_generics) { /* qsmtpd_generics.c */
    if (generics_start(&sess.me) == -1 || generics_sender(m.addr.s, sizeof m.addr.s) == -1) {
      io_reply("451 4.3.0 unable to read control/generics or masquerading\r\n");
      tx.sender[0] = '\0';
      return;
    }
    m.addr.len = strlen(m.addr.s);
    memcpy(tx.sender, m.addr.s, m.addr.len + 1);
    tx.generics = 1;
  }
  err = spfcheck_mail(m.addr.null ? "" : m.addr.s); /* qsmtpd_spf.c */
  if (err != NULL) {
    log_reject(NULL, err);
    io_reply(err);
    tx.sender[0] = '\0';
    return;
  }
  err = milters_mail(m.addr.null ? "" : m.addr.s);
  if (err != NULL) {
    log_reject(NULL, err);
    io_reply(err);
    tx.sender[0] = '\0';
    return;
  }
  tx.envelope.len = 0;
  if (!env_add('F', m.addr.s, m.addr.len)) io_die_nomem();
  if (m.ret[0] != '\0' && !env_add('V', m.ret, 4)) io_die_nomem();
  if (m.has_envid && !env_add('X', m.envid, strlen(m.envid))) io_die_nomem();
  tx.env_rcpt_start = tx.envelope.len;
  tx.seen_mail = 1;
  tx.utf8 = m.smtputf8;
  io_reply("250 2.1.0 sender ok\r\n");
}

/* ---- RCPT ---- */

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
  int kind;

  *rcpt_relay = 0;
  dom = addr_domain(a->s, a->len, &dlen);
  local = dlen > 0 && ctl_domainmatch(&cfg.locals, dom, dlen);
  /* RFC 5321 4.5.1: postmaster, bare (made postmaster@me) or at a local domain, always */
  if (is_postmaster(a->s, a->at) &&
      (local || (dlen == sess.me.len - 1 && strncasecmp(dom, sess.me.s, dlen) == 0)))
    return NULL;

  if (!sess.access_ok && !tx.access_ok) {
    switch (smtp_access(ACCESS_TO, a->s, a->len, "550", rbuf)) {
      case -1: return "451 4.3.0 temporary lookup failure\r\n";
      case ACT_REJECT:
      case ACT_ERROR: return rbuf;
      case ACT_RELAY: *rcpt_relay = 1; break;
      case ACT_DISCARD: tx.discard = 1; break;
      default: break;
    }
  }
  if (a->at == a->len) return "550 5.1.1 unknown user\r\n"; /* a bare name other than postmaster */

  if (local) {
    int f = lookup_user(a->s, a->len);
    if (f == -1) return "451 4.3.0 temporary lookup failure\r\n";
    if (f == 1) return NULL;
    if (!stralloc_copys(&scratch, "")) io_die_nomem();
    f = aliases_find(a->s, a->len, 1, &scratch, &kind);
    if (f == -1) return "451 4.3.0 temporary lookup failure\r\n";
    if (f == 1) {
      size_t first = scratch.len > 0 ? strnlen(scratch.s, scratch.len) : 0;
      if (policy_alias_error(scratch.s, first, rbuf, ACCESS_REPLY_MAX)) return rbuf;
      if (kind != 'c') return NULL;
      switch (catchall_dead_end(a->s, a->len, &scratch)) {
        case -1: return "451 4.3.0 temporary lookup failure\r\n";
        case 1: return "550 5.1.1 unknown user\r\n";
        default: return NULL;
      }
    }
    if (login_here(a->s, a->at, dom, dlen)) return NULL;
    return "550 5.1.1 unknown user\r\n";
  }
  if (dlen > 0 && ctl_domainmatch(&cfg.rcpthosts, dom, dlen)) return NULL;
  if (sess.relay || sess.authed || tx.relay || *rcpt_relay) return NULL;
  return "554 5.7.1 relaying denied\r\n";
}

/* 1 if rcpt is a recipient of the transaction already: compared without
 * case when it is delivered here (local delivery finds mailboxes so),
 * byte for byte when relayed (another host's local parts may differ by
 * case alone, RFC 5321 2.4). */
static int rcpt_seen(const char *rcpt, size_t len, int local)
{
  size_t pos = tx.env_rcpt_start;

  while (pos < tx.envelope.len) {
    const char *rec = tx.envelope.s + pos;
    size_t rlen = strnlen(rec, tx.envelope.len - pos);
    if (rec[0] == 'T' && rlen == len + 1 &&
        (local ? strncasecmp(rec + 1, rcpt, len) : memcmp(rec + 1, rcpt, len)) == 0)
      return 1;
    pos += rlen + 1;
  }
  return 0;
}

void smtp_rcpt(const char *arg, size_t len)
{
  struct rcpt_args r;
  const char *err;
  char rbuf[ACCESS_REPLY_MAX];
  int rcpt_relay;
  int local;
  size_t need;

  if (!tx.seen_mail) {
    io_reply("503 5.5.1 need MAIL first\r\n");
    return;
  }
  if (tx.body_started) {
    io_reply("503 5.5.1 RCPT not allowed after BDAT\r\n");
    return;
  }
  tx.rcpt_tried++;
  if (tx.rcpt_count + tx.rcpt_dups >= cfg.maxrcpt) {
    io_reply("452 4.5.3 too many recipients\r\n");
    return;
  }
  err = smtp_rcpt_parse(&r, arg, len, sess.ehlo, tx.utf8);
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
  local = r.addr.at != r.addr.len &&
          ctl_islocal(&cfg.locals, sess.me.s, sess.me.len - 1, r.addr.s, r.addr.len);
  if (rcpt_seen(r.addr.s, r.addr.len, local)) {
    /* the same mailbox again: one copy, not one per RCPT (a message
     * multiplied in a mailbox); the first RCPT's DSN parameters stay */
    tx.rcpt_dups++;
    io_reply("250 2.1.5 recipient ok\r\n");
    return;
  }
  need = r.addr.len + strlen(r.notify) + strlen(r.orcpt) + 8;
  if (tx.envelope.len + need > MAX_ENVELOPE) {
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
  if (!local) tx.remote = 1; /* relayed, as qsend will decide (ctl_islocal) */
  if (!env_add('T', r.addr.s, r.addr.len)) io_die_nomem();
  if (r.notify[0] != '\0' && !env_add('N', r.notify, strlen(r.notify))) io_die_nomem();
  if (r.orcpt[0] != '\0' && !env_add('O', r.orcpt, strlen(r.orcpt))) io_die_nomem();
  tx.rcpt_count++;
  io_reply("250 2.1.5 recipient ok\r\n");
}

