#ifndef DATEFMT_H
#define DATEFMT_H
/*
 * datefmt: dates as we write them, without stdio.
 *
 * date822: an RFC 5322 3.3 date-time, e.g. "Thu, 13 Feb 2025 10:04:05 +0100".
 * Written by qinject (its Received: field), qsmtpd (its Received: field),
 * sendmail (a missing Date: field, in local time) and qsend (the dates of
 * its reports).
 *
 * datetime: "2025-02-13 10:04:05" in local time, for people reading the
 * admin tools (qstat, qstats).
 */
#include <stddef.h>
#include <time.h>

#define DATE822_MAX 40 /* "Www, dd Mmm yyyyyyyyyyy hh:mm:ss +hhmm" and NUL */

/* Writes the date of t into dest (DATE822_MAX bytes), NUL-terminated;
 * local: 1 local time with its offset, 0 UTC ("+0000"). Returns the length,
 * 0 if the time cannot be converted. */
size_t date822_fmt(char *dest, time_t t, int local);

#define DATETIME_MAX 40 /* "yyyyyyyyyyy-mm-dd hh:mm:ss" and NUL, with room */
/* Writes the local date and time of t into dest (DATETIME_MAX bytes),
 * NUL-terminated; the time of day is the last 8 bytes. Returns the
 * length, 0 if the time cannot be converted. */
size_t datetime_fmt(char *dest, time_t t);

#endif
