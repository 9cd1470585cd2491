/* qdie_: "PROG: fatal: ..." on fd 2, then _exit(code). Programs only. */
#include <stdarg.h>
#include <unistd.h>
#include "qlog.h"

void qdie_(int code, const char *s, ...)
{
  va_list ap;
  int e = 0;

  va_start(ap, s);
  qlog_v("fatal: ", e, s, ap);
  va_end(ap);
  _exit(code);
}
