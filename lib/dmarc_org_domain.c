/*
 * dmarc_org_domain: the Organizational Domain of a domain by one DNS tree
 * walk (dmarc_walk). libc only (dmarc.h). Library code.
 */
#include <string.h>

#include "dmarc.h"

int dmarc_org_domain(const char *domain, char *org, const struct dmarc_dns *dns)
{
  struct dmarc_walk w;

  if (dmarc_walk(domain, DMARC_WALK_ASK, NULL, &w, dns) == -1) return -1;
  memcpy(org, w.org_domain, sizeof w.org_domain);
  return 0;
}
