/* tests/unit/u_qauth_verify.c: password checks of qauth. */
#include <string.h>

#include <crypt.h>

#include "tap.h"
#include "qauth.h"

int main(void)
{
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  char hash_y[CRYPT_OUTPUT_SIZE];
  char hash_6[CRYPT_OUTPUT_SIZE];
  struct crypt_data cd;

  plan(12);
  memset(&cd, 0, sizeof cd);
  crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting);
  strcpy(hash_y, crypt_rn("secret one", setting, &cd, sizeof cd));
  crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof setting);
  strcpy(hash_6, crypt_rn("s3cr3t", setting, &cd, sizeof cd));

  ok(qauth_verify("secret one", hash_y) == 1, "yescrypt: right password");
  ok(qauth_verify("secret onE", hash_y) == 0, "yescrypt: wrong password");
  ok(qauth_verify("", hash_y) == 0, "yescrypt: empty password");
  ok(qauth_verify("s3cr3t", hash_6) == 1, "sha512: right password");
  ok(qauth_verify("s3cr3", hash_6) == 0, "sha512: wrong password");
  ok(qauth_verify("x", "!") == 0, "locked account");
  ok(qauth_verify("x", "*") == 0, "no-login account");
  ok(qauth_verify("", "") == 0, "empty hash never matches");
  ok(qauth_verify_dummy("whatever") == 0, "dummy check fails");
  ok(qauth_streq_ct("abc", "abc") == 1, "ct equal");
  ok(qauth_streq_ct("abc", "abd") == 0 && qauth_streq_ct("ab", "abc") == 0 &&
     qauth_streq_ct("abcd", "abc") == 0, "ct different");
  ok(qauth_streq_ct("", "") == 1, "ct empty");
  return done_testing();
}
