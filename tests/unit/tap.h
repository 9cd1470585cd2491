#ifndef TAP_H
#define TAP_H
/* A tiny TAP producer for the C unit tests (run by prove). */
#include <stdio.h>

static int tap_planned;
static int tap_count;
static int tap_failed;

static void plan(int n)
{
  tap_planned = n;
  printf("1..%d\n", n);
}

static int ok_(int cond, const char *name, const char *file, int line)
{
  tap_count++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
  if (!cond) {
    tap_failed++;
    printf("#   failed at %s line %d\n", file, line);
  }
  fflush(stdout);
  return cond;
}
#define ok(cond, name) ok_((cond) != 0, (name), __FILE__, __LINE__)

static int done_testing(void)
{
  if (tap_planned != tap_count) printf("# planned %d, ran %d\n", tap_planned, tap_count);
  return tap_failed != 0 || tap_planned != tap_count;
}
#endif
