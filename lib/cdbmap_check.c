/*
 * cdbmap_check: whether size bytes at map are a sound CDB (cdbmap.h lists
 * the checks), so that lookups in it can neither read outside it nor miss
 * a record that is there. Run once per open: the cost is one pass over
 * the records (each key hashed, its slot found) and, with a trailer, one
 * CRC over the file.
 *
 * A CDB (djb's format): a header of 256 (position, slots) pairs, one per
 * hash table, all numbers 32-bit little-endian; then the records, each
 * (key length, data length, key, data); then the hash tables, each slot a
 * (hash, record position) pair, position 0 for an empty slot. A key with
 * hash h is in table h & 255, searched from slot (h >> 8) % slots on,
 * wrapping, up to the first empty slot.
 */
#include <errno.h>
#include <string.h>
#include "cdbmap.h"

#define TABLES 256
#define SLOT 8 /* bytes of a slot, and of a record's two lengths */

static uint32_t get32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int damaged(const char **why, const char *what)
{
  *why = what;
  errno = EPROTO;
  return -1;
}

int cdbmap_check(const char *map, size_t size, const char **why)
{
  const unsigned char *m = (const unsigned char *)map;
  uint32_t pos[TABLES];
  uint32_t slots[TABLES];
  uint64_t data_end;   /* the records end where the first hash table starts */
  uint64_t tables_end; /* and the file (or the trailer) where the last one ends */
  uint64_t used = 0;   /* slots that are not empty */
  uint64_t records = 0;
  uint64_t p;
  unsigned int t;

  if (size < CDBMAP_HEADER) return damaged(why, "shorter than the 2048-byte header");
  if (size > 0xffffffffUL) return damaged(why, "larger than 4 GiB");

  data_end = size;
  tables_end = CDBMAP_HEADER;
  for (t = 0; t < TABLES; t++) {
    pos[t] = get32(m + SLOT * t);
    slots[t] = get32(m + SLOT * t + 4);
    if (pos[t] < CDBMAP_HEADER || pos[t] > size)
      return damaged(why, "a hash table starts outside the file");
    if (slots[t] > (size - pos[t]) / SLOT)
      return damaged(why, "a hash table runs past the end of the file");
    if (pos[t] < data_end) data_end = pos[t];
    if ((uint64_t)pos[t] + (uint64_t)slots[t] * SLOT > tables_end)
      tables_end = (uint64_t)pos[t] + (uint64_t)slots[t] * SLOT;
  }

  for (t = 0; t < TABLES; t++) {
    const unsigned char *s = m + pos[t];
    uint32_t i;
    for (i = 0; i < slots[t]; i++)
      if (get32(s + SLOT * i + 4) != 0) used++;
  }

  /* every record, in the order written, must be where a lookup of its key looks */
  for (p = CDBMAP_HEADER; p < data_end;) {
    uint32_t klen;
    uint32_t dlen;
    uint32_t h;
    uint32_t i;
    uint32_t n;

    if (data_end - p < SLOT) return damaged(why, "a record's lengths run past the records");
    klen = get32(m + p);
    dlen = get32(m + p + 4);
    if (klen > data_end - p - SLOT || dlen > data_end - p - SLOT - klen)
      return damaged(why, "a record's key or data runs past the records");
    h = cdb_hash(m + p + SLOT, klen);
    t = h & (TABLES - 1);
    if (slots[t] == 0) return damaged(why, "a record is missing from its hash table");
    i = (h >> 8) % slots[t];
    for (n = 0;; n++) {
      const unsigned char *s = m + pos[t] + (uint64_t)SLOT * i;
      uint32_t at;

      if (n == slots[t]) return damaged(why, "a record is missing from its hash table");
      at = get32(s + 4);
      if (at == 0) return damaged(why, "a record is missing from its hash table");
      if (at == p) {
        if (get32(s) != h) return damaged(why, "a hash table slot has the wrong hash");
        break;
      }
      if (++i == slots[t]) i = 0;
    }
    records++;
    p += SLOT + (uint64_t)klen + dlen;
  }

  /* each record has a slot of its own: any other slot points elsewhere */
  if (used != records) return damaged(why, "a hash table slot points to no record");

  /* last, so that a damaged structure is named as such */
  if (tables_end != size) {
    if (size - tables_end != CDBMAP_TRAILER)
      return damaged(why, "bytes after the hash tables (not a qnewmaps trailer)");
    if (memcmp(m + tables_end, CDBMAP_MAGIC, sizeof CDBMAP_MAGIC - 1) != 0 ||
        get32(m + tables_end + 8) != tables_end)
      return damaged(why, "the qnewmaps trailer is damaged");
    if (cdbmap_crc(0, m, size - 4) != get32(m + size - 4))
      return damaged(why, "checksum mismatch: the file changed after qnewmaps wrote it");
  }
  return 0;
}
