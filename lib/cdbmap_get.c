/*
 * cdbmap_get: a map opened once per process and kept open.
 *
 * A lookup that opened, mapped, unmapped and closed the file each time
 * cost six system calls, and unmapping is dear on a virtual machine (qsmtpd
 * did it three times per message). The file is checked with one stat per
 * call instead: qnewmaps replaces a map by renaming a new file over it, so
 * another device or inode number means a new map, which is opened (and
 * checked) then; another size or time means the file was written in place
 * (the mapping would show the new bytes unchecked), so it is opened and
 * checked again too; a removed file means no map. The kept descriptors
 * are close-on-exec.
 *
 * A damaged file is remembered by the same identity: every call fails
 * with EPROTO at the cost of the stat alone, cdbmap_report hears of it
 * once, and the next file put in its place is opened and checked.
 * What the stat cannot see is a write into the file during the lookup
 * itself (or a cut under the mapping, which would be SIGBUS): qnewmaps
 * and "cdb -c" never write a map in place, they rename a new one over it.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "cdbmap.h"

#define KEPT 4          /* maps one process keeps open */
#define KEPT_NAME 128   /* longest file name kept; longer ones are opened each time */

struct kept {
  char fn[KEPT_NAME];
  int damaged;        /* m holds the identity and why of a damaged file, not an open map */
  struct cdbmap m;
};

void (*cdbmap_report)(const char *fn, const char *why);

static struct kept kept[KEPT];
static unsigned int next_slot;

static int same_time(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int same_file(const struct cdbmap *m, const struct stat *st)
{
  return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
         same_time(&m->mtime, &st->st_mtim) && same_time(&m->ctime, &st->st_ctim);
}

static void report(const char *fn, const struct cdbmap *m)
{
  if (cdbmap_report != NULL) cdbmap_report(fn, m->why != NULL ? m->why : "unknown");
}

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
  if (k != NULL && same_file(&k->m, &st)) {
    if (k->damaged) {
      errno = EPROTO;
      return -1;
    }
    *m = &k->m;
    return 1;
  }
  if (len >= KEPT_NAME) {
    cdbmap_close(&once);
    r = cdbmap_open(&once, fn);
    if (r == -1 && errno == EPROTO) {
      report(fn, &once);
      errno = EPROTO;
    }
    if (r == 1) *m = &once;
    return r;
  }
  if (k == NULL) k = &kept[next_slot++ % KEPT];
  if (k->fn[0] != '\0') cdbmap_close(&k->m); /* a damaged one is closed already */
  k->fn[0] = '\0';
  k->damaged = 0;
  r = cdbmap_open(&k->m, fn);
  if (r == -1 && errno == EPROTO) {
    /* the file opened may be newer than the one stat saw: either is remembered */
    memcpy(k->fn, fn, len + 1);
    k->damaged = 1;
    report(fn, &k->m);
    errno = EPROTO;
    return -1;
  }
  if (r != 1) return r;
  memcpy(k->fn, fn, len + 1);
  *m = &k->m;
  return 1;
}
