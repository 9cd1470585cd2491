/* qlog_prog: the program name in front of every log line; main sets it.
 * qlog_tag: raw bytes before the plain lines (qlog.h). */
#include "qlog.h"

const char *qlog_prog = "qmta";
const char *qlog_tag;
