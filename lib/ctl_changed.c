/*
 * ctl_changed: whether a watched control file changed since the last look.
 * A file edited in place changes its size or times, one replaced by a
 * rename its inode, one created or removed its presence.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "ctl.h"

static int stamp_same(const struct ctl_stamp *a, const struct ctl_stamp *b)
{
  if (a->present != b->present) return 0;
  if (!a->present) return 1;
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
         a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int ctl_changed(struct ctl_watch *w)
{
  int changed = 0;
  size_t i;

  for (i = 0; i < CTL_WATCH_MAX && w->names[i] != NULL; i++) {
    struct ctl_stamp now;
    struct stat st;

    memset(&now, 0, sizeof now);
    if (stat(w->names[i], &st) == 0) {
      now.present = 1;
      now.dev = st.st_dev;
      now.ino = st.st_ino;
      now.size = st.st_size;
      now.mtime = st.st_mtim;
      now.ctime = st.st_ctim;
    } else if (errno != ENOENT) {
      now.present = -1; /* unreadable: read again, the reader reports why */
    }
    if (now.present == -1 || !stamp_same(&now, &w->stamp[i])) changed = 1;
    w->stamp[i] = now;
  }
  if (!w->primed) {
    w->primed = 1;
    return 0;
  }
  return changed;
}
