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
 * directory read, instead of guessing at slots). A file is reused only by its owner: owner,
 * group and mode of a queue file stay what queue_open gave them.
 * qsend tries slots from a moving start, QUEUE_POOL_PROBES at most; a full
 * or missing pool only means an unlink here and a new file there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fmt.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h> /* rename(2) only */
#include "queue.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static unsigned long cursor;

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

int queue_pool_put(const char *path)
{
  struct stat st;
  char slot[QUEUE_PATH_MAX];
  int i;

  if (lstat(path, &st) == -1) return -1;
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size > QUEUE_POOL_FILEMAX) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < QUEUE_POOL_PROBES; i++) {
    slot_name(slot, (unsigned long)st.st_uid, cursor++);
    if (syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, slot, RENAME_NOREPLACE) == 0) return 0;
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
