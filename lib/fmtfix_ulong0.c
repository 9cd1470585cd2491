/*
 * fmtfix_ulong0: fmt_ulong0 as libowfat documents it, which its own
 * build does not deliver (fmtfix.h). Every zero-padded number of ours
 * (dates, times, nanoseconds) goes through it.
 */
#include <stddef.h>

size_t fmtfix_ulong0(char *dest, unsigned long long n, size_t padto)
{
  char tmp[40]; /* FMT_ULONG: 2^128 in decimal, and more than any padto we use */
  size_t len = 0;
  size_t i;

  do {
    tmp[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len < padto && len < sizeof tmp) tmp[len++] = '0';
  if (dest != NULL)
    for (i = 0; i < len; i++) dest[i] = tmp[len - 1 - i];
  return len;
}
