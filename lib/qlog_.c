/* qlog_: one line on fd 2 (see qlog.h). */
#include <stdarg.h>
#include "qlog.h"

void qlog_(const char *s, ...)
{
  va_list ap;
  int e = 0;

  va_start(ap, s);
  qlog_v((const char *)0, e, s, ap);
  va_end(ap);
}
