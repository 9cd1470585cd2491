/*
 * dmarc_org_domain: the organizational domain by the DNS tree walk (RFC
 * 9989 4.10.2). libc only (dmarc.h). Library code.
 */
#include <string.h>

#include "dmarc.h"

/* the last n labels of domain */
static const char *last_labels(const char *domain, size_t n)
{
  const char *p = domain + strlen(domain);
  size_t seen = 0;

  while (p > domain) {
    if (p[-1] == '.' && ++seen == n) return p;
    p--;
  }
  return domain;
}

static size_t count_labels(const char *domain)
{
  size_t n = 1;

  for (; *domain != '\0'; domain++)
    if (*domain == '.') n++;
  return n;
}

int dmarc_org_domain(const char *domain, char *org, const struct dmarc_dns *dns)
{
  const char *names[DMARC_WALK_MAX];
  const char *fewest = domain; /* where the last record was found */
  int count = dmarc_walk_names(domain, names);
  int i;

  for (i = 0; i < count; i++) {
    struct dmarc_record rec;
    int r = dmarc_lookup(names[i], &rec, dns);

    if (r == -1) return -1;
    if (r == 0) continue;
    if (rec.psd == DMARC_PSD_N) {
      fewest = names[i]; /* the organizational domain says so itself */
      break;
    }
    if (rec.psd == DMARC_PSD_Y && i > 0) {
      /* a public suffix: the organization is one label below it */
      fewest = last_labels(domain, count_labels(names[i]) + 1);
      break;
    }
    fewest = names[i];
  }
  /* no record at all: the domain is its own organizational domain */
  strncpy(org, fewest, DMARC_DOMAIN_MAX);
  org[DMARC_DOMAIN_MAX] = '\0';
  return 0;
}
