/*
 * dkim_crypto: the two signature algorithms of DKIM with OpenSSL's EVP:
 * rsa-sha256 (RFC 6376 3.3.1) and ed25519-sha256 (RFC 8463 3: PureEdDSA
 * over the SHA-256 hash of the header data). ISC licence.
 */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "dkim.h"
#include "dkim_int.h"
#include "dkim_key.h"

/* what Ed25519 signs: the SHA-256 of the data */
static int sha256(const char *data, size_t len, unsigned char out[DKIM_HASHLEN])
{
  unsigned int n = 0;
  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != DKIM_HASHLEN) return -1;
  return 0;
}

int dkim_crypto_sign(EVP_PKEY *pkey, int type, const char *data, size_t len,
                     unsigned char *sig, size_t *siglen)
{
  unsigned char digest[DKIM_HASHLEN];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int r = -1;

  if (ctx == NULL) return -1;
  if (type == DKIM_RSA) {
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)data, len) == 1)
      r = 0;
  } else if (sha256(data, len, digest) == 0) {
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, sig, siglen, digest, sizeof digest) == 1)
      r = 0;
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return r;
}

int dkim_crypto_verify(EVP_PKEY *pkey, int type, const char *data, size_t len,
                       const unsigned char *sig, size_t siglen)
{
  unsigned char digest[DKIM_HASHLEN];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int r = -1;

  if (ctx == NULL) return -1;
  if (type == DKIM_RSA) {
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1)
      r = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, len) == 1;
  } else if (sha256(data, len, digest) == 0) {
    if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
      r = EVP_DigestVerify(ctx, sig, siglen, digest, sizeof digest) == 1;
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return r;
}
