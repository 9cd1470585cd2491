/*
 * qinject_dkim: what QMTA_DKIM asks of the end of a filter chain
 * (qinject_dkim.h): signing through lib/queue_sign, verification through
 * lib/queue_verify, the policy of qsmtpd_dkim.c. Run inside qinject, as
 * its caller (the session account when qsmtpd spawned the chain).
 */
#include <errno.h>
#include <string.h>

#include "authres.h"
#include "dkimc.h"
#include "qinject_dkim.h"
#include "qinject_env.h"
#include "qlog.h"

#define DKIMREQ_MAX DKIMP_REQ_MAX /* bytes of QMTA_DKIMREQ read */

/* the keys of QMTA_DKIMREQ passed on to the verifier (dkimproto.h) */
static const char *const verify_keys[] = {"id", "ip", "helo", "from", "spf", "spfd", "spfhelo"};

int qinject_dkim_field(const char *req, const char *key, char *val, size_t size)
{
  size_t klen = strlen(key);
  size_t len;
  size_t pos = 0;

  if (req == NULL || size == 0) return 0;
  len = strnlen(req, DKIMREQ_MAX);
  while (pos < len) {
    const char *line = req + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

    pos += n + 1;
    if (n > klen && memcmp(line, key, klen) == 0 && line[klen] == ' ') {
      size_t vlen = n - klen - 1;
      if (vlen >= size) vlen = size - 1;
      memcpy(val, line + klen + 1, vlen);
      val[vlen] = '\0';
      return 1;
    }
  }
  return 0;
}

static void say(char *err, const char *a, const char *b, const char *c)
{
  size_t n = 0;
  const char *parts[3] = {a, b, c};

  for (int i = 0; i < 3; i++) {
    size_t k;

    if (parts[i] == NULL) continue;
    k = strnlen(parts[i], QINJECT_DKIM_ERR_MAX - 1 - n);
    memcpy(err + n, parts[i], k);
    n += k;
  }
  err[n] = '\0';
}

/* The login's Authentication-Results field, RFC 8601 2.7.4, on top */
static int auth_field(struct queue_writer *w, const char *req)
{
  char id[DKIMP_VALUE_MAX + 1];
  char user[DKIMP_VALUE_MAX + 1];
  char ar[AUTHRES_MAX];
  struct authres b;
  long n;

  if (!qinject_dkim_field(req, "auth", user, sizeof user)) return 0;
  if (!qinject_dkim_field(req, "id", id, sizeof id)) {
    qwarn("message ", w->id, ": no authserv-id in QMTA_DKIMREQ: no auth=pass field");
    return 0;
  }
  authres_start(&b, ar, sizeof ar, id);
  authres_add(&b, "auth", "pass", "smtp.auth", user);
  n = authres_end(&b);
  if (n <= 0) {
    qwarn("message ", w->id, ": unable to write the auth=pass field for ", user);
    return 0;
  }
  return queue_insert(w, ar, (size_t)n);
}

static int sign(struct queue_writer *w, const char *req, char *err)
{
  const char *why;
  const char *note;

  /* a signer still starting gets the 2 s qsmtpd gives it: its failure
   * refuses the message for now */
  switch (queue_sign(w, 2000, &why, &note)) {
    case -1: return -1;
    case 1:
      if (note != NULL) qwarn("message ", w->id, " not signed: ", why, ": ", note);
      else qwarn_sys("message ", w->id, " not signed: ", why);
      say(err, "unable to sign the message now, try again later (#4.7.0)", NULL, NULL);
      return QQ_UNSIGNED;
  }
  return auth_field(w, req) == -1 ? -1 : QQ_OK;
}

static int verify(struct queue_writer *w, const char *req, char *err)
{
  char lines[DKIMREQ_MAX];
  char val[DKIMP_VALUE_MAX + 1];
  size_t len = 0;
  const char *why;
  const char *note;

  for (size_t i = 0; i < sizeof verify_keys / sizeof verify_keys[0]; i++) {
    if (qinject_dkim_field(req, verify_keys[i], val, sizeof val) &&
        dkimc_add(lines, sizeof lines, &len, verify_keys[i], val) == -1) {
      qwarn("message ", w->id, " not verified: QMTA_DKIMREQ too long");
      return QQ_OK;
    }
  }
  switch (queue_verify(w, lines, len, &why, &note)) {
    case -1: return -1;
    case 0:
      qlog("message ", w->id, " verified: ", note);
      return QQ_OK;
    case 2:
      qlog("message ", w->id, " refused: ", note);
      say(err, "DMARC policy of the From domain: rejected (", note, ") (#5.7.1)");
      return QQ_DKIM_REJECT;
  }
  if (why == NULL) return QQ_OK; /* no verifier on this instance */
  if (note != NULL && note[0] != '\0')
    qwarn("message ", w->id, " queued without Authentication-Results: ", why, ": ", note);
  else
    qwarn_sys("message ", w->id, " queued without Authentication-Results: ", why);
  return QQ_OK;
}

int qinject_dkim(struct queue_writer *w, const char *mode, const char *req, char *err)
{
  err[0] = '\0';
  if (!strcmp(mode, "sign")) return sign(w, req, err);
  if (!strcmp(mode, "verify")) return verify(w, req, err);
  qwarn("message ", w->id, ": QMTA_DKIM=", mode, " unknown: nothing done");
  return QQ_OK;
}
