/* cdbmap_warn: a reporter for cdbmap_report that logs on fd 2 (qlog.h). */
#include "cdbmap.h"
#include "qlog.h"

void cdbmap_warn(const char *fn, const char *why)
{
  qwarn(fn, " is damaged: ", why,
        "; every lookup in it fails (temporarily) until it is rebuilt (qnewmaps)");
}
