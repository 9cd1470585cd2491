/*
 * dkim_dns: the key lookup through lib/dnsq (RFC 6376 3.6.2: TXT records
 * at "selector._domainkey.domain", each record's strings joined, records
 * kept apart). ISC licence.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dnsq.h"

int dkim_lookup_dns(const char *name, char **recs, int max, void *cookie)
{
  struct dnsq_answer ans;
  size_t i;
  int n = 0;
  int r;

  (void)cookie;
  memset(&ans, 0, sizeof ans);
  r = dnsq_query(name, DNSQ_T_TXT, &ans);
  if (r == DNSQ_TEMP) return -1;
  if (r != DNSQ_OK) { /* NXDOMAIN, no TXT, or a name that cannot be asked */
    dnsq_free(&ans);
    return 0;
  }
  for (i = 0; i < ans.count && n < max; i++) {
    const struct dnsq_rr *rr = &ans.rr[i];
    if (rr->type != DNSQ_T_TXT || rr->len > DKIM_MAX_HEADER) continue;
    if (memchr(rr->data, '\0', rr->len) != NULL) continue; /* not a key record */
    recs[n] = strdup(rr->data);
    if (recs[n] == NULL) {
      while (n > 0) free(recs[--n]);
      dnsq_free(&ans);
      return -1;
    }
    n++;
  }
  dnsq_free(&ans);
  return n;
}
