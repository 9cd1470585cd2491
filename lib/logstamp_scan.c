/*
 * logstamp_scan: the timestamps in front of a log line (logstamp.h).
 */
#include <string.h>
#include <time.h>

#include "logstamp.h"

#define TAI_OFFSET 4611686018427387941ULL /* 2^62 + 10 + 27 leap seconds (skalibs) */
#define TAI_LEN 25                        /* "@" + 16 + 8 hex digits */

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* n decimal digits at s into *v; -1 if one is not a digit */
static int digits(const char *s, size_t n, unsigned long long *v)
{
  size_t i;

  *v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    *v = *v * 10 + (unsigned long long)(s[i] - '0');
  }
  return 0;
}

/* "@" + 24 hex digits and a blank: its length, 0 if none */
static size_t scan_tai(const char *s, size_t len, unsigned long long *us)
{
  unsigned long long sec = 0;
  unsigned long long nsec = 0;
  size_t i;

  if (len <= TAI_LEN || s[0] != '@' || s[TAI_LEN] != ' ') return 0;
  for (i = 1; i < TAI_LEN; i++) {
    int v = hexval(s[i]);
    if (v < 0) return 0;
    if (i <= 16) sec = sec << 4 | (unsigned long long)v;
    else nsec = nsec << 4 | (unsigned long long)v;
  }
  if (sec > TAI_OFFSET && nsec < 1000000000ULL) *us = (sec - TAI_OFFSET) * 1000000ULL + nsec / 1000;
  return TAI_LEN;
}

/* "YYYY-MM-DD HH:MM:SS" and a fraction up to the next blank: its length */
static size_t scan_iso(const char *s, size_t len, unsigned long long *us)
{
  static const size_t at[6] = {0, 5, 8, 11, 14, 17};
  static const size_t width[6] = {4, 2, 2, 2, 2, 2};
  unsigned long long f[6];
  unsigned long long frac = 0;
  unsigned long long scale = 100000;
  struct tm tm;
  time_t when;
  size_t i;

  if (len < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
    return 0;
  for (i = 0; i < 6; i++)
    if (digits(s + at[i], width[i], &f[i]) == -1) return 0;
  i = 19;
  if (i < len && s[i] == '.') {
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      frac += (unsigned long long)(s[i] - '0') * scale;
      scale /= 10;
    }
  }
  while (i < len && s[i] != ' ') i++;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = (int)f[0] - 1900;
  tm.tm_mon = (int)f[1] - 1;
  tm.tm_mday = (int)f[2];
  tm.tm_hour = (int)f[3];
  tm.tm_min = (int)f[4];
  tm.tm_sec = (int)f[5];
  tm.tm_isdst = -1;
  when = mktime(&tm);
  if (when != (time_t)-1 && when >= 0 && *us == 0)
    *us = (unsigned long long)when * 1000000ULL + frac;
  return i;
}

size_t logstamp_scan(const char *s, size_t len, unsigned long long *us)
{
  size_t i;
  size_t n;

  *us = 0;
  i = scan_tai(s, len, us);
  while (i < len && s[i] == ' ') i++;
  n = scan_iso(s + i, len - i, us);
  if (n == 0 && i == 0) return 0;
  i += n;
  while (i < len && s[i] == ' ') i++;
  return i;
}
