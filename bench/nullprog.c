/*
 * nullprog: reads its standard input to the end and exits 0 (not
 * installed). inject-bench.sh runs it in qinject's place to measure how
 * many programs this machine can start, feed and reap per second: the
 * ceiling of any design that starts one process per message.
 */
#include <unistd.h>

int main(void)
{
  char buf[8192];

  while (read(0, buf, sizeof buf) > 0) {}
  return 0;
}
