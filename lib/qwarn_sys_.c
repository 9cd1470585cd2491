/* qwarn_sys_: one line on fd 2 (see qlog.h). */
#include <errno.h>
#include <stdarg.h>
#include "qlog.h"

void qwarn_sys_(const char *s, ...)
{
  va_list ap;
  int e = errno;

  va_start(ap, s);
  qlog_v("warning: ", e, s, ap);
  va_end(ap);
}
