/* qdie_usage: "PROG: fatal: usage: USAGE" on fd 2, then _exit(100).
 * Every program's answer to misuse. Programs only. */
#include "qlog.h"

void qdie_usage(const char *usage)
{
  qdie(100, "usage: ", usage);
}
