/*
 * qlisten_peers: the connections each client address holds, in an open
 * addressing table (linear probing, deletion by backward shift) sized for
 * twice the connections qlisten can hold at once.
 */
#include <stdlib.h>
#include <string.h>

#include "qlisten.h"

struct peer {
  struct peer_key key;
  unsigned long count; /* 0: empty */
};

static struct peer *table;
static size_t mask;
static size_t used; /* addresses in the table */

void peer_key(struct peer_key *k, const unsigned char addr[16], int *loopback)
{
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

  memcpy(k->b, addr, 16);
  if (memcmp(addr, mapped, 12) == 0) {
    *loopback = addr[12] == 127;
    return;
  }
  *loopback = memcmp(addr, loop6, 16) == 0;
  if (!*loopback) memset(k->b + 8, 0, 8); /* the /64 */
}

int peers_init(size_t max)
{
  size_t n = 64;

  while (n < 2 * max + 64) n *= 2;
  table = calloc(n, sizeof *table);
  if (table == NULL) return -1;
  mask = n - 1;
  return 0;
}

static size_t hash(const struct peer_key *k)
{
  uint64_t h = 14695981039346656037ULL; /* FNV-1a */
  size_t i;

  for (i = 0; i < 16; i++) {
    h ^= k->b[i];
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

/* The slot holding k, or the empty slot where it would go. */
static size_t find(const struct peer_key *k)
{
  size_t i = hash(k) & mask;

  while (table[i].count != 0 && memcmp(table[i].key.b, k->b, 16) != 0) i = (i + 1) & mask;
  return i;
}

unsigned long peers_count(const struct peer_key *k)
{
  return table[find(k)].count;
}

int peers_add(const struct peer_key *k)
{
  size_t i = find(k);

  if (table[i].count == 0) {
    if (used + 1 > mask / 2 + 1) return -1; /* cannot happen when sized right */
    table[i].key = *k;
    used++;
  }
  table[i].count++;
  return 0;
}

void peers_del(const struct peer_key *k)
{
  size_t i = find(k);
  size_t j;

  if (table[i].count == 0) return;
  if (--table[i].count > 0) return;
  used--;
  /* backward shift: move up every later entry of the run that may sit
   * below its home slot, so that no lookup stops early at the hole */
  j = i;
  for (;;) {
    size_t home;
    j = (j + 1) & mask;
    if (table[j].count == 0) break;
    home = hash(&table[j].key) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      table[i] = table[j];
      table[j].count = 0;
      i = j;
    }
  }
}
