/*
 * queue_id_fmt: a message's queue id (queue.h): the time queue_open took
 * the file, in microseconds since the epoch, as QUEUE_ID_TIMELEN base-36
 * digits, then the file's inode number in base 36 (digits and capitals).
 */
#include "queue.h"

static const char digits36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static size_t fmt36(char *dest, unsigned long long n, size_t width)
{
  char tmp[QUEUE_ID_MAX];
  size_t len = 0;
  size_t i;

  do {
    tmp[len++] = digits36[n % 36];
    n /= 36;
  } while (n > 0 && len < sizeof tmp);
  while (len < width) tmp[len++] = '0';
  for (i = 0; i < len; i++) dest[i] = tmp[len - 1 - i];
  return len;
}

size_t queue_id_fmt(char *dest, unsigned long long usec, unsigned long long inode)
{
  size_t n;

  /* past 36^10 microseconds (year 2085) the time part keeps its width by
   * wrapping: uniqueness needs only that a reused inode gets another time */
  n = fmt36(dest, usec % QUEUE_ID_TIMESPAN, QUEUE_ID_TIMELEN);
  n += fmt36(dest + n, inode, 0);
  dest[n] = '\0';
  return n;
}
