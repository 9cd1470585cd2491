/*
 * datefmt: the dates we write (datefmt.h), without stdio: date822_fmt
 * (RFC 5322 3.3: the day and the hours, minutes and seconds take two
 * digits, the year four) and datetime_fmt ("YYYY-MM-DD hh:mm:ss", local).
 */
#include <time.h>

#include <fmt.h>

#include "datefmt.h"

static const char days[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static size_t put3(char *dest, const char *names, int i)
{
  dest[0] = names[i * 3];
  dest[1] = names[i * 3 + 1];
  dest[2] = names[i * 3 + 2];
  return 3;
}

/* "hh:mm:ss" of tm. */
static size_t put_hms(char *dest, const struct tm *tm)
{
  size_t n = 0;

  n += fmt_ulong0(dest + n, (unsigned long)tm->tm_hour, 2);
  dest[n++] = ':';
  n += fmt_ulong0(dest + n, (unsigned long)tm->tm_min, 2);
  dest[n++] = ':';
  n += fmt_ulong0(dest + n, (unsigned long)tm->tm_sec, 2);
  return n;
}

size_t date822_fmt(char *dest, time_t t, int local)
{
  struct tm tm;
  size_t n = 0;
  long offset = 0;

  if (local) {
    if (localtime_r(&t, &tm) == NULL) return 0;
    offset = tm.tm_gmtoff / 60; /* minutes east of UTC */
  } else if (gmtime_r(&t, &tm) == NULL) {
    return 0;
  }
  if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
      tm.tm_year < -1900 + 1 || tm.tm_year > 99999999)
    return 0;

  n += put3(dest + n, days, tm.tm_wday);
  dest[n++] = ',';
  dest[n++] = ' ';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_mday, 2);
  dest[n++] = ' ';
  n += put3(dest + n, months, tm.tm_mon);
  dest[n++] = ' ';
  n += fmt_ulong0(dest + n, (unsigned long)tm.tm_year + 1900, 4);
  dest[n++] = ' ';
  n += put_hms(dest + n, &tm);
  dest[n++] = ' ';
  dest[n++] = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  n += fmt_ulong0(dest + n, (unsigned long)(offset / 60 % 100), 2);
  n += fmt_ulong0(dest + n, (unsigned long)(offset % 60), 2);
  dest[n] = '\0';
  return n;
}

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
  n += put_hms(dest + n, &tm);
  dest[n] = '\0';
  return n;
}
