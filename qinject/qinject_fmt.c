/*
 * qinject_fmt: decimal numbers and RFC 5322 3.3 dates without stdio.
 */
#include <time.h>

#include "qinject_fmt.h"

size_t fmtnum0(char *dest, unsigned long long n, size_t width)
{
  char tmp[FMT_NUM];
  size_t len = 0;
  size_t i;

  do {
    tmp[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len < width && len < sizeof tmp) tmp[len++] = '0';
  if (dest != NULL)
    for (i = 0; i < len; i++) dest[i] = tmp[len - 1 - i];
  return len;
}

size_t fmtnum(char *dest, unsigned long long n)
{
  return fmtnum0(dest, n, 0);
}

static const char days[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

size_t date822_fmt(char *dest, time_t t, int local)
{
  struct tm tm;
  size_t n = 0;
  long offset = 0;
  unsigned long year;

  if (local) {
    if (localtime_r(&t, &tm) == NULL) return 0;
    offset = tm.tm_gmtoff / 60; /* minutes east of UTC */
  } else if (gmtime_r(&t, &tm) == NULL) {
    return 0;
  }
  if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
      tm.tm_year < -1900 + 1 || tm.tm_year > 99999999)
    return 0;
  year = (unsigned long)tm.tm_year + 1900;

  dest[n++] = days[tm.tm_wday * 3];
  dest[n++] = days[tm.tm_wday * 3 + 1];
  dest[n++] = days[tm.tm_wday * 3 + 2];
  dest[n++] = ',';
  dest[n++] = ' ';
  n += fmtnum0(dest + n, (unsigned long)tm.tm_mday, 2);
  dest[n++] = ' ';
  dest[n++] = months[tm.tm_mon * 3];
  dest[n++] = months[tm.tm_mon * 3 + 1];
  dest[n++] = months[tm.tm_mon * 3 + 2];
  dest[n++] = ' ';
  n += fmtnum0(dest + n, year, 4);
  dest[n++] = ' ';
  n += fmtnum0(dest + n, (unsigned long)tm.tm_hour, 2);
  dest[n++] = ':';
  n += fmtnum0(dest + n, (unsigned long)tm.tm_min, 2);
  dest[n++] = ':';
  n += fmtnum0(dest + n, (unsigned long)tm.tm_sec, 2);
  dest[n++] = ' ';
  dest[n++] = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  n += fmtnum0(dest + n, (unsigned long)(offset / 60 % 100), 2);
  n += fmtnum0(dest + n, (unsigned long)(offset % 60), 2);
  dest[n] = 0;
  return n;
}
