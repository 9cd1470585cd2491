/*
 * dmarc_alabel: a U-label as its A-label ("xn--" and Punycode, RFC 3492),
 * as RFC 9989 asks for an Author Domain given in UTF-8 (RFC 5890 2.3).
 * The label is taken as it is: no Unicode normalization or mapping, which
 * needs tables (XXX(#13): IDNA2008 validity is not checked). libc only
 * (dmarc.h). Library code.
 */
#include <string.h>

#include "dmarc.h"

#define BASE 36
#define TMIN 1
#define TMAX 26
#define SKEW 38
#define DAMP 700
#define LABEL_MAX 63   /* RFC 1035 2.3.4 */
#define POINTS_MAX 63  /* an A-label is at least as long as its code points */

/* UTF-8 of s (len bytes) into points; their count, or -1 if invalid */
static int decode(const char *s, size_t len, unsigned long *points)
{
  int n = 0;
  size_t i = 0;

  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    unsigned long cp;
    size_t more;

    if (n == POINTS_MAX) return -1;
    if (c < 0x80) {
      cp = c;
      more = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      cp = c & 0x1f;
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      cp = c & 0x0f;
      more = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = c & 0x07;
      more = 3;
    } else {
      return -1;
    }
    if (more > len - i - 1) return -1;
    for (size_t k = 1; k <= more; k++) {
      unsigned char cc = (unsigned char)s[i + k];
      if ((cc & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return -1;
    points[n++] = cp;
    i += more + 1;
  }
  return n;
}

static unsigned long adapt(unsigned long delta, unsigned long points, int first)
{
  unsigned long k = 0;

  delta = first ? delta / DAMP : delta / 2;
  delta += delta / points;
  while (delta > ((BASE - TMIN) * TMAX) / 2) {
    delta /= BASE - TMIN;
    k += BASE;
  }
  return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

static char digit(unsigned long d)
{
  return d < 26 ? (char)('a' + d) : (char)('0' + d - 26);
}

int dmarc_alabel(const char *label, size_t len, char *out, size_t outsize)
{
  unsigned long points[POINTS_MAX];
  unsigned long n = 0x80;
  unsigned long delta = 0;
  unsigned long bias = 72;
  unsigned long h;
  unsigned long b = 0;
  size_t o = 0;
  int count = decode(label, len, points);

  if (count <= 0 || outsize < 5) return -1;
  memcpy(out, "xn--", 4);
  o = 4;
  for (int i = 0; i < count; i++) {
    if (points[i] >= 0x80) continue;
    if (o >= LABEL_MAX || o + 1 >= outsize) return -1;
    out[o++] = (char)points[i];
    b++;
  }
  if (b == (unsigned long)count) return -1; /* all ASCII: not a U-label */
  if (b > 0) {
    if (o >= LABEL_MAX || o + 1 >= outsize) return -1;
    out[o++] = '-';
  }

  /* RFC 3492 6.3; the values stay far below overflow: at most 63 code
     points up to 0x10ffff */
  for (h = b; h < (unsigned long)count;) {
    unsigned long m = 0x110000;

    for (int i = 0; i < count; i++)
      if (points[i] >= n && points[i] < m) m = points[i];
    delta += (m - n) * (h + 1);
    n = m;
    for (int i = 0; i < count; i++) {
      if (points[i] < n) delta++;
      if (points[i] != n) continue;
      unsigned long q = delta;
      for (unsigned long k = BASE;; k += BASE) {
        unsigned long t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
        if (q < t) break;
        if (o >= LABEL_MAX || o + 1 >= outsize) return -1;
        out[o++] = digit(t + (q - t) % (BASE - t));
        q = (q - t) / (BASE - t);
      }
      if (o >= LABEL_MAX || o + 1 >= outsize) return -1;
      out[o++] = digit(q);
      bias = adapt(delta, h + 1, h == b);
      delta = 0;
      h++;
    }
    delta++;
    n++;
  }
  out[o] = '\0';
  return (int)o;
}
