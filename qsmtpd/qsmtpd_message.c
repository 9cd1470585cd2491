/*
 * qsmtpd_message: DATA and BDAT, the message of a transaction (struct tx,
 * qsmtpd.h). The bytes go through the transport and header filter
 * (qsmtpd_data.c) into the queue file (qsmtpd_inject.c) under a
 * Received-SPF: and our Received: field, unless the message is already
 * doomed (too big, bare CR or LF, NUL bytes, a header line over 998
 * octets for a relayed message, too many hops: tx_refusal) or dropped
 * (access DISCARD). At the end of data: signing or verification and
 * their fields (qsmtpd_dkim.c), the milters (qsmtpd_milter.c) with their
 * edits of the recipients and the sender and a quarantine, then the
 * envelope written and the file committed (inject_finish: fsync, rename
 * into queue/new) before the 250; the message's log line either way.
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "addr.h"
#include "datefmt.h"
#include "msgid.h"
#include "qlog.h"
#include "qsmtpd.h"

static stralloc received; /* Received-SPF: and Received: */

/* RFC 5322 2.1.1: a line is at most 998 octets; strict receivers bounce
 * longer header lines, so a relayed message with one is refused now. */
#define HEADER_LINE_MAX 998

/* The reply that refuses the message as received so far, or NULL. */
static const char *tx_refusal(void)
{
  if (tx.toobig) return "552 5.3.4 message size exceeds fixed maximum message size\r\n";
  if (tx.data.bare && !cfg.barelf)
    return "554 5.6.0 message contains a bare CR or LF (RFC 5321 2.3.8), refused\r\n";
  if (tx.data.nul && !cfg.stripnul) return "554 5.6.0 message contains NUL bytes, refused\r\n";
  if (tx.remote && !cfg.longheaders && tx.data.hline_max > HEADER_LINE_MAX)
    return "554 5.6.0 header line longer than 998 octets (RFC 5322 2.1.1), refused\r\n";
  if (tx.data.hops > cfg.maxhops) return "554 5.4.6 too many hops, mail loop?\r\n";
  return NULL;
}

/* The message sink: qinject, unless the message is already doomed. */
static void data_put(void *cookie, const char *s, size_t len)
{
  (void)cookie;
  if (tx.discard || !tx.inject_open || tx_refusal() != NULL) return;
  inject_put(&tx.inject, s, len);
}

/* The smtpdata hook for mail from an authenticated client (RFC 6409 8.2,
 * 8.3; as the sendmail front end does for mail sent on this host): a
 * Date: (local time) and a Message-ID: (the queue id at control/me) for
 * a header without them. */
static size_t missing_fields(void *cookie, int seen, const char **out)
{
  /* "Date: " and a date (47), "Message-ID: <" (13), an id (at most 51:
   * the fallback's three numbers), "@", me (at most 255), ">\n" */
  static char buf[512];
  char date[DATE822_MAX];
  size_t n = 0;
  size_t len;

  (void)cookie;
  *out = buf;
  if (!(seen & DATA_SEEN_DATE)) {
    time_t now = time(NULL);
    len = date822_fmt(date, now, 1);
    if (len == 0) len = date822_fmt(date, now, 0);
    if (len > 0) {
      memcpy(buf + n, "Date: ", 6);
      n += 6;
      memcpy(buf + n, date, len);
      n += len;
      buf[n++] = '\n';
    }
  }
  len = strlen(sess.me.s);
  if (!(seen & DATA_SEEN_MSGID) && len <= 255) {
    memcpy(buf + n, "Message-ID: <", 13);
    n += 13;
    if (tx.inject.id[0] != '\0') { /* unique here: a time and an inode */
      size_t idlen = strlen(tx.inject.id);
      memcpy(buf + n, tx.inject.id, idlen);
      n += idlen;
    } else { /* behind a QINJECT filter: no id yet */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      n += msgid_local(buf + n, &ts);
    }
    buf[n++] = '@';
    memcpy(buf + n, sess.me.s, len);
    n += len;
    buf[n++] = '>';
    buf[n++] = '\n';
  }
  return n;
}

/* Starts the message: qinject and the Received: field. NULL ok, else the reply. */
static const char *body_start(int mode)
{
  struct received_info ri;
  char proto[16];
  char tls[200];

  smtpdata_init(&tx.data, mode, cfg.barelf, data_put, NULL);
  tx.data.stripnul = cfg.stripnul;
  if (tx.generics) tx.data.rewrite = generics_field;
  if (sess.authed) tx.data.missing = missing_fields;
  tx.data.drop = authint_drop; /* forged Authentication-Results: (qsmtpd_dkim.c) */
  tx.bytes = 0;
  tx.toobig = 0;
  if (tx.discard || sess.discard) {
    tx.discard = 1;
    return NULL;
  }
  if (inject_start(&tx.inject) == -1) {
    qwarn_sys("unable to start qinject");
    return "451 4.3.0 unable to queue the message, try again later\r\n";
  }
  tx.inject_open = 1;
  proto[0] = '\0';
  if (tx.utf8) strcpy(proto, "UTF8SMTP");
  else strcpy(proto, sess.ehlo ? "ESMTP" : "SMTP");
  if (sess.tls && (sess.ehlo || tx.utf8)) strcat(proto, "S");
  if (sess.authed && (sess.ehlo || tx.utf8)) strcat(proto, "A");
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
  ri.id = tx.inject.id[0] != '\0' ? tx.inject.id : NULL;
  ri.now = (long long)time(NULL);
  if (spfcheck_header(&received) == -1) io_die_nomem(); /* RFC 7208 9.1: above our Received: */
  inject_put(&tx.inject, received.s, received.len);
  if (received_fmt(&received, &ri) == -1) io_die_nomem();
  inject_put(&tx.inject, received.s, received.len);
  return NULL;
}

/* Counts used bytes of the message (BDAT: the chunk; DATA: without the
 * stuffing dots and the final dot line) against databytes. */
static void body_count(size_t used)
{
  if (__builtin_add_overflow(tx.bytes, (unsigned long long)used, &tx.bytes)) tx.bytes = ~0ULL;
  if (cfg.databytes > 0 && tx.bytes > cfg.databytes) tx.toobig = 1;
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
  if (add->len == 0 && del->len == 0) return tx.rcpt_count;
  if (!stralloc_copyb(&out, tx.envelope.s, tx.env_rcpt_start)) io_die_nomem();
  for (size_t pos = tx.env_rcpt_start; pos < tx.envelope.len;) {
    const char *rec = tx.envelope.s + pos;
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
  if (!stralloc_0(&out) || !stralloc_copy(&tx.envelope, &out)) io_die_nomem();
  tx.rcpt_count = left;
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
                 (tx.utf8 ? ADDR_ALLOW_UTF8 : 0)) != n || (!x.null && x.at == x.len)) {
    qwarn("milter: sender not changed: ", s);
    return;
  }
  first = strlen(tx.envelope.s) + 1; /* "Fsender\0" */
  if (!stralloc_copyb(&out, "F", 1) || !stralloc_catb(&out, x.s, x.len + 1) ||
      !stralloc_catb(&out, tx.envelope.s + first, tx.envelope.len - first) ||
      !stralloc_copy(&tx.envelope, &out))
    io_die_nomem();
  tx.env_rcpt_start = tx.env_rcpt_start - first + x.len + 2;
  qlog("milter: sender changed: <", tx.sender, "> to <", x.s, ">");
  memcpy(tx.sender, x.s, x.len + 1);
}

/* The message is complete: refuse it, drop it or queue it; reply. */
static void body_end(void)
{
  const char *r;
  unsigned long long size;

  smtpdata_finish(&tx.data);
  size = tx.data.outbytes;
  r = tx_refusal();

  if (r != NULL) {
    log_message("reject", r, size, "");
  } else if (tx.discard) {
    r = "250 2.0.0 ok: message accepted\r\n";
    log_message("discard", r, size, "");
  } else {
    static char queued[80];
    int discard = 0;

    /* qsmtpd_dkim.c: signed for our users, verified from the world */
    r = authint_message(&tx.inject, tx.sender);
    if (r != NULL) {
      inject_abort(&tx.inject);
      tx.inject_open = 0;
      log_message("reject", r, size, "");
      io_reply(r);
      tx_reset();
      return;
    }
    r = milters_message(&tx.inject, &discard); /* qsmtpd_milter.c */
    if (r == NULL && !discard && rcpt_edit() == 0) discard = 1; /* every recipient deleted */
    if (r == NULL && !discard) {
      sender_edit();
      inject_quarantine(&tx.inject, milters_quarantine()); /* a Q record: held */
    }
    if (r != NULL || discard) {
      inject_abort(&tx.inject);
      tx.inject_open = 0;
      if (r == NULL) r = "250 2.0.0 ok: message accepted\r\n";
      log_message(discard ? "discard" : "reject", r, size, "");
      io_reply(r);
      tx_reset();
      return;
    }
    r = inject_finish(&tx.inject, tx.envelope.s, tx.envelope.len);
    tx.inject_open = 0;
    if (r[0] == '2') sess.msgs++;
    if (r[0] == '2' && tx.inject.id[0] != '\0') { /* "250 2.0.0 ok: queued as ID" */
      static const char pre[] = "250 2.0.0 ok: queued as ";
      size_t n = sizeof pre - 1;
      size_t k = strnlen(tx.inject.id, QUEUE_ID_MAX - 1);

      memcpy(queued, pre, n);
      memcpy(queued + n, tx.inject.id, k);
      memcpy(queued + n + k, "\r\n", 3);
      r = queued;
    }
    log_message(r[0] == '2' ? "accept" : "reject", r, size, r[0] == '2' ? tx.inject.id : "");
    if (r[0] == '2' && milters_quarantine() != NULL)
      qlog("milter: quarantined ", tx.inject.id, ": ", milters_quarantine());
  }
  io_reply(r);
  tx_reset();
}

void smtp_data(const char *arg, size_t len)
{
  const char *err;

  (void)arg;
  if (len > 0) {
    io_reply("501 5.5.4 syntax: DATA\r\n");
    return;
  }
  if (!tx.seen_mail) {
    io_reply("503 5.5.1 need MAIL first\r\n");
    return;
  }
  if (tx.body_started) {
    io_reply("503 5.5.1 DATA not allowed after BDAT\r\n");
    return;
  }
  if (tx.rcpt_count == 0) {
    io_reply(tx.rcpt_tried > 0 ? "554 5.5.1 no valid recipients\r\n"
                               : "503 5.5.1 need RCPT first\r\n");
    return;
  }
  if (!tx.envelope.len || !stralloc_0(&tx.envelope)) io_die_nomem();  /* the end of the envelope */
  if (sess_pipelining_abuse()) /* RFC 2920 3.1: DATA ends a group; the data waits for 354 */
    sess_pipelining_refuse(
        "data", "554 5.5.0 improper pipelining: message data sent before the 354 reply\r\n");
  err = body_start(DATA_DOT);
  if (err != NULL) {
    log_message("reject", err, 0, "");
    io_reply(err);
    tx_reset();
    return;
  }
  io_reply("354 go ahead, end with <CRLF>.<CRLF>\r\n");
  io_phase_data();
  while (!tx.data.done) {
    ssize_t n = buffer_feed(&io_in);
    unsigned long long before = tx.data.size;
    size_t used;
    if (n == -1) io_die_read();
    if (n == 0) sess_exit("eof in data");
    used = smtpdata_feed(&tx.data, buffer_peek(&io_in), (size_t)n);
    buffer_seek(&io_in, used);
    body_count((size_t)(tx.data.size - before)); /* RFC 1870: what SIZE and databytes measure */
  }
  body_end();
}

/* Reads n bytes of the client's stream (RFC 3030 3: a chunk is exactly
 * its size; no dot handling): into the message when keep, else dropped. */
static void take_bytes(unsigned long long n, int keep)
{
  io_phase_data();
  while (n > 0) {
    ssize_t got = buffer_feed(&io_in);
    size_t take;
    if (got == -1) io_die_read();
    if (got == 0) sess_exit("eof in data");
    take = (unsigned long long)got < n ? (size_t)got : (size_t)n;
    if (keep) smtpdata_feed(&tx.data, buffer_peek(&io_in), take);
    buffer_seek(&io_in, take);
    if (keep) body_count(take);
    n -= take;
  }
}

static void skip_bytes(unsigned long long n)
{
  take_bytes(n, 0);
}

void smtp_bdat(const char *arg, size_t len)
{
  unsigned long long size;
  int last;
  const char *err = NULL;
  char num[FMT_ULONG];

  if (!smtp_bdat_parse(arg, len, &size, &last)) {
    io_reply("501 5.5.4 syntax: BDAT size [LAST]\r\n");
    return;
  }
  if (!tx.seen_mail) err = "503 5.5.1 need MAIL first\r\n";
  else if (tx.rcpt_count == 0)
    err = tx.rcpt_tried > 0 ? "554 5.5.1 no valid recipients\r\n" : "503 5.5.1 need RCPT first\r\n";
  if (err != NULL) {
    skip_bytes(size);
    io_reply(err);
    return;
  }
  if (!tx.body_started) {
    if (!stralloc_0(&tx.envelope)) io_die_nomem();
    err = body_start(DATA_RAW);
    if (err != NULL) {
      skip_bytes(size);
      log_message("reject", err, 0, "");
      io_reply(err);
      tx_reset();
      return;
    }
    tx.body_started = 1;
  }
  if (cfg.databytes > 0 && size > cfg.databytes) {
    tx.toobig = 1;
    skip_bytes(size);
  } else {
    take_bytes(size, 1);
  }
  if (last || tx.toobig) {
    body_end();
    return;
  }
  io_puts("250 2.0.0 ");
  io_puts(qlog_ulong(num, (unsigned long)size));
  io_puts(" octets received\r\n");
}
