/* qdie_nomem: "PROG: fatal: out of memory" on fd 2, then _exit(111).
 * For short-lived programs, which leave nothing half-written; a daemon
 * defers the job instead. Programs only. */
#include "qlog.h"

void qdie_nomem(void)
{
  qdie(111, "out of memory");
}
