#ifndef TMPDIR_H
#define TMPDIR_H
/* Temp directories for the lib unit tests: made under $TMPDIR (or /tmp),
 * removed with everything in them at the end. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir_path[256];

__attribute__((unused)) static const char *tmpdir_make(void)
{
  const char *t = getenv("TMPDIR");

  if (t == NULL || *t == '\0') t = "/tmp";
  snprintf(tmpdir_path, sizeof tmpdir_path, "%s/qmta-unit.XXXXXX", t);
  if (mkdtemp(tmpdir_path) == NULL) {
    perror("mkdtemp");
    exit(1);
  }
  return tmpdir_path;
}

static int tmpdir_rm1(const char *p, const struct stat *st, int flag, struct FTW *f)
{
  (void)st;
  (void)flag;
  (void)f;
  return remove(p);
}

__attribute__((unused)) static void tmpdir_remove(void)
{
  if (tmpdir_path[0] != '\0') nftw(tmpdir_path, tmpdir_rm1, 16, FTW_DEPTH | FTW_PHYS);
  tmpdir_path[0] = '\0';
}

/* writes s into file fn (relative names allowed); 0 ok */
__attribute__((unused)) static int tmpdir_put(const char *fn, const char *s, size_t len)
{
  FILE *f = fopen(fn, "w");

  if (f == NULL) return -1;
  if (len > 0 && fwrite(s, 1, len, f) != len) {
    fclose(f);
    return -1;
  }
  return fclose(f) == 0 ? 0 : -1;
}
#endif
