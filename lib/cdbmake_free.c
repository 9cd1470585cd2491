/*
 * cdbmake_free: libowfat's cdb_make allocates a chain of hash lists while
 * records are added and one table in cdb_make_finish, and frees neither.
 */
#include <stdlib.h>
#include "cdbmap.h"

void cdbmake_free(struct cdb_make *cm)
{
  struct cdb_hplist *x = cm->head;

  while (x != NULL) {
    struct cdb_hplist *next = x->next;
    free(x);
    x = next;
  }
  cm->head = NULL;
  free(cm->split);
  cm->split = NULL;
  cm->hash = NULL;
}
