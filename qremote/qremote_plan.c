/*
 * qremote_plan: the TLS plan of a session (qremote_smtp.h): the level of
 * control/tlspolicy (or of the route's tls=) for the host, resolved with
 * what the DNS says (DANE, RFC 7672) and the destination's MTA-STS policy
 * (RFC 8461); the log's "tls=" text; the session's TLS-RPT counts
 * (RFC 8460).
 */
#include <errno.h>
#include <string.h>

#include <stralloc.h>

#include "qremote_smtp.h"

/* The TLS-RPT policy type of the plan: "tlsa", "sts", or NULL (none). */
static const char *rpt_type(const struct conn *cn)
{
  if (cn->plan.mode == PLAN_DANE) return "tlsa";
  if (cn->plan.mode == PLAN_STS_ENFORCE || cn->plan.mode == PLAN_STS_TESTING) return "sts";
  return NULL;
}

void plan_rpt(const struct conn *cn, const char *result)
{
  if (rpt_type(cn) != NULL) rpt_count(cn->rpt_domain, rpt_type(cn), result, cn->host_name);
}

int plan_required(const struct conn *cn)
{
  int mode = cn->plan.mode;

  return mode == PLAN_ENCRYPT || mode == PLAN_VERIFY || mode == PLAN_DANE ||
         mode == PLAN_STS_ENFORCE;
}

/* policy_text = a b c (NULLs left out) */
void policy_set(struct conn *cn, const char *a, const char *b, const char *c)
{
  const char *parts[3] = {a, b, c};
  size_t n = 0;

  for (size_t k = 0; k < 3; ++k) {
    if (parts[k] == NULL) continue;
    if (n > 0 && n + 1 < sizeof cn->policy_text) cn->policy_text[n++] = ' ';
    for (const char *p = parts[k]; *p != '\0' && n + 1 < sizeof cn->policy_text; ++p)
      cn->policy_text[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
  }
  cn->policy_text[n] = '\0';
}

/* The TLS plan for host h of domain (mx_secure: the MX RRset that named
 * it was DNSSEC-valid). 0, or -1 with cn->failtext set: the host is not to be
 * used. RFC 7672 2.2: DANE needs a secure MX RRset, secure addresses and
 * secure TLSA records; a failed TLSA lookup for a secure host makes the
 * host unusable; TLSA records none of which are usable still require TLS. */
int plan_make(struct conn *cn, const struct host *h, const struct route *r,
                     const char *domain, int mx_secure, unsigned long port,
                     const struct smtp_config *c)
{
  int level = r->tls;

  cn->plan.tlsa.len = 0;
  cn->plan.tlsa_count = 0;
  if (!r->tls_set &&
      tlspolicy_find(c->tlspolicy.s, c->tlspolicy.len, domain, h->name, &level) == -1) {
    fail_local(cn, "4.3.5", "malformed entry in control/tlspolicy for ", domain);
    return -1;
  }
  cn->plan.label = tlspolicy_name(level);
  policy_set(cn, cn->plan.label, "plaintext", NULL);
  switch (level) {
    case ROUTE_TLS_NO: cn->plan.mode = PLAN_NONE; return 0;
    case ROUTE_TLS_REQUIRE: cn->plan.mode = PLAN_ENCRYPT; return 0;
    case ROUTE_TLS_VERIFY: cn->plan.mode = PLAN_VERIFY; return 0;
    default: break;
  }
  if (level == ROUTE_TLS_DANE || level == ROUTE_TLS_DANE_ONLY) {
    if (mx_secure && h->secure && h->name[0] != '[') {
      int secure;
      int present;

      if (qdns_tlsa(&cn->plan.tlsa, &cn->plan.tlsa_count, h->name, port, &secure, &present) ==
          QDNS_TEMP) {
        fail_local(cn, "4.7.5", "TLSA lookup failed (tls policy dane)",
                   errno == EAGAIN ? "SERVFAIL (bogus DNSSEC, or no answer)" : strerror(errno));
        policy_set(cn, cn->plan.label, "TLSA lookup failed", NULL);
        rpt_count(domain, "tlsa", "dnssec-invalid", h->name);
        return -1;
      }
      if (secure && cn->plan.tlsa_count > 0) {
        cn->plan.mode = PLAN_DANE;
        return 0;
      }
      if (secure && present) {
        cn->plan.label = "dane-unusable";
        cn->plan.mode = PLAN_ENCRYPT;
        return 0;
      }
    }
    if (level == ROUTE_TLS_DANE_ONLY) {
      fail_local(cn, "4.7.5", "no DNSSEC-valid TLSA records (tls policy dane-only)", NULL);
      policy_set(cn, cn->plan.label, "no TLSA", NULL);
      return -1;
    }
  }
  /* RFC 8461 4.2: enforce delivers only to listed MX hosts, over TLS
   * with a valid certificate for the MX name; DANE won above */
  if (cn->sts_on && cn->sts.policy.mode == STS_ENFORCE) {
    cn->plan.label = "sts enforce";
    if (!sts_mx_match(&cn->sts.policy, h->name)) {
      fail_local(cn, "4.7.5", "MX host not in the MTA-STS policy (tls policy sts enforce)", NULL);
      policy_set(cn, cn->plan.label, "MX not listed", NULL);
      rpt_count(domain, "sts", "validation-failure", h->name);
      return -1;
    }
    cn->plan.mode = PLAN_STS_ENFORCE;
    return 0;
  }
  if (cn->sts_on && cn->sts.policy.mode == STS_TESTING) {
    cn->plan.label = "sts testing";
    cn->plan.mode = PLAN_STS_TESTING;
    return 0;
  }
  cn->plan.label = "may";
  cn->plan.mode = PLAN_MAY;
  return 0;
}
