/* durable_replace: rename tmp onto final, then fsync dir (final's directory). */
#include <stdio.h> /* rename(2) is declared here; no stdio is used */
#include "durable.h"

int durable_replace(const char *dir, const char *tmp, const char *final)
{
  if (rename(tmp, final) == -1) return -1;
  return durable_dirsync(dir);
}
