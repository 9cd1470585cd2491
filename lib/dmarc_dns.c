/*
 * dmarc_dns: the DNS lookups of DMARC through lib/dnsq: TXT records kept
 * apart, and whether a domain exists (RFC 9989: A, AAAA and MX all answer
 * NXDOMAIN or NODATA for a non-existent one). libc and dnsq only (dmarc.h).
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
  static const unsigned int types[] = {DNSQ_T_A, DNSQ_T_AAAA, DNSQ_T_MX};
  size_t i;

  (void)cookie;
  for (i = 0; i < sizeof types / sizeof types[0]; i++) {
    struct dnsq_answer ans;
    int r = dnsq_query(name, types[i], &ans);

    dnsq_free(&ans);
    if (r == DNSQ_TEMP) return -1;
    if (r == DNSQ_OK) return 1;
    if (r == DNSQ_NXDOMAIN) return 0; /* RFC 8020: nothing below it either */
  }
  return 0;
}
