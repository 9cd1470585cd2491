/* tests/unit/t_datefmt.c: date822_fmt and datetime_fmt, and fmt_ulong0
 * (fmtfix.h), which they and every zero-padded number of ours go through */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fmt.h>

#include "tap.h"
#include "datefmt.h"

int main(void)
{
  char buf[DATE822_MAX];
  char num[FMT_ULONG];

  plan(10);
  ok(fmt_ulong0(num, 7, 2) == 2 && memcmp(num, "07", 2) == 0, "fmt_ulong0: padded");
  ok(fmt_ulong0(num, 123, 2) == 3 && memcmp(num, "123", 3) == 0, "fmt_ulong0: wider than pad");
  ok(fmt_ulong0(num, 0, 0) == 1 && num[0] == '0', "fmt_ulong0: zero");
  ok(fmt_ulong0(NULL, 5, 9) == 9, "fmt_ulong0: NULL measures");

  ok(date822_fmt(buf, 0, 0) == 31 && strcmp(buf, "Thu, 01 Jan 1970 00:00:00 +0000") == 0,
     "the epoch in UTC");
  ok(date822_fmt(buf, 1700000000, 0) == 31 &&
     strcmp(buf, "Tue, 14 Nov 2023 22:13:20 +0000") == 0, "a later day");
  setenv("TZ", "EST5EDT", 1);
  tzset();
  ok(date822_fmt(buf, 1700000000, 1) == 31 &&
     strcmp(buf, "Tue, 14 Nov 2023 17:13:20 -0500") == 0, "local time with its offset");
  setenv("TZ", "IST-5:30", 1); /* POSIX form: no tzdata needed */
  tzset();
  ok(date822_fmt(buf, 1700000000, 1) == 31 &&
     strcmp(buf, "Wed, 15 Nov 2023 03:43:20 +0530") == 0, "half an hour east");
  setenv("TZ", "UTC0", 1);
  tzset();
  ok(datetime_fmt(buf, 1700000000) == 19 && strcmp(buf, "2023-11-14 22:13:20") == 0,
     "datetime in local time");
  ok(datetime_fmt(buf, 5) == 19 && strcmp(buf + 11, "00:00:05") == 0, "the time is the last 8");
  return done_testing();
}
