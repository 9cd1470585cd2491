/* queue_hdr_fmt: "Q1 " + the message length in 20 digits + "\n". */
#include "queue.h"

void queue_hdr_fmt(char hdr[QUEUE_HDRLEN], unsigned long long len)
{
  int i;

  hdr[0] = 'Q';
  hdr[1] = '1';
  hdr[2] = ' ';
  for (i = 22; i >= 3; i--) {
    hdr[i] = (char)('0' + len % 10);
    len /= 10;
  }
  hdr[23] = '\n';
}
