/*
 * maps_common: what the map compilers share: reading lines with their
 * numbers, reporting errors, creating the CDB with the old map's owner
 * and mode, a duplicate-key set, the lock on control/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "line.h"
#include "maps.h"

static ssize_t read_op(int fd, char *buf, size_t len, void *cookie)
{
  (void)cookie;
  return read(fd, buf, len);
}

int maps_lock(void)
{
  int fd = open("control", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd == -1) return -1;
  while (flock(fd, LOCK_EX) == -1) {
    if (errno != EINTR) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
  }
  return fd;
}

int maps_open(struct maps_src *s, const char *fn)
{
  s->fn = fn;
  s->lineno = 0;
  s->errors = 0;
  s->fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (s->fd == -1) return (errno == ENOENT) ? 0 : -1;
  buffer_init(&s->b, read_op, s->fd, s->space, sizeof s->space);
  return 1;
}

void maps_close(struct maps_src *s)
{
  if (s->fd != -1) close(s->fd);
  s->fd = -1;
}

int maps_line(struct maps_src *s, char *line, size_t size, size_t *len)
{
  for (;;) {
    int r = line_get(&s->b, line, size, len);
    s->lineno++;
    if (r == -2) {
      maps_error(s, "line too long", NULL);
      continue;
    }
    if (r != 1) return r;
    if (*len > 0 && line[*len - 1] == '\n') (*len)--;
    if (*len > 0 && line[*len - 1] == '\r') (*len)--;
    return 1;
  }
}

void (*maps_report)(const char *fn, unsigned long lineno, const char *what, const char *what2);
unsigned long maps_entries;

void maps_error_at(struct maps_src *s, unsigned long lineno, const char *what, const char *what2)
{
  s->errors++;
  if (maps_report != NULL) maps_report(s->fn, lineno, what, what2);
}

void maps_error(struct maps_src *s, const char *what, const char *what2)
{
  maps_error_at(s, s->lineno, what, what2);
}

int maps_writer_start(struct cdbmap_writer *w, const char *final, int defmode)
{
  struct stat st;
  int have_old;

  have_old = stat(final, &st) == 0;
  if (!have_old && errno != ENOENT) return -1;
  if (cdbmap_start(w, final, have_old ? (int)(st.st_mode & 07777) : defmode) == -1) return -1;
  if (have_old && (fchown(w->fd, st.st_uid, st.st_gid) == -1 ||
                   fchmod(w->fd, st.st_mode & 07777) == -1) && errno != EPERM) {
    cdbmap_abort(w);
    return -1;
  }
  return 0;
}

static size_t hash(const char *s, size_t len)
{
  size_t h = 5381;

  while (len-- > 0) h = (h * 33) ^ (unsigned char)*s++;
  return h;
}

static int keyset_grow(struct maps_keyset *k)
{
  size_t newsize = k->size ? k->size * 2 : 256;
  size_t *slots = calloc(newsize, sizeof *slots);
  size_t i;

  if (slots == NULL) return -1;
  for (i = 0; i < k->size; i++) {
    size_t off = k->slots[i];
    if (off == 0) continue;
    {
      const char *key = k->keys.s + off - 1;
      size_t j = hash(key, strlen(key)) & (newsize - 1);
      while (slots[j] != 0) j = (j + 1) & (newsize - 1);
      slots[j] = off;
    }
  }
  free(k->slots);
  k->slots = slots;
  k->size = newsize;
  return 0;
}

int maps_keyset_add(struct maps_keyset *k, const char *key, size_t len)
{
  size_t j;

  if ((k->count + 1) * 2 > k->size && keyset_grow(k) == -1) return -1;
  j = hash(key, len) & (k->size - 1);
  while (k->slots[j] != 0) {
    const char *old = k->keys.s + k->slots[j] - 1;
    if (strlen(old) == len && memcmp(old, key, len) == 0) return 0;
    j = (j + 1) & (k->size - 1);
  }
  k->slots[j] = k->keys.len + 1;
  if (!stralloc_catb(&k->keys, key, len) || !stralloc_0(&k->keys)) return -1;
  k->count++;
  return 1;
}

void maps_keyset_free(struct maps_keyset *k)
{
  free(k->slots);
  stralloc_free(&k->keys);
  k->slots = NULL;
  k->size = 0;
  k->count = 0;
}

void maps_lower(char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
}

int maps_isdomain(const char *s, size_t len)
{
  size_t i;
  size_t label = 0;

  if (len == 0 || len > 255) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (label == 0) return 0;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c >= 0x80))
      return 0;
    if (++label > 63) return 0;
  }
  return label > 0;
}

int maps_islocal(const char *s, size_t len)
{
  size_t i;

  if (len == 0 || len > 64) return 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c == 0x7f || strchr(":,\"<>()[]\\;@", c) != NULL) return 0;
  }
  return 1;
}
