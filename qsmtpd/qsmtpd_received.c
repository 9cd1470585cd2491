/*
 * qsmtpd_received: the Received: field qsmtpd puts on top of each message
 * (RFC 5321 4.4, protocol names of RFC 3848). Pure; unit-tested.
 *
 *   Received: from HELO (HOST [IP])
 *   	by ME (qmta qsmtpd) with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384)
 *   	id HKZ1Q0B7W83F2K (authenticated as alice@example.org);
 *   	Tue, 25 Nov 2025 10:00:00 +0000
 *
 * HOST is the name qsmtpd forward-confirmed (qsmtpd_dns.c) or, when it
 * looked nothing up, TCPREMOTEHOST (never set by qlisten; "localhost" from
 * sendmail -bs, a PTR name from tcpserver -h); without either it is left
 * out, "([IP])". The id clause (RFC 5321 4.4) is the queue id when qsmtpd
 * writes the queue file itself (without QINJECT it is not known yet).
 * Everything the client chose (HELO, the login name, and
 * a PTR name is the client's choice too) is cleaned so that it cannot end
 * the comment it sits in or the field.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <stralloc.h>

#include "datefmt.h"
#include "qsmtpd.h"

/* Appends s, replacing what could break a comment or the field. */
static int cat_clean(stralloc *sa, const char *s)
{
  for (; *s != '\0'; s++) {
    char c = *s;
    if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e || c == '(' || c == ')' ||
        c == '\\' || c == ';')
      c = '?';
    if (!stralloc_append(sa, &c)) return -1;
  }
  return 0;
}

int received_fmt(stralloc *sa, const struct received_info *r)
{
  char date[DATE822_MAX];

  if (!stralloc_copys(sa, "Received: from ")) return -1;
  if (cat_clean(sa, r->helo[0] != '\0' ? r->helo : "unknown") == -1) return -1;
  if (!stralloc_cats(sa, " (")) return -1;
  if (r->host != NULL && r->host[0] != '\0') {
    if (cat_clean(sa, r->host) == -1 || !stralloc_cats(sa, " ")) return -1;
  }
  /* RFC 5321 4.1.3: an IPv6 address literal is tagged; a mapped IPv4 one is just IPv4 */
  if (strncasecmp(r->ip, "::ffff:", 7) == 0 && strchr(r->ip + 7, ':') == NULL) {
    if (!stralloc_cats(sa, "[") || cat_clean(sa, r->ip + 7) == -1) return -1;
  } else if (strchr(r->ip, ':') != NULL) {
    if (!stralloc_cats(sa, "[IPv6:") || cat_clean(sa, r->ip) == -1) return -1;
  } else {
    if (!stralloc_cats(sa, "[") || cat_clean(sa, r->ip) == -1) return -1;
  }
  if (!stralloc_cats(sa, "])\n\tby ") || cat_clean(sa, r->me) == -1) return -1;
  if (!stralloc_cats(sa, " (qmta qsmtpd) with ") || !stralloc_cats(sa, r->proto)) return -1;
  if (r->tls != NULL) {
    const char *p;
    if (!stralloc_cats(sa, " (")) return -1;
    for (p = r->tls; *p != '\0'; p++) {
      char c = *p;
      if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e || c == '(' || c == ')' ||
          c == '\\' || c == ';')
        c = '?';
      if (!stralloc_append(sa, &c)) return -1;
    }
    if (!stralloc_cats(sa, ")")) return -1;
  }
  if (r->id != NULL && r->id[0] != '\0') {
    if (!stralloc_cats(sa, "\n\tid ") || cat_clean(sa, r->id) == -1) return -1;
  }
  if (r->authuser != NULL) {
    if (!stralloc_cats(sa, r->id != NULL && r->id[0] != '\0' ? " (authenticated as "
                                                              : "\n\t(authenticated as ") || cat_clean(sa, r->authuser) == -1 ||
        !stralloc_cats(sa, ")"))
      return -1;
  }
  if (date822_fmt(date, (time_t)r->now, 0) == 0) date822_fmt(date, 0, 0);
  if (!stralloc_cats(sa, ";\n\t") || !stralloc_cats(sa, date) || !stralloc_cats(sa, "\n"))
    return -1;
  return 0;
}
