/* dkimc_add, dkimc_start: the lines of a request to qdkimd (dkimc.h). */
#include <string.h>

#include "dkimc.h"

/* n in decimal into num (21 bytes): num */
static const char *ulltoa(char *num, unsigned long long n)
{
  char tmp[21];
  size_t k = 0;
  size_t i = 0;

  do tmp[k++] = (char)('0' + n % 10); while ((n /= 10) != 0);
  while (k > 0) num[i++] = tmp[--k];
  num[i] = '\0';
  return num;
}

int dkimc_add(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
  size_t klen = strlen(key);
  size_t vlen = strnlen(value, DKIMP_VALUE_MAX);
  size_t at = *len;

  if (at > size || size - at < klen + vlen + 2) return -1;
  memcpy(buf + at, key, klen);
  at += klen;
  buf[at++] = ' ';
  for (size_t i = 0; i < vlen; i++) {
    unsigned char c = (unsigned char)value[i];
    buf[at++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
  }
  buf[at++] = '\n';
  *len = at;
  return 0;
}

int dkimc_start(char *buf, size_t size, size_t *len, const char *op, unsigned long long off,
                unsigned long long msglen)
{
  char num[21]; /* a 64-bit number in decimal, and its NUL */

  *len = 0;
  if (dkimc_add(buf, size, len, "op", op) == -1) return -1;
  if (dkimc_add(buf, size, len, "off", ulltoa(num, off)) == -1) return -1;
  return dkimc_add(buf, size, len, "len", ulltoa(num, msglen));
}
