/*
 * qread: the queue readers' helpers shared by qstat and qqueue (qread.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qread.h"
#include "queue.h"

int qread_open(const char *path)
{
  char dir[QUEUE_PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash != NULL ? (size_t)(slash - path) : 0;
  struct stat st;
  int dfd;
  int fd;

  if (slash == NULL || n >= sizeof dir) {
    errno = EINVAL;
    return -1;
  }
  memcpy(dir, path, n);
  dir[n] = '\0';
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd == -1) return -1;
  fd = openat(dfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close(dfd);
  if (fd == -1) return -1;
  if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

int qread_info(unsigned long id, stralloc *info, size_t max)
{
  char path[QUEUE_PATH_MAX];
  char buf[8192];
  int fd;

  info->len = 0;
  queue_path(path, "info", id);
  fd = qread_open(path);
  if (fd == -1) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (r == 0) break;
    if (info->len + (size_t)r > max) break;
    if (!stralloc_catb(info, buf, (size_t)r)) {
      close(fd);
      errno = ENOMEM;
      return -1;
    }
  }
  close(fd);
  return 0;
}

int qread_contains(const char *s, const char *sub)
{
  size_t n = strlen(sub);
  size_t len = strlen(s);
  size_t i;

  if (n == 0) return 1;
  for (i = 0; i + n <= len; i++)
    if (strncasecmp(s + i, sub, n) == 0) return 1;
  return 0;
}
