/* qlog_ulong: n in decimal into buf (FMT_ULONG bytes), NUL-terminated. */
#include <fmt.h>
#include "qlog.h"

char *qlog_ulong(char *buf, unsigned long n)
{
  buf[fmt_ulong(buf, n)] = '\0';
  return buf;
}
