/*
 * qauth_verify: checks a password against a crypt(3) hash (libxcrypt:
 * yescrypt "$y$", SHA-512 "$6$" and the others it knows), with the stored
 * hash as the setting. The result is compared in constant time.
 */
#include <string.h>

#include <crypt.h>

#include "qauth.h"

static struct crypt_data cdata; /* about 32 KiB: static, not on the stack */

int qauth_streq_ct(const char *a, const char *b)
{
  size_t alen = strlen(a);
  size_t blen = strlen(b);
  size_t i;
  unsigned char diff = (unsigned char)(alen != blen);

  /* walk all of b whatever a holds; read a only within its length */
  for (i = 0; i < blen; i++)
    diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
  return diff == 0;
}

int qauth_verify(const char *password, const char *hash)
{
  const char *out;
  int good;

  /* "!" and "*" lock an account; crypt would refuse them anyway, but it
   * must not even look like a check that could pass */
  if (hash[0] != '$' || strlen(hash) < 4) return qauth_verify_dummy(password);
  memset(&cdata, 0, sizeof cdata);
  out = crypt_rn(password, hash, &cdata, (int)sizeof cdata);
  good = out != NULL && out[0] == '$' && qauth_streq_ct(out, hash);
  explicit_bzero(&cdata, sizeof cdata);
  return good;
}

int qauth_verify_dummy(const char *password)
{
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];

  /* a fresh salt of the default kind (yescrypt on Debian 12), the kind
   * qpasswd writes, so the cost matches a real check */
  memset(&cdata, 0, sizeof cdata);
  if (crypt_gensalt_rn(NULL, 0, NULL, 0, setting, (int)sizeof setting) != NULL)
    (void)crypt_rn(password, setting, &cdata, (int)sizeof cdata);
  explicit_bzero(&cdata, sizeof cdata);
  return 0;
}
