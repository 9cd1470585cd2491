#ifndef DKIM_KEY_H
#define DKIM_KEY_H
/*
 * dkim_key: the private key's inside, for dkim_sign, and the verifier's
 * public keys (includes OpenSSL).
 * ISC licence.
 */
#include <openssl/evp.h>

struct dkim_key {
  EVP_PKEY *pkey;
  int type; /* DKIM_RSA or DKIM_ED25519 */
};

/* Signs data with pkey as DKIM's algorithm wants it (rsa-sha256: RSASSA-
 * PKCS1-v1_5 over SHA-256 of data; ed25519-sha256: Ed25519 over SHA-256 of
 * data, RFC 8463 3) into sig (room *siglen, set to the length). 0, or -1. */
int dkim_crypto_sign(EVP_PKEY *pkey, int type, const char *data, size_t len,
                     unsigned char *sig, size_t *siglen);
/* Checks sig over data the same way: 1 good, 0 bad, -1 error. */
int dkim_crypto_verify(EVP_PKEY *pkey, int type, const char *data, size_t len,
                       const unsigned char *sig, size_t siglen);

/* The public key of a record's p= (der, len bytes: Ed25519's 32 raw bytes,
 * or an RSA SubjectPublicKeyInfo or RSAPublicKey), from a small cache of
 * the keys decoded before or decoded now: a reference the caller frees
 * with EVP_PKEY_free, or NULL (not a key of that type, or no memory). */
EVP_PKEY *dkim_pubkey(int type, const unsigned char *der, size_t len);
/* Empties that cache (tests, leak checkers). */
void dkim_pubkey_clear(void);

#endif
