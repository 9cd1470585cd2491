/*
 * dkim_pubkey: a verifier's public key from the p= of its record (decoded
 * DER), with a small cache per process. OpenSSL 3 decodes a key through
 * its provider machinery (a search of every decoder under locks), which
 * cost more than the signature check itself; a long-lived verifier (a
 * qdkimd child) meets the same few keys again and again. The cache holds
 * the key of each of the last DKIM_PUBKEY_SLOTS distinct DER strings, and
 * a key is found only by the very bytes it was made from, so an answer
 * is what a fresh decode would give. ISC licence.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

#define DKIM_PUBKEY_SLOTS 16 /* keys kept: a few busy senders' selectors */

struct slot {
  int type;
  size_t len;
  unsigned char *der; /* malloc'd; NULL: a free slot */
  EVP_PKEY *pkey;     /* the cache's reference */
};

static struct slot slots[DKIM_PUBKEY_SLOTS];
static unsigned int next_victim;

static EVP_PKEY *decode(int type, const unsigned char *der, size_t len)
{
  const unsigned char *p = der;
  EVP_PKEY *pkey;

  if (type == DKIM_ED25519) {
    if (len != 32) return NULL;
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
  } else {
    /* SubjectPublicKeyInfo as RFC 6376 3.6.1 means, or a bare RSAPublicKey */
    pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey == NULL) {
      p = der;
      pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    if (pkey != NULL && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
      EVP_PKEY_free(pkey);
      pkey = NULL;
    }
  }
  ERR_clear_error();
  return pkey;
}

EVP_PKEY *dkim_pubkey(int type, const unsigned char *der, size_t len)
{
  struct slot *s;
  EVP_PKEY *pkey;
  unsigned char *copy;
  unsigned int i;

  for (i = 0; i < DKIM_PUBKEY_SLOTS; i++) {
    s = &slots[i];
    if (s->der != NULL && s->type == type && s->len == len && memcmp(s->der, der, len) == 0) {
      if (EVP_PKEY_up_ref(s->pkey) != 1) return NULL;
      return s->pkey;
    }
  }

  pkey = decode(type, der, len);
  if (pkey == NULL) return NULL;
  copy = malloc(len > 0 ? len : 1);
  if (copy == NULL || EVP_PKEY_up_ref(pkey) != 1) {
    free(copy);
    return pkey; /* not kept: still the caller's key */
  }
  memcpy(copy, der, len);
  s = &slots[next_victim++ % DKIM_PUBKEY_SLOTS];
  free(s->der);
  EVP_PKEY_free(s->pkey);
  s->type = type;
  s->len = len;
  s->der = copy;
  s->pkey = pkey;
  return pkey;
}

void dkim_pubkey_clear(void)
{
  for (unsigned int i = 0; i < DKIM_PUBKEY_SLOTS; i++) {
    free(slots[i].der);
    EVP_PKEY_free(slots[i].pkey);
    slots[i].der = NULL;
    slots[i].pkey = NULL;
  }
}
