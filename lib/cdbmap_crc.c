/*
 * cdbmap_crc: CRC-32C (the Castagnoli polynomial, reflected 0x82f63b78,
 * as in iSCSI and ext4), the checksum of the trailer qnewmaps writes
 * (cdbmap.h). Eight bytes a step through eight tables ("slicing by 8"),
 * built on the first call: a map is checked once per open, and a byte
 * at a time took as long as the rest of the check.
 * cdbmap_crc(0, "123456789", 9) == 0xe3069283.
 */
#include "cdbmap.h"

#define CRC32C_POLY 0x82f63b78UL

static uint32_t table[8][256];
static int table_ready;

static void table_build(void)
{
  uint32_t c;
  unsigned int n;
  unsigned int k;

  for (n = 0; n < 256; n++) {
    c = n;
    for (k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    table[0][n] = c;
  }
  for (n = 0; n < 256; n++) {
    c = table[0][n];
    for (k = 1; k < 8; k++) {
      c = table[0][c & 0xff] ^ (c >> 8);
      table[k][n] = c;
    }
  }
  table_ready = 1;
}

uint32_t cdbmap_crc(uint32_t crc, const void *buf, size_t len)
{
  const unsigned char *p = buf;

  if (!table_ready) table_build();
  crc = ~crc;
  while (len >= 8) {
    uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24);
    uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                  (uint32_t)p[7] << 24;
    crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
          table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
          table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len > 0) {
    crc = table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    p++;
    len--;
  }
  return ~crc;
}
