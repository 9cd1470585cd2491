/*
 * dkim_b64: base64 for b=, bh= and p= (RFC 6376 2.7: whitespace anywhere
 * in the value is ignored). ISC licence.
 */
#include <string.h>

#include "dkim_int.h"

static const char alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(char c)
{
  const char *p = c != '\0' ? memchr(alphabet, c, 64) : NULL;
  return p != NULL ? (int)(p - alphabet) : -1;
}

long dkim_b64_decode(const char *s, size_t len, unsigned char *out, size_t outmax)
{
  unsigned long acc = 0;
  int bits = 0;
  int pad = 0;
  size_t chars = 0;
  size_t n = 0;
  size_t i;

  for (i = 0; i < len; i++) {
    char c = s[i];
    int v;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      pad++;
      chars++;
      if (pad > 2) return -1;
      continue;
    }
    if (pad > 0) return -1; /* data after padding */
    v = value_of(c);
    if (v == -1) return -1;
    chars++;
    acc = (acc << 6) | (unsigned long)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == outmax) return -1;
      out[n++] = (unsigned char)(acc >> bits);
      acc &= (1UL << bits) - 1;
    }
  }
  if (chars % 4 != 0) return -1;
  return (long)n;
}

size_t dkim_b64_encode(char *out, const unsigned char *in, size_t n)
{
  size_t o = 0;
  size_t i;

  for (i = 0; i + 2 < n; i += 3) {
    unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    unsigned long v = (unsigned long)in[i] << 16;
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}
