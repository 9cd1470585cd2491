/*
 * qdkimd_verify: the verifier's answer for one message (qdkimd -v): DKIM
 * (every signature, up to DKIM_MAX_SIGS), DMARC (RFC 9989) with the SPF
 * result qsmtpd sent, and the Authentication-Results field (RFC 8601)
 * with the authserv-id of the request. Policy:
 *   DMARC fail, policy reject, no t=y, control/dmarcreject: R (refused)
 *   DMARC fail, policy quarantine (no t=y), or reject not refused: the
 *     message is accepted with "X-DMARC-Quarantine: yes" below the A-R,
 *     for a Sieve rule or a users-map step to file it into Junk
 *   anything else: accepted, the A-R alone.
 * The note gives the verdicts for qsmtpd's log line:
 * "spf=pass dkim=pass dmarc=fail action=quarantine".
 * One good signature per domain is enough (DKIM_VERIFY_ENOUGH): the
 * Ed25519 half of a dual signature is checked only when the RSA half of
 * its domain did not pass. Signatures one after the other that name the
 * same key record (RSA and Ed25519 keys under one selector, as
 * qdkim-keygen makes them) ask DNS once per message, even when the
 * records' TTL is 0.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authres.h"
#include "dkim.h"
#include "dmarc.h"
#include "dnsq.h"
#include "qdkimd.h"
#include "qtls.h"

#define DMARCREJECT "control/dmarcreject"
#define QUARANTINE_FIELD "X-DMARC-Quarantine: yes\n"

static struct dkim_result res[DKIM_MAX_SIGS];
static struct dmarc_auth auths[DKIM_MAX_SIGS];

/* the key lookups of one message: the last name asked and its answer */
struct keymemo {
  char name[DNSQ_TEXT_MAX + 2]; /* "": nothing asked yet */
  int result;                   /* dkim_lookup_dns's answer for name */
  char *recs[DKIM_MAX_RECS];
};

static void memo_clear(struct keymemo *m)
{
  for (int i = 0; i < m->result; i++) free(m->recs[i]);
  m->result = 0;
  m->name[0] = '\0';
}

/* dkim_lookup_fn: for the name asked last, its answer again (copies of the
 * records, which dkim_verify frees); else DNS, kept for the next one */
static int lookup_memo(const char *name, char **recs, int max, void *cookie)
{
  struct keymemo *m = cookie;
  size_t len = strlen(name);
  int i;

  if (m->name[0] == '\0' || strcmp(m->name, name) != 0) {
    memo_clear(m);
    if (len == 0 || len >= sizeof m->name) return dkim_lookup_dns(name, recs, max, NULL);
    m->result = dkim_lookup_dns(name, m->recs, DKIM_MAX_RECS, NULL);
    memcpy(m->name, name, len + 1);
  }
  if (m->result <= 0) return m->result; /* none, or a temporary failure */
  for (i = 0; i < m->result && i < max; i++) {
    recs[i] = strdup(m->recs[i]);
    if (recs[i] == NULL) {
      while (i > 0) free(recs[--i]);
      return -1;
    }
  }
  return i;
}

/* SPF's RFC 8601 word from the request: only the words it may hold */
static const char *spf_word(const char *s)
{
  static const char *const words[] = {"none", "neutral", "pass", "fail", "softfail",
                                      "temperror", "permerror"};

  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcmp(s, words[i]) == 0) return words[i];
  return NULL;
}

void qdkimd_verify(const char *msg, size_t len, const struct dkreq *r, struct dkans *a)
{
  static char ar[AUTHRES_MAX];
  struct keymemo memo;
  struct authres b;
  struct dmarc_in in;
  struct dmarc_out out;
  char dom[DMARC_DOMAIN_MAX + 1];
  const char *spf = spf_word(r->spf);
  const char *action = "none";
  int from;
  int n;
  long arlen;

  memo.result = 0;
  memo.name[0] = '\0';
  n = dkim_verify(msg, len, res, DKIM_MAX_SIGS, lookup_memo, &memo, time(NULL),
                  DKIM_VERIFY_ENOUGH);
  memo_clear(&memo);
  if (n == -1) {
    dkans_note(a, "out of memory");
    return;
  }
  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  for (int i = 0; i < n; i++) {
    auths[i].domain = res[i].domain;
    auths[i].pass = res[i].status == DKIM_PASS;
    if (res[i].status == DKIM_TEMPERROR) in.dkim_temperror = 1;
  }
  in.dkim = auths;
  in.ndkim = n;
  if (spf != NULL && r->spfd[0] != '\0') {
    in.spf.domain = r->spfd;
    in.spf.pass = strcmp(spf, "pass") == 0;
    in.spf_temperror = strcmp(spf, "temperror") == 0;
  }
  from = dmarc_from_domain(msg, len, dom, sizeof dom);
  if (from == -2) {
    out.result = DMARC_PERMERROR;
    memcpy(out.reason, "the From field cannot be evaluated", 35);
  } else {
    in.from_domain = from > 0 ? dom : NULL;
    if (dmarc_eval(&in, &out, NULL) == -1) {
      dkans_note(a, "out of memory");
      return;
    }
  }
  if (out.result == DMARC_FAIL) {
    /* t=y: the owner tests its policy; one level less is applied
     * (RFC 9989): reject as quarantine, quarantine as none */
    int policy = out.policy;

    if (out.testing && policy > DMARC_P_NONE) policy--;
    if (policy == DMARC_P_REJECT)
      action = access(DMARCREJECT, F_OK) == 0 ? "reject" : "quarantine";
    else if (policy == DMARC_P_QUARANTINE)
      action = "quarantine";
  }

  authres_start(&b, ar, sizeof ar, r->id[0] != '\0' ? r->id : "localhost");
  if (spf != NULL) {
    authres_method(&b, "spf", spf, NULL);
    authres_prop(&b, r->spfhelo ? "smtp.helo" : "smtp.mailfrom", r->spfd);
  } else {
    authres_add(&b, "spf", "none", NULL, NULL);
  }
  if (n == 0) authres_add(&b, "dkim", "none", NULL, NULL);
  for (int i = 0; i < n; i++) {
    authres_method(&b, "dkim", dkim_result_name(res[i].status), NULL);
    if (res[i].status != DKIM_PASS && res[i].reason[0] != '\0') authres_comment(&b, res[i].reason);
    if (res[i].bodylen >= 0) authres_comment(&b, "partial body signed (l=)");
    if (res[i].domain[0] != '\0') authres_prop(&b, "header.d", res[i].domain);
    if (res[i].identity[0] != '\0') authres_prop(&b, "header.i", res[i].identity);
    if (res[i].selector[0] != '\0') authres_prop(&b, "header.s", res[i].selector);
    if (res[i].algo[0] != '\0') authres_prop(&b, "header.a", res[i].algo);
    if (res[i].bprefix[0] != '\0') authres_prop(&b, "header.b", res[i].bprefix);
  }
  authres_dmarc(&b, &out, action);
  arlen = authres_end(&b);
  if (arlen < 0) {
    qtls_say("warning: unable to write the Authentication-Results field");
  } else if (dkans_add(a, ar, (size_t)arlen) == -1) {
    qtls_say("warning: the Authentication-Results field is too long");
  }
  if (strcmp(action, "quarantine") == 0) dkans_add(a, QUARANTINE_FIELD, sizeof QUARANTINE_FIELD - 1);

  a->note[0] = '\0';
  qtls_cat(a->note, sizeof a->note, "spf=", spf != NULL ? spf : "none",
           " dkim=", n > 0 ? dkim_result_name(res[0].status) : "none",
           " dmarc=", dmarc_result_name(out.result), " action=", action);
  a->code = strcmp(action, "reject") == 0 ? DKIMP_REJECT : DKIMP_ADD;
}
