/*
 * dmarc_lookup: the one DMARC record at _dmarc.DOMAIN (RFC 9989's
 * DNS tree walk, one step). libc only (dmarc.h). Library code.
 */
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

#define PREFIX "_dmarc."

int dmarc_lookup(const char *domain, struct dmarc_record *r, const struct dmarc_dns *dns)
{
  char name[sizeof PREFIX + DMARC_DOMAIN_MAX + 1];
  char *recs[DMARC_RECS_MAX];
  size_t len = strlen(domain);
  int n;
  int i;
  int found = 0;

  if (dns == NULL) dns = &dmarc_dns_default;
  if (len == 0 || len > DMARC_DOMAIN_MAX) return 0;
  memcpy(name, PREFIX, sizeof PREFIX - 1);
  memcpy(name + sizeof PREFIX - 1, domain, len + 1);

  n = dns->txt(name, recs, DMARC_RECS_MAX, dns->cookie);
  if (n < 0) return -1;
  if (n > DMARC_RECS_MAX) n = DMARC_RECS_MAX; /* a lookup that says more than it may */
  for (i = 0; i < n; i++) {
    struct dmarc_record rec;

    if (dmarc_record_parse(recs[i], &rec) == 1 && found++ == 0) *r = rec;
    free(recs[i]);
  }
  return found == 1;
}
