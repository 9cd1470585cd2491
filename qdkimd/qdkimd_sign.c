/*
 * qdkimd_sign: the signer's answer for one message (qdkimd -s). The From
 * domain (dmarc_from_domain) chooses the keys under control/dkim/
 * (dkim_keys_for: the domain or a parent with a selector file); every key
 * found gives one DKIM-Signature (RSA and Ed25519: two). No From domain or
 * no key: nothing to add (A 0). A key that cannot be read or a signature
 * that fails: T, so that the message is not sent unsigned.
 * Keys stay loaded in the child (which serves one client for many
 * messages) while their file is unchanged (device, inode, size, mtime).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dkim.h"
#include "dmarc.h"
#include "qdkimd.h"
#include "qtls.h"

#define KEYS_MAX 4   /* keys per domain: RSA and Ed25519, and room */
#define CACHE_MAX 8  /* loaded keys kept in one child */

struct cached {
  char path[sizeof ((struct dkim_keyfile *)0)->path];
  struct stat st;
  struct dkim_key *key;
};
static struct cached cache[CACHE_MAX];
static unsigned int cache_next;

static int same_file(const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The key of path, loaded or from the cache: NULL + errno */
static const struct dkim_key *key_get(const char *path)
{
  struct stat st;
  struct cached *c;
  unsigned int i;

  if (stat(path, &st) == -1) return NULL;
  for (i = 0; i < CACHE_MAX; i++)
    if (cache[i].key != NULL && strcmp(cache[i].path, path) == 0) {
      if (same_file(&cache[i].st, &st)) return cache[i].key;
      dkim_key_free(cache[i].key);
      cache[i].key = NULL;
      break;
    }
  if (i == CACHE_MAX) i = cache_next++ % CACHE_MAX;
  c = &cache[i];
  if (c->key != NULL) dkim_key_free(c->key);
  c->key = dkim_key_load(path);
  if (c->key == NULL) return NULL;
  memcpy(c->path, path, strlen(path) + 1);
  c->st = st;
  return c->key;
}

void qdkimd_sign(const char *msg, size_t len, struct dkans *a)
{
  struct dkim_keyfile keys[KEYS_MAX];
  char dom[DMARC_DOMAIN_MAX + 1];
  char note[DKIMP_REASON_MAX];
  int n;

  if (dmarc_from_domain(msg, len, dom, sizeof dom) < 0) {
    a->code = DKIMP_ADD;
    dkans_note(a, "no From domain to sign for");
    return;
  }
  n = dkim_keys_for(DKIM_KEYDIR, dom, keys, KEYS_MAX);
  if (n == -1) {
    qtls_say("warning: unable to find the keys of ", dom, ": ", strerror(errno));
    dkans_note(a, "unable to find the signing keys");
    return;
  }
  if (n == 0) {
    a->code = DKIMP_ADD;
    dkans_note(a, "no key");
    return;
  }
  note[0] = '\0';
  qtls_cat(note, sizeof note, "signed");
  for (int i = 0; i < n; i++) {
    const struct dkim_key *key = key_get(keys[i].path);
    char *sig = NULL;
    size_t siglen = 0;

    if (key == NULL) {
      qtls_say("warning: unable to load the key ", keys[i].path, ": ", strerror(errno));
      a->fieldslen = 0;
      dkans_note(a, "unable to load a signing key");
      return;
    }
    if (dkim_sign(msg, len, keys[i].domain, keys[i].selector, key, time(NULL), &sig, &siglen) ==
            -1 ||
        dkans_add(a, sig, siglen) == -1) {
      qtls_say("warning: unable to sign for ", keys[i].domain, " with ", keys[i].path, ": ",
               strerror(errno));
      free(sig);
      a->fieldslen = 0;
      dkans_note(a, "unable to sign");
      return;
    }
    free(sig);
    qtls_cat(note, sizeof note, " d=", keys[i].domain, " s=", keys[i].selector,
             keys[i].type == DKIM_ED25519 ? " a=ed25519-sha256" : " a=rsa-sha256");
  }
  a->code = DKIMP_ADD;
  dkans_note(a, note);
}
