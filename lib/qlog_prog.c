/* qlog_prog: the program name in front of every log line; main sets it. */
#include "qlog.h"

const char *qlog_prog = "qmta";
