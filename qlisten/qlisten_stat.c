/*
 * qlisten_stat: the connection count for qmetrics (-S file). qlisten
 * (still root, before it becomes -u) creates the file, 0644, and maps it;
 * afterwards each pass of the loop stores the count into the mapping: no
 * system call on the connection path. The file holds one line of three
 * 10-digit decimal fields (STAT_LEN bytes):
 *   "0000000012 0000000400 0000012345\n"   connections now, -c, qlisten's pid
 * A reader reads it twice and takes two equal copies (a store may be
 * under way); the pid tells a stale file (qlisten gone) from a live one.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qlisten.h"

#define STAT_FIELD 10
#define STAT_LEN (3 * (STAT_FIELD + 1))

static char *stat_map;
static unsigned long stat_last = (unsigned long)-1;

/* n as STAT_FIELD decimal digits (the lowest ones if it is larger) */
static void put_field(char *dest, unsigned long n)
{
  int i;

  for (i = STAT_FIELD - 1; i >= 0; i--) {
    dest[i] = (char)('0' + n % 10);
    n /= 10;
  }
}

int stat_open(const char *path)
{
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  void *map;

  if (fd == -1) return -1;
  if (fchmod(fd, 0644) == -1 || ftruncate(fd, STAT_LEN) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  map = mmap(NULL, STAT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return -1;
  stat_map = map;
  stat_last = (unsigned long)-1;
  stat_update();
  return 0;
}

void stat_update(void)
{
  char line[STAT_LEN];

  if (stat_map == NULL || stat_last == active) return;
  stat_last = active;
  put_field(line, active);
  line[STAT_FIELD] = ' ';
  put_field(line + STAT_FIELD + 1, cfg.max);
  line[2 * STAT_FIELD + 1] = ' ';
  put_field(line + 2 * STAT_FIELD + 2, (unsigned long)getpid());
  line[STAT_LEN - 1] = '\n';
  memcpy(stat_map, line, sizeof line);
}
