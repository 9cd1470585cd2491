/*
 * milter_head, milter_len: the length prefix of a milter packet
 * (milter.h).
 */
#include <stdint.h>

#include "milter.h"

int milter_head(char out[5], char cmd, size_t len)
{
  uint32_t n;

  if (len >= UINT32_MAX) return -1;
  n = (uint32_t)len + 1;
  out[0] = (char)(n >> 24);
  out[1] = (char)(n >> 16);
  out[2] = (char)(n >> 8);
  out[3] = (char)n;
  out[4] = cmd;
  return 0;
}

size_t milter_len(const char head[4], size_t max)
{
  const unsigned char *h = (const unsigned char *)head;
  uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];

  if (n == 0 || n > max) return 0;
  return n;
}
