/*
 * qauth_fail: the per-address failure table (see qauth.h).
 * Slot layout, native byte order (the file never leaves the machine):
 *   bytes 0-7    FNV-1a hash of the client address
 *   bytes 8-15   failures counted since the window last expired
 *   bytes 16-23  time of the last failure, seconds since the epoch
 *   bytes 24-31  reserved, zero
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qauth.h"

static uint64_t ip_hash(const char *ip)
{
  uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */

  while (*ip != '\0') {
    h ^= (unsigned char)*ip++;
    h *= 1099511628211ULL;
  }
  return h;
}

/* Opens (creating it if needed) and locks the table; -1 + errno. A table
 * created by root is given to the owner of its directory, so that qauth
 * run by an unprivileged daemon can go on updating it. */
static int table_open(const char *fn)
{
  int fd;
  struct stat st;
  char dir[256];
  const char *slash;
  size_t len;

  fd = open(fn, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd != -1 && geteuid() == 0) {
    slash = strrchr(fn, '/');
    len = slash == NULL ? 0 : (size_t)(slash - fn);
    if (len == 0) {
      dir[0] = '.';
      len = 1;
    } else if (len >= sizeof dir) {
      len = 0;
    } else {
      memcpy(dir, fn, len);
    }
    if (len != 0) {
      dir[len] = '\0';
      if (stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) == -1) {
        close(fd);
        unlink(fn);
        return -1;
      }
    }
  }
  if (fd == -1 && errno == EEXIST)
    fd = open(fn, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd == -1) return -1;
  if (flock(fd, LOCK_EX) == -1) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads slot number idx into s (a missing or short slot reads as zeros). */
static int slot_read(int fd, size_t idx, unsigned char s[QAUTH_FAIL_SLOTLEN])
{
  ssize_t r;

  memset(s, 0, QAUTH_FAIL_SLOTLEN);
  r = pread(fd, s, QAUTH_FAIL_SLOTLEN, (off_t)(idx * QAUTH_FAIL_SLOTLEN));
  if (r == -1) return -1;
  if (r != QAUTH_FAIL_SLOTLEN) memset(s, 0, QAUTH_FAIL_SLOTLEN);
  return 0;
}

static int slot_write(int fd, size_t idx, const unsigned char s[QAUTH_FAIL_SLOTLEN])
{
  ssize_t w;

  w = pwrite(fd, s, QAUTH_FAIL_SLOTLEN, (off_t)(idx * QAUTH_FAIL_SLOTLEN));
  if (w == -1) return -1;
  if (w != QAUTH_FAIL_SLOTLEN) {
    errno = EIO;
    return -1;
  }
  return 0;
}

int qauth_fail_add(const char *fn, const char *ip, unsigned long now,
                   unsigned long window, unsigned long *count)
{
  unsigned char s[QAUTH_FAIL_SLOTLEN];
  uint64_t h = ip_hash(ip);
  uint64_t old_hash;
  uint64_t n;
  uint64_t last;
  uint64_t zero = 0;
  size_t idx = (size_t)(h % QAUTH_FAIL_SLOTS);
  int fd;
  int e;

  *count = 1;
  fd = table_open(fn);
  if (fd == -1) return -1;
  if (slot_read(fd, idx, s) == -1) goto fail;
  memcpy(&old_hash, s, 8);
  memcpy(&n, s + 8, 8);
  memcpy(&last, s + 16, 8);

  /* another address, an expired window, or a clock that went back */
  if (old_hash != h || last > now || now - last > window) n = 0;
  if (n < QAUTH_FAIL_COUNT_MAX) n++;
  last = now;
  memcpy(s, &h, 8);
  memcpy(s + 8, &n, 8);
  memcpy(s + 16, &last, 8);
  memcpy(s + 24, &zero, 8);
  if (slot_write(fd, idx, s) == -1) goto fail;
  *count = (unsigned long)n;
  if (close(fd) == -1) return -1;
  return 0;

fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

int qauth_fail_clear(const char *fn, const char *ip)
{
  unsigned char s[QAUTH_FAIL_SLOTLEN];
  uint64_t h = ip_hash(ip);
  uint64_t old_hash;
  size_t idx = (size_t)(h % QAUTH_FAIL_SLOTS);
  int fd;
  int e;

  fd = table_open(fn);
  if (fd == -1) return -1;
  if (slot_read(fd, idx, s) == -1) goto fail;
  memcpy(&old_hash, s, 8);
  if (old_hash == h) {
    memset(s, 0, sizeof s);
    if (slot_write(fd, idx, s) == -1) goto fail;
  }
  if (close(fd) == -1) return -1;
  return 0;

fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

unsigned long qauth_fail_delay(unsigned long count, unsigned long base, unsigned long max)
{
  unsigned long d = base;
  unsigned long i;

  for (i = 1; i < count && d < max; i++) {
    if (__builtin_mul_overflow(d, 2UL, &d)) return max;
  }
  return d > max ? max : d;
}
