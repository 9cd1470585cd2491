/*
 * dmarc_dns: the DNS lookups of DMARC through lib/dnsq: TXT records kept
 * apart, and whether a domain exists (RFC 9989: a non-existent domain is
 * one that answers NXDOMAIN, as in RFC 8020). libc and dnsq only (dmarc.h).
 * Library code.
 */
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "dnsq.h"

const struct dmarc_dns dmarc_dns_default = {dmarc_txt_dns, dmarc_exists_dns, NULL};

int dmarc_txt_dns(const char *name, char **recs, int max, void *cookie)
{
  struct dnsq_answer ans;
  int count = 0;
  size_t i;
  int r;

  (void)cookie;
  r = dnsq_query(name, DNSQ_T_TXT, &ans);
  if (r == DNSQ_TEMP) return -1;
  if (r != DNSQ_OK) {
    dnsq_free(&ans);
    return 0; /* NXDOMAIN, NODATA, a name that cannot be asked */
  }
  for (i = 0; i < ans.count && count < max; i++) {
    const struct dnsq_rr *rr = &ans.rr[i];
    char *copy;

    if (rr->type != DNSQ_T_TXT) continue;
    copy = malloc(rr->len + 1);
    if (copy == NULL) {
      while (count > 0) free(recs[--count]);
      dnsq_free(&ans);
      return -1;
    }
    memcpy(copy, rr->data, rr->len);
    copy[rr->len] = '\0'; /* a NUL inside ends the text: no DMARC tag holds one */
    recs[count++] = copy;
  }
  dnsq_free(&ans);
  return count;
}

int dmarc_exists_dns(const char *name, void *cookie)
{
  struct dnsq_answer ans;
  int r;

  (void)cookie;
  /* RFC 8020: NXDOMAIN means no record of any type: one question does */
  r = dnsq_query(name, DNSQ_T_A, &ans);
  dnsq_free(&ans);
  if (r == DNSQ_TEMP) return -1;
  return r != DNSQ_NXDOMAIN;
}
