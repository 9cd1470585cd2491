/* tests/unit/t_logstamp.c: logstamp_scan, the timestamps s6-log writes */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "logstamp.h"

static size_t scan(const char *s, unsigned long long *us)
{
  return logstamp_scan(s, strlen(s), us);
}

int main(void)
{
  unsigned long long us;
  struct tm tm;
  time_t when;

  setenv("TZ", "UTC", 1);
  tzset();
  memset(&tm, 0, sizeof tm);
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 6;
  tm.tm_hour = 4;
  tm.tm_min = 5;
  tm.tm_sec = 6;
  when = mktime(&tm);

  plan(8);
  ok(scan("2026-12-06 04:05:06.250000000  qsend: ready", &us) == 31 &&
     us == (unsigned long long)when * 1000000ULL + 250000, "ISO with nanoseconds, blanks skipped");
  ok(scan("2026-12-06 04:05:06 qsend: ready", &us) == 20 &&
     us == (unsigned long long)when * 1000000ULL, "ISO without a fraction");
  /* 2^62 + 37 + 1764993906 seconds, 500000000 ns */
  ok(scan("@400000006933ab971dcd6500 qsend: ready", &us) == 26 &&
     us == 1764993906ULL * 1000000ULL + 500000, "TAI64N");
  ok(scan("@400000006933ab971dcd6500 2026-12-06 04:05:06.9 x", &us) == 48 &&
     us == 1764993906ULL * 1000000ULL + 500000, "both: TAI64N wins, both skipped");
  ok(scan("qsend: ready", &us) == 0 && us == 0, "no stamp");
  ok(scan("@4000000069339b9b1dcd650 x", &us) == 0 && us == 0, "TAI64N one digit short");
  ok(scan("@4000000069339b9b1dcd65zz x", &us) == 0, "TAI64N with a bad digit");
  ok(scan("2026-12-06 04:0x:06 x", &us) == 0 && us == 0, "ISO with a bad digit");
  return done_testing();
}
