/*
 * Small text helpers: qtls_clean (safe tokens and text for status and log
 * lines), qtls_cat (bounded concatenation), qtls_ulong, qtls_scan_uint.
 */
#include <stdarg.h>
#include <string.h>

#include "qtls.h"

static int is_token_byte(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

char *qtls_clean(char *dst, size_t dstsize, const char *src, int token, int keep_space)
{
  size_t i;

  if (dstsize == 0) return dst;
  for (i = 0; i + 1 < dstsize && src[i] != '\0'; i++) {
    unsigned char c = (unsigned char)src[i];
    int good;

    if (token) good = is_token_byte(c);
    else good = (c > 0x20 && c < 0x7f) || (keep_space && c == ' ');
    dst[i] = good ? (char)c : '?';
  }
  dst[i] = '\0';
  return dst;
}

char *qtls_cat_(char *dst, size_t dstsize, ...)
{
  va_list ap;
  const char *s;
  size_t len;

  if (dstsize == 0) return dst;
  len = strnlen(dst, dstsize - 1);
  va_start(ap, dstsize);
  while ((s = va_arg(ap, const char *)) != NULL)
    while (*s != '\0' && len + 1 < dstsize) dst[len++] = *s++;
  va_end(ap);
  dst[len] = '\0';
  return dst;
}

char *qtls_ulong(char *buf, unsigned long long n)
{
  char tmp[QTLS_ULONG];
  size_t len = 0;
  size_t i;

  do {
    tmp[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (i = 0; i < len; i++) buf[i] = tmp[len - 1 - i];
  buf[len] = '\0';
  return buf;
}

int qtls_scan_uint(const char *s, unsigned int *n)
{
  unsigned int v = 0;

  if (*s == '\0') return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (unsigned int)(*s - '0');
    if (v > 86400) return -1; /* a day is more than any handshake needs */
  }
  if (v == 0) return -1;
  *n = v;
  return 0;
}
