/* msgid_local: see msgid.h. */
#include <unistd.h>

#include "msgid.h"

size_t msgid_local(char *buf, const struct timespec *ts)
{
  size_t n = fmt_ulonglong(buf, (unsigned long long)ts->tv_sec);

  buf[n++] = '.';
  n += fmt_ulong0(buf + n, (unsigned long)ts->tv_nsec, 9);
  buf[n++] = '.';
  n += fmt_ulonglong(buf + n, (unsigned long long)getpid());
  return n;
}
