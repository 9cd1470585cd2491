/*
 * qsmtpd_log: the log lines qsmtpd writes about its clients, one function
 * per kind, so that their fields are written in one place (qsmtpd.8
 * describes them): a refused command (log_reject), the end of a message
 * (log_message: accept, reject, discard), the end of a session
 * (log_session), improper pipelining, a bare LF in a command, a client
 * refused by the access rules. Each is one qlog line on fd 2, cut at
 * QLOG_MAX bytes.
 */
#include <string.h>

#include <fmt.h>
#include <stralloc.h>

#include "qlog.h"
#include "qsmtpd.h"

static stralloc rcpts; /* log_message's to= */

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

void log_reject(const char *rcpt, const char *r)
{
  char tls[200];
  char code[ACCESS_REPLY_MAX];
  char from[QLOG_WORD_MAX];
  char to[QLOG_WORD_MAX];

  /* addresses as words: a quoted local part's blanks forge no field */
  qlog_word(from, sizeof from, tx.sender);
  if (rcpt != NULL)
    qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
         " auth=", auth_text(), " from=<", from, "> rcpt=<", qlog_word(to, sizeof to, rcpt),
         "> code=", code_text(r, code, sizeof code));
  else
    qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
         " auth=", auth_text(), " from=<", from, "> code=", code_text(r, code, sizeof code));
}

/* The recipients of the envelope as "<a>,<b>" (cut by qlog's line limit). */
static void rcpt_list(stralloc *sa)
{
  size_t i = tx.env_rcpt_start;

  stralloc_copys(sa, "");
  while (i < tx.envelope.len) {
    const char *rec = tx.envelope.s + i;
    size_t n = strlen(rec);
    if (rec[0] == 'T' && sa->len < QLOG_MAX) {
      char word[QLOG_WORD_MAX];
      if (sa->len > 0) stralloc_append(sa, ",");
      stralloc_append(sa, "<");
      stralloc_cats(sa, qlog_word(word, sizeof word, rec + 1));
      stralloc_append(sa, ">");
    }
    i += n + 1;
  }
  stralloc_0(sa);
}

void log_message(const char *what, const char *r, unsigned long long size, const char *id)
{
  char tls[200];
  char code[ACCESS_REPLY_MAX];
  char n1[FMT_ULONG];
  char n2[FMT_ULONG];
  char from[QLOG_WORD_MAX];

  rcpt_list(&rcpts);
  qlog(what, " ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
       " auth=", auth_text(), " from=<", qlog_word(from, sizeof from, tx.sender), "> rcpts=", qlog_ulong(n1, tx.rcpt_count),
       " size=", qlog_ulong(n2, (unsigned long)size), id[0] != '\0' ? " id=" : "", id,
       " to=", rcpts.s != NULL ? rcpts.s : "", authint_log(), " code=",
       code_text(r, code, sizeof code));
}

void log_session(const char *why)
{
  char tls[200];
  char n[FMT_ULONG];

  qlog("session ip=", sess.ip, " helo=", helo_text(), " tls=", tls_text(tls, sizeof tls),
       " auth=", auth_text(), " msgs=", qlog_ulong(n, sess.msgs), " end=", why);
}

void log_pipelining(const char *what, const char *r)
{
  char code[ACCESS_REPLY_MAX];
  char from[QLOG_WORD_MAX];

  qlog("reject ip=", sess.ip, " helo=", helo_text(), " tls=", sess.tls ? "yes" : "none",
       " auth=- from=<", qlog_word(from, sizeof from, tx.sender), "> pipelining=", what, " code=",
       code_text(r, code, sizeof code));
}

void log_refused(const char *r)
{
  char code[ACCESS_REPLY_MAX];

  qlog("reject ip=", sess.ip, " helo=- tls=none auth=- from=<> code=",
       code_text(r, code, sizeof code));
}
