#ifndef QINJECT_FMT_H
#define QINJECT_FMT_H
/*
 * qinject_fmt: numbers and dates without stdio, for qinject, sendmail,
 * qstat and qstats. (libowfat declares its fmt_ functions "pure", which
 * lets the compiler assume they write nothing, so we use these.)
 *
 * date822: an RFC 5322 3.3 date-time, e.g. "Thu, 13 Feb 2025 10:04:05 +0100".
 * Shared by qinject (its Received: line, in UTC) and sendmail (a missing
 * Date: header, in local time).
 */
#include <stddef.h>
#include <time.h>

#define DATE822_MAX 40 /* "Www, dd Mmm yyyyyyyyyyy hh:mm:ss +hhmm" and NUL */

/* Writes the date of t into dest (DATE822_MAX bytes), NUL-terminated;
 * local: 1 local time with its offset, 0 UTC ("+0000"). Returns the length,
 * 0 if the time cannot be converted. */
size_t date822_fmt(char *dest, time_t t, int local);

/* n in decimal into dest (FMT_NUM bytes suffice), not NUL-terminated;
 * returns the length. dest NULL only measures. */
#define FMT_NUM 21
size_t fmtnum(char *dest, unsigned long long n);
/* The same, with leading zeros up to width digits. */
size_t fmtnum0(char *dest, unsigned long long n, size_t width);

#endif
