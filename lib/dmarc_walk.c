/*
 * dmarc_walk: one DNS tree walk and the Organizational Domain it finds
 * (RFC 9989: the walk stops at a record with psd=y or psd=n; of the
 * records found, longest name first, psd=n names the Organizational
 * Domain, psd=y above the start names the domain one label below it, else
 * the record with the fewest labels; no record: the start itself). libc
 * only (dmarc.h). Library code.
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

int dmarc_walk(const char *domain, int first, const struct dmarc_record *first_rec,
               struct dmarc_walk *w, const struct dmarc_dns *dns)
{
  const char *names[DMARC_WALK_MAX];
  int count = dmarc_walk_names(domain, names);
  const char *org = domain;
  int i;

  w->count = 0;
  w->org = -1;
  w->psd = -1;
  for (i = 0; i < count; i++) {
    int r;

    w->names[i] = names[i];
    w->count = i + 1;
    if (i == 0 && first != DMARC_WALK_ASK) {
      r = first;
      if (r == 1) w->rec[0] = *first_rec;
    } else {
      r = dmarc_lookup(names[i], &w->rec[i], dns);
    }
    if (r == -1) return -1;
    w->found[i] = r == 1;
    if (r == 1 && w->rec[i].psd != DMARC_PSD_U) break; /* psd=y or psd=n ends the walk */
  }

  for (i = 0; i < w->count; i++) {
    if (!w->found[i]) continue;
    org = w->names[i]; /* the fewest labels so far */
    w->org = i;
    if (w->rec[i].psd == DMARC_PSD_N) break;
    if (w->rec[i].psd == DMARC_PSD_Y && i > 0) {
      /* a public suffix: the organization is one label below it, a name
         the walk asked (with or without a record) or jumped over */
      org = last_labels(domain, count_labels(w->names[i]) + 1);
      w->org = -1;
      w->psd = i;
      for (int j = 0; j < i; j++)
        if (w->found[j] && strcmp(w->names[j], org) == 0) w->org = j;
      break;
    }
  }
  strncpy(w->org_domain, org, DMARC_DOMAIN_MAX);
  w->org_domain[DMARC_DOMAIN_MAX] = '\0';
  return 0;
}
