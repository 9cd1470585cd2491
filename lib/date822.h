#ifndef DATE822_H
#define DATE822_H
/*
 * date822: an RFC 5322 3.3 date-time, e.g. "Thu, 13 Feb 2025 10:04:05 +0100".
 * Written by qinject (its Received: field), qsmtpd (its Received: field),
 * sendmail (a missing Date: field, in local time) and qsend (the dates of
 * its reports).
 */
#include <stddef.h>
#include <time.h>

#define DATE822_MAX 40 /* "Www, dd Mmm yyyyyyyyyyy hh:mm:ss +hhmm" and NUL */

/* Writes the date of t into dest (DATE822_MAX bytes), NUL-terminated;
 * local: 1 local time with its offset, 0 UTC ("+0000"). Returns the length,
 * 0 if the time cannot be converted. */
size_t date822_fmt(char *dest, time_t t, int local);

#endif
