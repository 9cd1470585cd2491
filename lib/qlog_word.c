/*
 * qlog_word: text from a client (an address: a quoted local part may
 * hold blanks) as one word of a log line. Every blank becomes '?', so
 * that the text can never put a field of its own (" size 9", " spf=pass",
 * " failed:") into a line that qstats, qmetrics or a filter reads.
 */
#include "qlog.h"

char *qlog_word(char *dest, size_t size, const char *s)
{
  size_t n = 0;

  if (size == 0) return dest;
  while (s[n] != '\0' && n + 1 < size) {
    dest[n] = s[n] == ' ' || s[n] == '\t' ? '?' : s[n];
    n++;
  }
  dest[n] = '\0';
  return dest;
}
