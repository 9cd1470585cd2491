/* dkimc_add: one "key value\n" line of a request to qdkimd (dkimc.h). */
#include <string.h>

#include "dkimc.h"

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
