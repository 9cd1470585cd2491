/*
 * queue_pool: the files of finished messages, kept for new ones.
 *
 * On ext4 without a journal a new inode is never one freed in the last
 * minutes: the allocator reads each such inode to skip it. A queue that
 * creates and removes a file per message makes every creation walk past
 * thousands of them (measured: a fifth of all CPU at a few hundred
 * messages a second, in qinject and in Maildir deliveries alike). So qsend
 * moves a finished queue file into queue/pool/UID.N instead of unlinking
 * it, and queue_open, running as UID, takes one back by renaming it to its
 * temp name and truncating it (it reads the pool's names first: one
 * directory read, instead of guessing at slots). A file is reused only by
 * its owner: owner, group and mode of a queue file stay what queue_open
 * gave them. qsend tries slots from a moving start, QUEUE_POOL_PROBES at
 * most; a full or missing pool only means an unlink here and a new file
 * there.
 *
 * The pool is a cache of disk space and must never cost a message:
 *   - in all it holds at most queue_pool_budget() bytes (a small share of
 *     the file system, capped), and nothing while the file system is short
 *     of space (the free space is looked at once a second at most). qsend,
 *     the only one who puts, keeps count of the bytes it put since it last
 *     counted the pool (takes are not seen, so the count only errs high)
 *     and counts again when a put would pass the budget;
 *   - qsend sweeps it once a minute (queue_pool_sweep): a file not taken
 *     for QUEUE_POOL_IDLE seconds (its ctime is when it came in: rename
 *     sets it) is dropped, so an account that stopped sending keeps
 *     nothing; whatever passes the budget (which shrinks as the disk
 *     fills) goes too;
 *   - a writer that meets ENOSPC or EDQUOT empties it (queue_pool_drain)
 *     and tries once more before it gives up (queue_write.c).
 * Busy writers lose nothing by this: their files come back within
 * seconds, and a queue of ordinary messages fits the budget many times.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fmt.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h> /* rename(2) only */
#include "queue.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static unsigned long cursor;
static unsigned long long held;   /* bytes in the pool when last counted, plus puts since */
static unsigned long long budget; /* bytes it may hold, as of the last count */
static time_t counted;            /* when held was counted; 0: never */

/* "queue/pool/UID.N" into buf (QUEUE_PATH_MAX bytes) */
static void slot_name(char *buf, unsigned long uid, unsigned long n)
{
  size_t o = 11;

  memcpy(buf, "queue/pool/", 11);
  o += fmt_ulong(buf + o, uid);
  buf[o++] = '.';
  o += fmt_ulong(buf + o, n % QUEUE_POOL);
  buf[o] = '\0';
}

/* the disk space a file takes */
static unsigned long long space_of(const struct stat *st)
{
  unsigned long long b = (unsigned long long)st->st_blocks * 512ULL;
  unsigned long long s = st->st_size > 0 ? (unsigned long long)st->st_size : 0;

  return b > s ? b : s;
}

unsigned long long queue_pool_budget(unsigned long long fs_bytes, unsigned long long free_bytes)
{
  unsigned long long b = fs_bytes / QUEUE_POOL_SHARE;

  if (free_bytes < fs_bytes / QUEUE_POOL_SHORT) return 0;
  return b < QUEUE_POOL_BYTES ? b : QUEUE_POOL_BYTES;
}

/* The budget of the file system that holds the pool now (0 if unknown). */
static unsigned long long budget_now(void)
{
  struct statvfs vfs;
  unsigned long long unit;

  if (statvfs("queue/pool", &vfs) == -1) return 0;
  unit = vfs.f_frsize != 0 ? (unsigned long long)vfs.f_frsize : (unsigned long long)vfs.f_bsize;
  return queue_pool_budget((unsigned long long)vfs.f_blocks * unit,
                           (unsigned long long)vfs.f_bavail * unit);
}

int queue_pool_sweep(time_t now, unsigned long long *bytes_kept)
{
  DIR *dir = opendir("queue/pool");
  struct dirent *d;
  unsigned long long kept = 0;
  int dropped = 0;

  budget = budget_now();
  if (dir == NULL) {
    held = 0;
    counted = now;
    if (bytes_kept != NULL) *bytes_kept = 0;
    return -1;
  }
  while ((d = readdir(dir)) != NULL) {
    struct stat st;
    unsigned long long space;

    if (d->d_name[0] == '.') continue;
    if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) continue;
    space = space_of(&st);
    if (S_ISREG(st.st_mode) && st.st_ctime + QUEUE_POOL_IDLE >= now && kept + space <= budget) {
      kept += space;
      continue;
    }
    /* idle, over the budget, or no plain file at all (an empty directory goes too) */
    if (unlinkat(dirfd(dir), d->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0) dropped++;
  }
  closedir(dir);
  held = kept;
  counted = now;
  if (bytes_kept != NULL) *bytes_kept = kept;
  return dropped;
}

int queue_pool_drain(void)
{
  DIR *dir = opendir("queue/pool");
  struct dirent *d;
  int dropped = 0;
  int e = errno;

  if (dir == NULL) {
    errno = e;
    return 0;
  }
  while ((d = readdir(dir)) != NULL)
    if (d->d_name[0] != '.' && unlinkat(dirfd(dir), d->d_name, 0) == 0) dropped++;
  closedir(dir);
  held = 0;
  errno = e;
  return dropped;
}

int queue_pool_put(const char *path)
{
  struct stat st;
  char slot[QUEUE_PATH_MAX];
  unsigned long long space;
  time_t now = time(NULL);
  int i;

  if (lstat(path, &st) == -1) return -1;
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > QUEUE_POOL_FILEMAX) {
    errno = EINVAL;
    return -1;
  }
  space = space_of(&st);
  /* the budget follows the free space, read at every put (the disk may
   * have filled within the second); over it by our count (which errs
   * high): count again, at most every QUEUE_POOL_RECOUNT seconds */
  if (counted == 0 || (held + space > budget && now - counted >= QUEUE_POOL_RECOUNT)) {
    queue_pool_sweep(now, NULL);
  } else {
    budget = budget_now();
  }
  if (held + space > budget) {
    errno = ENOSPC;
    return -1;
  }
  for (i = 0; i < QUEUE_POOL_PROBES; i++) {
    slot_name(slot, (unsigned long)st.st_uid, cursor++);
    if (syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, slot, RENAME_NOREPLACE) == 0) {
      held += space;
      return 0;
    }
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

int queue_pool_take(const char *tmpname)
{
  char names[QUEUE_POOL][QUEUE_PATH_MAX];
  char prefix[FMT_ULONG + 1];
  size_t plen = fmt_ulong(prefix, (unsigned long)geteuid());
  size_t count = 0;
  size_t i;
  struct dirent *d;
  DIR *dir = opendir("queue/pool");

  if (dir == NULL) return -1;
  prefix[plen++] = '.';
  while (count < QUEUE_POOL && (d = readdir(dir)) != NULL) {
    size_t len = strlen(d->d_name);

    if (len <= plen || len + 12 > QUEUE_PATH_MAX || memcmp(d->d_name, prefix, plen) != 0)
      continue;
    memcpy(names[count], "queue/pool/", 11);
    memcpy(names[count] + 11, d->d_name, len + 1);
    count++;
  }
  closedir(dir);
  /* concurrent takers start at different files */
  for (i = 0; i < count; i++) {
    if (rename(names[((size_t)getpid() + i) % count], tmpname) == 0) return 0;
    if (errno != ENOENT) return -1;
  }
  return -1;
}
