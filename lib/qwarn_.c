/* qwarn_: one line on fd 2 (see qlog.h). */
#include <stdarg.h>
#include "qlog.h"

void qwarn_(const char *s, ...)
{
  va_list ap;
  int e = 0;

  va_start(ap, s);
  qlog_v("warning: ", e, s, ap);
  va_end(ap);
}
