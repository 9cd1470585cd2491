/*
 * b64_decode: strict base64 decoding for SASL responses (see b64.h).
 */
#include "b64.h"

static int b64_value(int c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

size_t b64_decode(char *out, size_t max, const char *s, size_t len)
{
  size_t i;
  size_t n = 0;
  unsigned long acc = 0;
  int bits = 0;
  size_t pad = 0;

  if (len % 4 != 0) return (size_t)-1;
  for (i = 0; i < len; i++) {
    int v;
    if (s[i] == '=') {
      /* only at the end, at most two */
      if (i < len - 2) return (size_t)-1;
      pad++;
      continue;
    }
    if (pad > 0) return (size_t)-1;
    v = b64_value((unsigned char)s[i]);
    if (v == -1) return (size_t)-1;
    acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= max) return (size_t)-1;
      out[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  if (pad > 2) return (size_t)-1;
  return n;
}
