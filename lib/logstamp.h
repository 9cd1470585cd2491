#ifndef LOGSTAMP_H
#define LOGSTAMP_H
/*
 * logstamp: the timestamps s6-log puts in front of a log line (qstats,
 * qmetrics): TAI64N, "@" + 24 hex digits (s6-log's t), and/or ISO 8601
 * in local time, "YYYY-MM-DD HH:MM:SS.nnnnnnnnn" (s6-log's T), each
 * followed by blanks.
 */
#include <stddef.h>

/* Returns the bytes of s (len) to skip: the stamps and the blanks after
 * them (0 if the line has none). *us: their time, microseconds since the
 * epoch (the TAI64N one if both are there), or 0. */
size_t logstamp_scan(const char *s, size_t len, unsigned long long *us);

#endif
