/*
 * fuzz_cdb: libFuzzer target for the CDB reader: the input is a map file,
 * checked by cdbmap_check as cdbmap_open does, then looked up with
 * libowfat's cdb_find through cdbmap_find, as every reader does. Checks
 * beyond the sanitizers: a refused map says why (EPROTO); in a map that
 * passes, every lookup answers without error, and a lookup of each
 * record's key reaches that very record (a sound map never answers "not
 * found" for a key it holds).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdbmap.h"

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct cdbmap m;
  stralloc val = {0};
  const char *why = NULL;
  uint32_t data_end = 0xffffffffU;
  uint32_t p;
  unsigned int t;
  int r;

  errno = 0;
  if (cdbmap_check((const char *)data, size, &why) == -1) {
    if (errno != EPROTO || why == NULL) abort();
    return 0;
  }

  /* the map as cdbmap_open leaves it, over the input instead of a mapping */
  memset(&m, 0, sizeof m);
  m.fd = -1;
  m.c.map = (char *)(uintptr_t)data;
  m.c.size = (uint32)size;
  m.c.fd = -1;

  for (t = 0; t < 256; t++)
    if (get32(data + 8 * t) < data_end) data_end = get32(data + 8 * t);
  for (p = CDBMAP_HEADER; p < data_end;) {
    const unsigned char *key = data + p + 8;
    uint32_t klen = get32(data + p);
    uint32_t dlen = get32(data + p + 4);

    /* the first record with this key, as a reader sees it */
    r = cdbmap_find(&m, (const char *)key, klen, &val);
    if (r != 1) abort();
    /* and this record among those with its key */
    cdb_findstart(&m.c);
    do {
      if (cdb_findnext(&m.c, key, klen) != 1) abort();
    } while (cdb_datapos(&m.c) != p + 8 + klen);
    if (cdb_datalen(&m.c) != dlen) abort();
    p += 8 + klen + dlen;
  }

  /* keys that may or may not be there: an answer, never an error */
  if (cdbmap_find(&m, "absent key", 10, &val) == -1) abort();
  if (cdbmap_find(&m, (const char *)data + size - 8, 8, &val) == -1) abort();
  stralloc_free(&val);
  return 0;
}
