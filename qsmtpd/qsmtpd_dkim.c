/*
 * qsmtpd_dkim: DKIM signing, DKIM and DMARC verification and the
 * Authentication-Results field, through qdkimd (dkimproto.h), once the
 * whole message is in the queue file and before its envelope.
 *
 *   sign (authenticated or relay clients): qdkimd -s at run/dkimsign
 *     answers the DKIM-Signature fields for the From domain's keys (none
 *     when it has no key); above them goes "Authentication-Results: ID;
 *     auth=pass smtp.auth=USER" for an authenticated session. When
 *     control/dkim exists and the signer cannot be reached or fails, the
 *     message is refused with 451 4.7.0: nothing leaves unsigned that has
 *     a key. (control/dkim is root:qmta-dkim 0750: qsmtpd sees only that
 *     it exists.)
 *   verify (port 25, other clients): qdkimd -v at run/dkimverify answers
 *     the A-R field (spf, dkim, dmarc) and, for a DMARC quarantine,
 *     X-DMARC-Quarantine: yes; R (DMARC reject with control/dmarcreject)
 *     refuses the message with 550 5.7.1. A verifier that cannot be
 *     reached or fails: the message is accepted without the field, and
 *     the log says dkim=unavailable.
 * The connection to each service is kept for the life of the process,
 * across messages and sessions; after a failure it is made again once
 * for the same message (the service may have restarted).
 * With QINJECT set (or when qsmtpd cannot write the queue itself) the
 * message goes through a pipe to a program that ends in qinject: nothing
 * is done here after the data; authint_env tells that program's
 * environment what qinject must do instead, with the same policy
 * (QMTA_DKIM and QMTA_DKIMREQ, qinject/qinject_dkim.h), and
 * qsmtpd_inject.c maps qinject's exit codes for it to the same replies.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <stralloc.h>

#include "authres.h"
#include "ctl.h"
#include "dkimc.h"
#include "qlog.h"
#include "qsmtpd.h"

#define SIGN_SOCKET "run/dkimsign"
#define VERIFY_SOCKET "run/dkimverify"
#define KEYDIR "control/dkim"
#define LOG_MAX 200

static stralloc authservid;
static int sign_fd = -1;
static int verify_fd = -1;
static char verdicts[LOG_MAX];
static struct dkimc_answer answer;

void authint_config(void)
{
  if (ctl_readline(&authservid, "control/authservid", sess.me.s) == -1 ||
      authservid.len == 0) {
    if (!stralloc_copys(&authservid, sess.me.s)) io_die_nomem();
  }
  if (!stralloc_0(&authservid)) io_die_nomem();
}

int authint_drop(void *cookie, const char *field, size_t len)
{
  const char *colon = memchr(field, ':', len);

  (void)cookie;
  if (colon == NULL) return 0;
  colon++;
  return authres_is_ours(colon, len - (size_t)(colon - field), authservid.s);
}

const char *authint_log(void) { return verdicts; }

void authint_reset(void) { verdicts[0] = '\0'; }

static void verdict(const char *s)
{
  size_t n = strlen(verdicts);
  size_t k = strnlen(s, sizeof verdicts - 1 - n);

  memcpy(verdicts + n, s, k);
  verdicts[n + k] = '\0';
}

/* One request over the kept connection *fd (made when needed), a second
 * try on a fresh connection if the first fails: 0, or -1 + errno. wait:
 * a service that does not listen yet (the instance is starting) is given
 * up to 2 s. */
static int call(int *fd, const char *path, int msgfd, const char *req, size_t reqlen, int wait)
{
  for (int tries = 0; tries < 2; tries++) {
    if (*fd == -1 && (*fd = dkimc_connect_wait(path, wait ? 2000 : 0)) == -1) return -1;
    if (dkimc_call(*fd, msgfd, req, reqlen, &answer) == 0) return 0;
    close(*fd);
    *fd = -1;
  }
  return -1;
}

static const char *sign_message(struct inject *q, int msgfd, unsigned long long len)
{
  char req[256];
  char ar[AUTHRES_MAX];
  size_t reqlen = 0;

  /* the signature first: it covers the message as the client sent it */
  if (access(KEYDIR, F_OK) == 0) {
    dkimc_start(req, sizeof req, &reqlen, "sign", QUEUE_HDRLEN, len); /* fits: 256 */
    if (call(&sign_fd, SIGN_SOCKET, msgfd, req, reqlen, 1) == -1) {
      qwarn_sys("unable to reach the DKIM signer at ", SIGN_SOCKET);
      verdict(" dkimsign=unavailable");
      return "451 4.7.0 unable to sign the message now, try again later\r\n";
    }
    if (answer.code != DKIMP_ADD) {
      qwarn("the DKIM signer failed: ", answer.note);
      verdict(" dkimsign=failed");
      return "451 4.7.0 unable to sign the message now, try again later\r\n";
    }
    verdict(answer.fieldslen > 0 ? " dkimsign=yes" : " dkimsign=none");
    if (answer.fieldslen > 0 && inject_prepend(q, answer.fields, answer.fieldslen) == -1)
      return "451 4.3.0 unable to queue the message, try again later\r\n";
  }
  if (sess.authed) { /* RFC 8601 2.7.4, above the signature */
    struct authres b;
    long n;

    authres_start(&b, ar, sizeof ar, authservid.s);
    authres_add(&b, "auth", "pass", "smtp.auth", sess.authuser);
    n = authres_end(&b);
    if (n > 0 && inject_prepend(q, ar, (size_t)n) == -1)
      return "451 4.3.0 unable to queue the message, try again later\r\n";
  }
  return NULL;
}

static const char *verify_message(struct inject *q, int msgfd, unsigned long long len,
                                  const char *sender)
{
  static char req[DKIMP_REQ_MAX];
  static char refusal[DKIMP_REASON_MAX + 64];
  size_t reqlen = 0;
  const char *spf;
  const char *spfd;
  int spfhelo;
  int r;

  r = dkimc_start(req, sizeof req, &reqlen, "verify", QUEUE_HDRLEN, len);
  r |= dkimc_add(req, sizeof req, &reqlen, "id", authservid.s);
  r |= dkimc_add(req, sizeof req, &reqlen, "ip", sess.ip);
  r |= dkimc_add(req, sizeof req, &reqlen, "helo", sess.helo);
  r |= dkimc_add(req, sizeof req, &reqlen, "from", sender);
  /* no verifier on this instance (no port 25 listener made by qsetup, or
   * qsmtpd run by hand): nothing to say */
  if (verify_fd == -1 && access(VERIFY_SOCKET, F_OK) == -1) return NULL;
  if (spfcheck_result(&spf, &spfd, &spfhelo) == 0) {
    r |= dkimc_add(req, sizeof req, &reqlen, "spf", spf);
    r |= dkimc_add(req, sizeof req, &reqlen, "spfd", spfd);
    if (spfhelo) r |= dkimc_add(req, sizeof req, &reqlen, "spfhelo", "1");
  }
  answer.code = 0;
  if (r == -1 || call(&verify_fd, VERIFY_SOCKET, msgfd, req, reqlen, 0) == -1 ||
      answer.code == DKIMP_TEMP) {
    if (answer.code == DKIMP_TEMP) qwarn("the DKIM verifier failed: ", answer.note);
    else qwarn_sys("unable to reach the DKIM verifier at ", VERIFY_SOCKET);
    verdict(" spf=");
    verdict(spfcheck_result(&spf, &spfd, &spfhelo) == 0 ? spf : "none");
    verdict(" dkim=unavailable dmarc=unavailable");
    return NULL;
  }
  verdict(" ");
  verdict(answer.note);
  if (answer.fieldslen > 0 && inject_prepend(q, answer.fields, answer.fieldslen) == -1)
    return "451 4.3.0 unable to queue the message, try again later\r\n";
  if (answer.code == DKIMP_REJECT) {
    size_t n = strlen("550 5.7.1 ");

    memcpy(refusal, "550 5.7.1 ", n);
    if (answer.note[0] == '\0') memcpy(answer.note, "DMARC policy", 13);
    memcpy(refusal + n, "DMARC policy of the From domain: rejected (", 43);
    n += 43;
    /* the note holds the verdicts; the reply says why in plain words */
    memcpy(refusal + n, answer.note, strlen(answer.note));
    n += strlen(answer.note);
    memcpy(refusal + n, ")\r\n", 4);
    return refusal;
  }
  return NULL;
}

/* What is done to this message: signed for our users (a login, a relay
 * client), verified from the world (not on a submission port). */
static void mode(int *sign, int *verify)
{
  *sign = sess.authed || sess.relay || tx.relay;
  *verify = !*sign && !sess.submission;
}

const char *authint_message(struct inject *q, const char *sender)
{
  unsigned long long len = 0;
  const char *r;
  int msgfd;
  int sign;
  int verify;

  mode(&sign, &verify);
  if (!sign && !verify) return NULL;
  msgfd = inject_msgfd(q, &len);
  if (msgfd == -1) {
    if (errno == EINVAL) return NULL; /* QINJECT, or the message failed already */
    qwarn_sys("unable to read the message back for DKIM");
    return sign && access(KEYDIR, F_OK) == 0
               ? "451 4.7.0 unable to sign the message now, try again later\r\n" : NULL;
  }
  r = sign ? sign_message(q, msgfd, len) : verify_message(q, msgfd, len, sender);
  close(msgfd);
  return r;
}

/* QMTA_DKIMREQ's fields: the request of verify_message, or for signing the
 * authserv-id and the login user (qinject_dkim.h) */
static int env_fields(char *req, size_t size, size_t *len, int sign)
{
  const char *spf;
  const char *spfd;
  int spfhelo;
  int r;

  r = dkimc_add(req, size, len, "id", authservid.s);
  if (sign) return sess.authed ? r | dkimc_add(req, size, len, "auth", sess.authuser) : r;
  r |= dkimc_add(req, size, len, "ip", sess.ip);
  r |= dkimc_add(req, size, len, "helo", sess.helo);
  r |= dkimc_add(req, size, len, "from", tx.sender);
  if (spfcheck_result(&spf, &spfd, &spfhelo) == 0) {
    r |= dkimc_add(req, size, len, "spf", spf);
    r |= dkimc_add(req, size, len, "spfd", spfd);
    if (spfhelo) r |= dkimc_add(req, size, len, "spfhelo", "1");
  }
  return r;
}

int authint_env(stralloc *env)
{
  static char req[DKIMP_REQ_MAX];
  size_t reqlen = 0;
  int sign;
  int verify;

  mode(&sign, &verify);
  env->len = 0;
  if (!sign && !verify) return 0;
  if (env_fields(req, sizeof req, &reqlen, sign) == -1) {
    qwarn("DKIM request too long for QMTA_DKIMREQ"); /* cannot happen: the values are capped */
    return -1;
  }
  if (!stralloc_copys(env, sign ? "QMTA_DKIM=sign" : "QMTA_DKIM=verify") || !stralloc_0(env) ||
      !stralloc_cats(env, "QMTA_DKIMREQ=") || !stralloc_catb(env, req, reqlen) ||
      !stralloc_0(env))
    io_die_nomem();
  return 0;
}
