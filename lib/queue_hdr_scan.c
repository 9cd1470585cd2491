/* queue_hdr_scan: the message length from a queue file's header. */
#include "queue.h"

int queue_hdr_scan(const char hdr[QUEUE_HDRLEN], unsigned long long *len)
{
  unsigned long long n = 0;
  int i;

  if (hdr[0] != 'Q' || hdr[1] != '1' || hdr[2] != ' ' || hdr[23] != '\n') return -1;
  for (i = 3; i < 23; i++) {
    unsigned int d = (unsigned int)(unsigned char)hdr[i] - '0';

    if (d > 9) return -1;
    if (n > (~0ULL - d) / 10) return -1;
    n = n * 10 + d;
  }
  *len = n;
  return 0;
}
