/*
 * dkim_key: loading a private signing key (PEM: PKCS#8 or the traditional
 * RSA form), RSA of at least DKIM_RSA_MIN_BITS bits (RFC 8301 3.2) and at
 * most 8192 (the room dkim_sign has for a signature), or Ed25519 (RFC
 * 8463). ISC licence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

struct dkim_key *dkim_key_load(const char *path)
{
  struct dkim_key *key;
  EVP_PKEY *pkey;
  BIO *bio;
  int type;

  bio = BIO_new_file(path, "r");
  if (bio == NULL) {
    if (errno == 0) errno = EIO;
    ERR_clear_error();
    return NULL;
  }
  pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  ERR_clear_error();
  if (pkey == NULL) {
    errno = EINVAL;
    return NULL;
  }
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) >= DKIM_RSA_MIN_BITS &&
      EVP_PKEY_get_size(pkey) <= DKIM_MAX_SIGBYTES)
    type = DKIM_RSA;
  else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519)
    type = DKIM_ED25519;
  else {
    EVP_PKEY_free(pkey);
    errno = EINVAL;
    return NULL;
  }
  key = malloc(sizeof *key);
  if (key == NULL) {
    EVP_PKEY_free(pkey);
    return NULL;
  }
  key->pkey = pkey;
  key->type = type;
  return key;
}

void dkim_key_free(struct dkim_key *key)
{
  if (key == NULL) return;
  EVP_PKEY_free(key->pkey);
  free(key);
}

int dkim_key_type(const struct dkim_key *key)
{
  return key->type;
}
