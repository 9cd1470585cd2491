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

#include "qsmtpd.h"

static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char month[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char *put2(char *p, int v)
{
  *p++ = (char)('0' + v / 10 % 10);
  *p++ = (char)('0' + v % 10);
  return p;
}

size_t received_date(char *buf, long long t)
{
  struct tm tm;
  time_t tt = (time_t)t;
  char *p = buf;
  int year;

  if (gmtime_r(&tt, &tm) == NULL) {
    tt = 0;
    gmtime_r(&tt, &tm);
  }
  *p++ = wday[tm.tm_wday % 7][0];
  *p++ = wday[tm.tm_wday % 7][1];
  *p++ = wday[tm.tm_wday % 7][2];
  *p++ = ',';
  *p++ = ' ';
  p = put2(p, tm.tm_mday);
  *p++ = ' ';
  *p++ = month[tm.tm_mon % 12][0];
  *p++ = month[tm.tm_mon % 12][1];
  *p++ = month[tm.tm_mon % 12][2];
  *p++ = ' ';
  year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) year = 1970;
  p = put2(p, year / 100);
  p = put2(p, year % 100);
  *p++ = ' ';
  p = put2(p, tm.tm_hour);
  *p++ = ':';
  p = put2(p, tm.tm_min);
  *p++ = ':';
  p = put2(p, tm.tm_sec);
  *p++ = ' ';
  *p++ = '+';
  *p++ = '0';
  *p++ = '0';
  *p++ = '0';
  *p++ = '0';
  *p = '\0';
  return (size_t)(p - buf);
}

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
  char date[40];

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
  received_date(date, r->now);
  if (!stralloc_cats(sa, ";\n\t") || !stralloc_cats(sa, date) || !stralloc_cats(sa, "\n"))
    return -1;
  return 0;
}
