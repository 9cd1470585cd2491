/*
 * cdbmap_get: a map opened once per process and kept open.
 *
 * A lookup that opened, mapped, unmapped and closed the file each time
 * cost six system calls, and unmapping is dear on a virtual machine (qsmtpd
 * did it three times per message). The file is checked with one stat per
 * call instead: qnewmaps replaces a map by renaming a new file over it, so
 * another device or inode number means a new map, which is opened then;
 * a removed file means no map. The kept descriptors are close-on-exec.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "cdbmap.h"

#define KEPT 4          /* maps one process keeps open */
#define KEPT_NAME 128   /* longest file name kept; longer ones are opened each time */

struct kept {
  char fn[KEPT_NAME];
  dev_t dev;
  ino_t ino;
  struct cdbmap m;
};

static struct kept kept[KEPT];
static unsigned int next_slot;

int cdbmap_get(struct cdbmap **m, const char *fn)
{
  static struct cdbmap once = {.fd = -1}; /* a name too long to keep */
  struct stat st;
  struct kept *k = NULL;
  size_t len = strlen(fn);
  unsigned int i;
  int r;

  for (i = 0; i < KEPT; i++)
    if (kept[i].fn[0] != '\0' && strcmp(kept[i].fn, fn) == 0) k = &kept[i];
  if (stat(fn, &st) == -1) {
    if (k != NULL) { /* gone: forget it */
      cdbmap_close(&k->m);
      k->fn[0] = '\0';
    }
    return errno == ENOENT ? 0 : -1;
  }
  if (k != NULL && k->dev == st.st_dev && k->ino == st.st_ino) {
    *m = &k->m;
    return 1;
  }
  if (len >= KEPT_NAME) {
    cdbmap_close(&once);
    r = cdbmap_open(&once, fn);
    if (r == 1) *m = &once;
    return r;
  }
  if (k == NULL) k = &kept[next_slot++ % KEPT];
  if (k->fn[0] != '\0') cdbmap_close(&k->m);
  k->fn[0] = '\0';
  r = cdbmap_open(&k->m, fn);
  if (r != 1) return r;
  /* the file opened may be newer than the one stat saw: either is a whole map */
  if (fstat(k->m.fd, &st) == -1) {
    int e = errno;
    cdbmap_close(&k->m);
    errno = e;
    return -1;
  }
  memcpy(k->fn, fn, len + 1);
  k->dev = st.st_dev;
  k->ino = st.st_ino;
  *m = &k->m;
  return 1;
}
