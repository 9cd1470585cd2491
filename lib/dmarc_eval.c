/*
 * dmarc_eval: the DMARC verdict (RFC 9989: policy discovery,
 * identifier alignment, the result). libc only (dmarc.h). Library code.
 *
 * Order: the record at the From domain, else a tree walk for the
 * organizational domain's record or a public suffix domain's (none: no
 * DMARC, no more queries); then the alignment of each passing identifier:
 * one equal to the From domain aligns in either mode; in relaxed mode
 * another aligns when both have the same organizational domain (a walk
 * from the identifier is only made when it lies within the From domain's
 * organizational domain: another could never share it).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

/* domain into out (room DMARC_DOMAIN_MAX + 1) in lower case, without a
 * final dot; 0, or -1 if empty or too long */
static int normalize(const char *domain, char *out)
{
  size_t len = strlen(domain);
  size_t i;

  if (len > 0 && domain[len - 1] == '.') len--;
  if (len == 0 || len > DMARC_DOMAIN_MAX) return -1;
  for (i = 0; i < len; i++) {
    char c = domain[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[len] = '\0';
  return 0;
}

/* 1 if name is domain or below it */
static int is_within(const char *name, const char *domain)
{
  size_t n = strlen(name);
  size_t d = strlen(domain);

  if (n == d) return strcmp(name, domain) == 0;
  return n > d && name[n - d - 1] == '.' && strcmp(name + n - d, domain) == 0;
}

struct state {
  const struct dmarc_dns *dns;
  struct dmarc_out *out;
  const struct dmarc_record *from_rec; /* the From domain's own record, or NULL */
  int org_known;  /* out->org_domain found (1), failed (-1), not yet (0) */
};

/* the From domain's organizational domain, looked for once */
static int from_org(struct state *st)
{
  struct dmarc_walk w;

  if (st->org_known == 0) {
    st->org_known = -1;
    if (dmarc_walk(st->out->domain, st->from_rec != NULL ? 1 : DMARC_WALK_ASK, st->from_rec, &w,
                   st->dns) == 0) {
      memcpy(st->out->org_domain, w.org_domain, sizeof w.org_domain);
      st->org_known = 1;
    }
  }
  return st->org_known == 1 ? 0 : -1;
}

/* 1 aligned, 0 not, -1 temporary failure (RFC 9989's identifier alignment) */
static int aligned(struct state *st, const char *id, int strict)
{
  char norm[DMARC_DOMAIN_MAX + 1];
  char org[DMARC_DOMAIN_MAX + 1];

  if (normalize(id, norm) == -1) return 0;
  if (strcmp(norm, st->out->domain) == 0) return 1;
  if (strict) return 0;
  if (from_org(st) == -1) return -1;
  if (!is_within(norm, st->out->org_domain)) return 0;
  if (dmarc_org_domain(norm, org, st->dns) == -1) return -1;
  return strcmp(org, st->out->org_domain) == 0;
}

static int finish(struct dmarc_out *out, int result, const char *reason)
{
  out->result = result;
  snprintf(out->reason, sizeof out->reason, "%s", reason);
  return result;
}

/* the policy record: the From domain's own (p=), or by a tree walk the
 * organizational domain's or a public suffix domain's (sp=, np=). 1 found
 * (rec, out->policy_domain), 0 none, -1 temporary failure. */
static int discover(struct state *st, struct dmarc_record *rec)
{
  struct dmarc_out *out = st->out;
  struct dmarc_walk w;
  int r = dmarc_lookup(out->domain, rec, st->dns);
  int at;

  if (r == -1) return -1;
  if (r == 1) {
    memcpy(out->policy_domain, out->domain, sizeof out->domain);
    st->from_rec = rec;
    return 1;
  }
  if (dmarc_walk(out->domain, 0, NULL, &w, st->dns) == -1) return -1;
  memcpy(out->org_domain, w.org_domain, sizeof w.org_domain);
  st->org_known = 1;
  at = w.org >= 0 ? w.org : w.psd;
  if (at < 0) return 0;
  *rec = w.rec[at];
  snprintf(out->policy_domain, sizeof out->policy_domain, "%s", w.names[at]);
  return 1;
}

int dmarc_eval(const struct dmarc_in *in, struct dmarc_out *out, const struct dmarc_dns *dns)
{
  struct dmarc_record rec;
  struct state st;
  int temp = 0;
  int r;

  memset(out, 0, sizeof *out);
  out->policy = DMARC_P_NONE;
  out->p = DMARC_P_NONE;
  if (dns == NULL) dns = &dmarc_dns_default;
  st.dns = dns;
  st.out = out;
  st.from_rec = NULL;
  st.org_known = 0;
  if (in->from_domain == NULL || in->from_domain[0] == '\0')
    return finish(out, DMARC_NONE, "no From domain");
  if (normalize(in->from_domain, out->domain) == -1)
    return finish(out, DMARC_PERMERROR, "invalid From domain");

  r = discover(&st, &rec);
  if (r == -1) return finish(out, DMARC_TEMPERROR, "DNS failure looking for the DMARC record");
  if (r == 0) return finish(out, DMARC_NONE, "no DMARC record");
  if (rec.bad_policy) {
    /* RFC 9989: without a valid p= (or with an invalid sp= or np=), a
       record with a reporting URI counts as p=none, another as none */
    if (!rec.has_rua) return finish(out, DMARC_NONE, "DMARC record without a valid policy");
    rec.p = DMARC_P_NONE;
    rec.sp = DMARC_P_UNSET;
    rec.np = DMARC_P_UNSET;
  }
  out->p = rec.p;
  out->testing = rec.testing;

  /* the policy that applies: p at the From domain itself; for a subdomain
     sp, or np when it does not exist, each falling back to p */
  out->policy = rec.p;
  if (strcmp(out->policy_domain, out->domain) != 0) {
    int exists = 1;
    if (rec.np != DMARC_P_UNSET && dns->exists != NULL) {
      exists = dns->exists(out->domain, dns->cookie);
      if (exists == -1) return finish(out, DMARC_TEMPERROR, "DNS failure looking for the From domain");
    }
    if (exists == 0) out->policy = rec.np;
    else if (rec.sp != DMARC_P_UNSET) out->policy = rec.sp;
  }

  /* alignment */
  if (in->spf.domain != NULL && in->spf.pass) {
    int a = aligned(&st, in->spf.domain, rec.aspf_strict);
    if (a == -1) temp = 1;
    out->spf_aligned = a == 1;
  }
  for (int i = 0; i < in->ndkim && !out->dkim_aligned; i++) {
    const struct dmarc_auth *d = &in->dkim[i];
    int a;

    if (d->domain == NULL || !d->pass) continue;
    a = aligned(&st, d->domain, rec.adkim_strict);
    if (a == -1) temp = 1;
    out->dkim_aligned = a == 1;
  }

  if (out->spf_aligned && out->dkim_aligned) return finish(out, DMARC_PASS, "SPF and DKIM aligned");
  if (out->spf_aligned) return finish(out, DMARC_PASS, "SPF aligned");
  if (out->dkim_aligned) return finish(out, DMARC_PASS, "DKIM aligned");
  if (temp) return finish(out, DMARC_TEMPERROR, "DNS failure checking alignment");
  if (in->spf_temperror || in->dkim_temperror)
    return finish(out, DMARC_TEMPERROR, "SPF or DKIM gave temperror");
  return finish(out, DMARC_FAIL, "no aligned SPF or DKIM pass");
}
