/* tests/unit/u_qauth_fail.c: the per-address failure table of qauth. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "qauth.h"

int main(void)
{
  char dir[] = "/tmp/u_qauth_fail.XXXXXX";
  char fn[64];
  unsigned long n = 0;
  unsigned long m = 0;
  struct stat st;
  int i;

  plan(14);
  if (mkdtemp(dir) == NULL) return 1;
  strcpy(fn, dir);
  strcat(fn, "/failures");

  ok(qauth_fail_add(fn, "192.0.2.1", 1000, 600, &n) == 0 && n == 1, "first failure counts 1");
  ok(qauth_fail_add(fn, "192.0.2.1", 1010, 600, &n) == 0 && n == 2, "second counts 2");
  ok(qauth_fail_add(fn, "192.0.2.2", 1010, 600, &m) == 0 && m == 1, "another address apart");
  ok(qauth_fail_add(fn, "192.0.2.1", 1020, 600, &n) == 0 && n == 3, "third counts 3");
  ok(qauth_fail_add(fn, "192.0.2.1", 2000, 600, &n) == 0 && n == 1, "window expired: 1 again");
  ok(qauth_fail_clear(fn, "192.0.2.1") == 0, "clear");
  ok(qauth_fail_add(fn, "192.0.2.1", 2001, 600, &n) == 0 && n == 1, "after clear: 1");
  ok(qauth_fail_add(fn, "192.0.2.2", 1020, 600, &m) == 0 && m == 2, "clear left the other");
  for (i = 0; i < 3000; i++) {
    char ip[32];
    strcpy(ip, "2001:db8::");
    ip[10] = (char)('a' + i % 26);
    ip[11] = (char)('a' + (i / 26) % 26);
    ip[12] = (char)('a' + (i / 676) % 26);
    ip[13] = '\0';
    qauth_fail_add(fn, ip, 3000, 600, &n);
  }
  ok(stat(fn, &st) == 0 && st.st_size <= QAUTH_FAIL_SLOTS * QAUTH_FAIL_SLOTLEN,
     "the table never grows past its slots");
  ok((st.st_mode & 077) == 0, "table not readable by others");

  ok(qauth_fail_delay(1, 1000, 16000) == 1000, "delay after one failure: base");
  ok(qauth_fail_delay(3, 1000, 16000) == 4000, "delay doubles");
  ok(qauth_fail_delay(50, 1000, 16000) == 16000, "delay capped");
  ok(qauth_fail_delay((unsigned long)-1, 1000, (unsigned long)-1) == (unsigned long)-1,
     "no overflow");

  unlink(fn);
  rmdir(dir);
  return done_testing();
}
