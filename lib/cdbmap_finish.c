/*
 * cdbmap_finish: write the hash tables and the trailer (cdbmap.h), check
 * the file as every reader will (cdbmap_check), fsync and close it,
 * rename it onto the final name, fsync the directory. On failure the temp
 * file is removed and the old map stays. The writer is released either way.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cdbmap.h"
#include "durable.h"

static void put32(char *p, uint32_t v)
{
  p[0] = (char)(v & 0xff);
  p[1] = (char)((v >> 8) & 0xff);
  p[2] = (char)((v >> 16) & 0xff);
  p[3] = (char)(v >> 24);
}

static int put_at(int fd, const char *buf, size_t len, off_t at)
{
  while (len > 0) {
    ssize_t w = pwrite(fd, buf, len, at);
    if (w == -1) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += w;
    len -= (size_t)w;
    at += w;
  }
  return 0;
}

/* The trailer after the tables, which end at end; its CRC is computed
 * over the file read back through a mapping, which is then checked. */
static int add_trailer(int fd, uint32_t end)
{
  char trailer[CDBMAP_TRAILER];
  const char *why;
  size_t size;
  char *map;
  int r;

  if (end > 0xffffffffUL - CDBMAP_TRAILER) {
    errno = EFBIG;
    return -1;
  }
  size = (size_t)end + CDBMAP_TRAILER;
  memcpy(trailer, CDBMAP_MAGIC, sizeof CDBMAP_MAGIC - 1);
  put32(trailer + 8, end);
  put32(trailer + 12, 0);
  if (put_at(fd, trailer, sizeof trailer, (off_t)end) == -1) return -1;

  map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return -1;
  put32(trailer + 12, cdbmap_crc(0, map, size - 4));
  r = put_at(fd, trailer + 12, 4, (off_t)(size - 4));
  if (r == 0) r = cdbmap_check(map, size, &why); /* the mapping shows the CRC just written */
  munmap(map, size);
  if (r == -1 && errno == 0) errno = EIO;
  return r;
}

int cdbmap_finish(struct cdbmap_writer *w)
{
  int fd = w->fd;
  int e;

  errno = 0;
  if (cdb_make_finish(&w->cm) == -1) {
    if (errno == 0) errno = EIO;
    goto fail;
  }
  cdbmake_free(&w->cm);
  if (add_trailer(fd, w->cm.pos) == -1) goto fail;
  if (fsync(fd) == -1) goto fail;
  w->fd = -1;
  if (close(fd) == -1) goto fail;
  if (durable_rename(w->tmp.s, w->final.s) == -1) goto fail;
  stralloc_free(&w->tmp);
  stralloc_free(&w->final);
  return 0;

fail:
  e = errno;
  cdbmap_abort(w);
  errno = e;
  return -1;
}
