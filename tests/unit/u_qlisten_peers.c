/* tests/unit/u_qlisten_peers.c: qlisten's count of connections per client
 * address: the key (IPv4 whole, IPv6 by its /64, loopback addresses whole
 * and marked), and the table against a plain array through a long random
 * run of additions and removals with many collisions. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "qlisten.h"

static void key_of(struct peer_key *k, const char *text, int *loopback)
{
  unsigned char bin[16];
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

  memset(bin, 0, sizeof bin);
  if (strchr(text, ':') != NULL) {
    inet_pton(AF_INET6, text, bin);
  } else {
    memcpy(bin, mapped, 12);
    inet_pton(AF_INET, text, bin + 12);
  }
  peer_key(k, bin, loopback);
}

static int same(const char *a, const char *b)
{
  struct peer_key ka;
  struct peer_key kb;
  int l;

  key_of(&ka, a, &l);
  key_of(&kb, b, &l);
  return memcmp(ka.b, kb.b, 16) == 0;
}

static int loop(const char *a)
{
  struct peer_key k;
  int l = -1;

  key_of(&k, a, &l);
  return l;
}

#define KEYS 60    /* distinct addresses at once: the table's limit for -c 1 */
#define STEPS 200000

int main(void)
{
  struct peer_key keys[KEYS];
  unsigned long want[KEYS];
  unsigned long i;
  int l;
  int bad = 0;
  int full = 0;

  plan(14);
  ok(!same("192.0.2.7", "192.0.2.8"), "IPv4: each address its own");
  ok(same("2001:db8:1:2::7", "2001:db8:1:2:ffff::9"), "IPv6: one /64, one key");
  ok(!same("2001:db8:1:2::7", "2001:db8:1:3::7"), "IPv6: another /64, another key");
  ok(!same("::1", "::2"), "::1 is kept whole");
  ok(loop("127.0.0.1") == 1 && loop("127.255.0.9") == 1, "127.0.0.0/8 is loopback");
  ok(loop("::1") == 1, "::1 is loopback");
  ok(loop("128.0.0.1") == 0 && loop("::2") == 0 && loop("2001:db8::1") == 0,
     "others are not");
  ok(loop("::ffff:127.0.0.3") == 1 && same("::ffff:127.0.0.3", "127.0.0.3"),
     "an IPv4-mapped address is its IPv4 address");

  ok(peers_init(1) == 0, "a table for -c 1 (128 slots)");
  for (i = 0; i < KEYS; i++) {
    char text[32];
    snprintf(text, sizeof text, "10.0.%lu.%lu", i % 7, i);
    key_of(&keys[i], text, &l);
    want[i] = 0;
  }
  for (i = 0; i < KEYS * KEYS; i++)
    if (i / KEYS < i % KEYS && memcmp(keys[i / KEYS].b, keys[i % KEYS].b, 16) == 0) bad++;
  ok(bad == 0, "60 distinct addresses");
  srandom(4711);
  for (i = 0; i < STEPS; i++) {
    unsigned long k = (unsigned long)random() % KEYS;
    if (random() % 2 == 0 || want[k] == 0) {
      if (peers_add(&keys[k]) == 0) want[k]++;
      else full++;
    } else {
      peers_del(&keys[k]);
      want[k]--;
    }
    if (i % 97 == 0) {
      unsigned long j;
      for (j = 0; j < KEYS; j++)
        if (peers_count(&keys[j]) != want[j]) bad++;
    }
  }
  ok(bad == 0, "counts agree with the plain array through 200000 random steps");
  ok(full == 0, "60 addresses fit");
  for (i = 0; i < KEYS; i++)
    while (want[i] > 0) {
      peers_del(&keys[i]);
      want[i]--;
    }
  bad = 0;
  for (i = 0; i < KEYS; i++)
    if (peers_count(&keys[i]) != 0) bad++;
  ok(bad == 0, "all removed: every count 0");
  peers_del(&keys[0]);
  ok(peers_count(&keys[0]) == 0, "removing an absent address changes nothing");
  return done_testing();
}
