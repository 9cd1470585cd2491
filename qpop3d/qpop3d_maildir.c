/*
 * qpop3d_maildir: a Maildir as a POP3 mailbox. The caller has chdir'd
 * into the Maildir and holds the session lock.
 *
 * new/NAME is renamed to cur/NAME:2, at login (what every Maildir reader
 * does; the message is durable under either name). The UIDL is the unique
 * part of the name, before ':', so it survives that rename and flag
 * changes by other readers (Dovecot), and stays the same in every session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpop3d.h"

#define MAX_NAME 255 /* bytes of a file name (NAME_MAX on Linux) */

static int good_name(const char *n)
{
  return n[0] != '.' && strlen(n) <= MAX_NAME;
}

static int move_new(void)
{
  DIR *d;
  struct dirent *e;
  char from[4 + MAX_NAME + 1];
  char to[4 + MAX_NAME + 4 + 1];
  size_t len;

  d = opendir("new");
  if (d == NULL) return errno == ENOENT ? 0 : -1;
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (e == NULL) break;
    if (!good_name(e->d_name)) continue;
    len = strlen(e->d_name);
    memcpy(from, "new/", 4);
    memcpy(from + 4, e->d_name, len + 1);
    memcpy(to, "cur/", 4);
    memcpy(to + 4, e->d_name, len + 1);
    if (strchr(e->d_name, ':') == NULL) memcpy(to + 4 + len, ":2,", 4);
    /* another reader may have moved it first: that is fine */
    if (rename(from, to) == -1 && errno != ENOENT) {
      int err = errno;
      closedir(d);
      errno = err;
      return -1;
    }
  }
  if (errno != 0) {
    int err = errno;
    closedir(d);
    errno = err;
    return -1;
  }
  closedir(d);
  return 0;
}

static size_t base_len(const char *n)
{
  const char *colon = strchr(n, ':');
  return colon != NULL ? (size_t)(colon - n) : strlen(n);
}

/* ",W=1234" in the unique part: the size with CRLF line ends, as Dovecot
 * and others write it. 1 found. */
static int name_wsize(const char *n, size_t blen, unsigned long long *size)
{
  size_t i;
  unsigned long long v = 0;

  for (i = 0; i + 3 <= blen; i++) {
    if (n[i] == ',' && n[i + 1] == 'W' && n[i + 2] == '=') {
      size_t j = i + 3;
      if (j >= blen || n[j] < '0' || n[j] > '9') return 0;
      for (; j < blen && n[j] >= '0' && n[j] <= '9'; j++) {
        if (__builtin_mul_overflow(v, 10ULL, &v) ||
            __builtin_add_overflow(v, (unsigned long long)(n[j] - '0'), &v))
          return 0;
      }
      if (j < blen && n[j] != ',') return 0;
      *size = v;
      return 1;
    }
  }
  return 0;
}

int popbox_filesize(int fd, unsigned long long *size)
{
  char buf[65536];
  unsigned long long total = 0;
  char prev = '\n';
  ssize_t r;
  ssize_t i;

  for (;;) {
    r = read(fd, buf, sizeof buf);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) return -1;
    if (r == 0) break;
    total += (unsigned long long)r;
    for (i = 0; i < r; i++) {
      if (buf[i] == '\n' && prev != '\r') total++;
      prev = buf[i];
    }
  }
  if (total > 0 && prev != '\n') total += 2;
  *size = total;
  return 0;
}

static const struct pop_box *sort_box;

static int msg_cmp(const void *a, const void *b)
{
  const struct pop_msg *x = a;
  const struct pop_msg *y = b;

  if (x->mtime != y->mtime) return x->mtime < y->mtime ? -1 : 1;
  return strcmp(sort_box->names.s + x->name, sort_box->names.s + y->name);
}

int popbox_scan(struct pop_box *b, int move)
{
  DIR *d;
  struct dirent *e;
  char path[4 + MAX_NAME + 1];
  struct stat st;
  struct pop_msg m;
  size_t len;
  int fd;
  int err;

  b->count = 0;
  b->skipped = 0;
  if (!stralloc_copys(&b->names, "")) return -1;
  if (move && move_new() == -1) return -1;

  d = opendir("cur");
  if (d == NULL) return errno == ENOENT ? 0 : -1;
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (e == NULL) break;
    if (!good_name(e->d_name)) continue;
    len = strlen(e->d_name);
    memcpy(path, "cur/", 4);
    memcpy(path + 4, e->d_name, len + 1);
    if (stat(path, &st) == -1) {
      if (errno == ENOENT) continue; /* removed meanwhile */
      goto fail;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (b->count >= POP_MAX_MESSAGES) {
      b->skipped++;
      continue;
    }
    memset(&m, 0, sizeof m);
    m.name = b->names.len;
    m.baselen = base_len(e->d_name);
    m.mtime = st.st_mtime;
    if (!name_wsize(e->d_name, m.baselen, &m.size)) {
      fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd == -1) {
        if (errno == ENOENT) continue;
        goto fail;
      }
      if (popbox_filesize(fd, &m.size) == -1) {
        err = errno;
        close(fd);
        errno = err;
        goto fail;
      }
      close(fd);
    }
    if (!stralloc_catb(&b->names, e->d_name, len + 1)) goto fail;
    if (b->count == b->alloc) {
      size_t n = b->alloc ? b->alloc * 2 : 64;
      struct pop_msg *p = realloc(b->msg, n * sizeof *p);
      if (p == NULL) goto fail;
      b->msg = p;
      b->alloc = n;
    }
    b->msg[b->count++] = m;
  }
  if (errno != 0) goto fail;
  closedir(d);
  sort_box = b;
  if (b->count > 1) qsort(b->msg, b->count, sizeof *b->msg, msg_cmp);
  return 0;

fail:
  err = errno;
  closedir(d);
  errno = err;
  return -1;
}

/* Finds message i again after a rename by another reader: the file in cur/
 * whose unique part is the same. 1 found (names updated), 0 gone, -1 error. */
static int relocate(struct pop_box *b, size_t i)
{
  DIR *d;
  struct dirent *e;
  struct pop_msg *m = &b->msg[i];
  size_t len;
  int found = 0;
  int err;

  d = opendir("cur");
  if (d == NULL) return errno == ENOENT ? 0 : -1;
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (e == NULL) break;
    if (!good_name(e->d_name)) continue;
    if (base_len(e->d_name) != m->baselen ||
        memcmp(e->d_name, b->names.s + m->name, m->baselen) != 0)
      continue;
    len = strlen(e->d_name);
    m->name = b->names.len;
    if (!stralloc_catb(&b->names, e->d_name, len + 1)) break;
    found = 1;
    break;
  }
  err = errno;
  closedir(d);
  if (!found && err != 0) {
    errno = err;
    return -1;
  }
  return found;
}

static void msg_path(const struct pop_box *b, size_t i, char *path)
{
  const char *n = b->names.s + b->msg[i].name;
  size_t len = strlen(n);

  memcpy(path, "cur/", 4);
  memcpy(path + 4, n, len + 1);
}

int popbox_open(struct pop_box *b, size_t i)
{
  char path[4 + MAX_NAME + 1];
  int fd;
  int r;

  msg_path(b, i, path);
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd != -1 || errno != ENOENT) return fd;
  r = relocate(b, i);
  if (r == -1) return -1;
  if (r == 0) {
    errno = ENOENT;
    return -1;
  }
  msg_path(b, i, path);
  return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

int popbox_remove(struct pop_box *b, size_t i)
{
  char path[4 + MAX_NAME + 1];
  int r;

  msg_path(b, i, path);
  if (unlink(path) == 0) return 0;
  if (errno != ENOENT) return -1;
  r = relocate(b, i); /* 0: gone already, as good as removed */
  if (r <= 0) return r;
  msg_path(b, i, path);
  if (unlink(path) == -1 && errno != ENOENT) return -1;
  return 0;
}

void popbox_uidl(const struct pop_box *b, size_t i, char *out)
{
  const char *n = b->names.s + b->msg[i].name;
  size_t len = b->msg[i].baselen;
  size_t k;
  unsigned long long h = 14695981039346656037ULL; /* FNV-1a 64 */
  int good = len >= 1 && len <= POP_UIDL_MAX;

  for (k = 0; k < len; k++) {
    unsigned char c = (unsigned char)n[k];
    if (c < 0x21 || c > 0x7e) good = 0;
    h ^= c;
    h *= 1099511628211ULL;
  }
  if (good) {
    memcpy(out, n, len);
    out[len] = '\0';
    return;
  }
  /* a name POP3 cannot show: a stable digest of it instead */
  out[0] = 'h';
  for (k = 0; k < 16; k++) out[1 + k] = "0123456789abcdef"[(h >> (60 - 4 * k)) & 15];
  out[17] = '\0';
}

void popbox_free(struct pop_box *b)
{
  stralloc_free(&b->names);
  free(b->msg);
  b->msg = NULL;
  b->count = 0;
  b->alloc = 0;
}
