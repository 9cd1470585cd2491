/*
 * datetime_fmt: "YYYY-MM-DD hh:mm:ss" in local time (datefmt.h), the form
 * qstat and qstats show dates in.
 */
#include <time.h>

#include <fmt.h>

#include "datefmt.h"

size_t datetime_fmt(char *dest, time_t t)
{
  struct tm tm;
  size_t n = 0;

  if (localtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mon > 11)
    return 0;
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_year + 1900, 4);
  dest[n++] = '-';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_mon + 1, 2);
  dest[n++] = '-';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_mday, 2);
  dest[n++] = ' ';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_hour, 2);
  dest[n++] = ':';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_min, 2);
  dest[n++] = ':';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_sec, 2);
  dest[n] = '\0';
  return n;
}
