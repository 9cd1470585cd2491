/*
 * dkim: placeholders until the library is written. ISC licence.
 */
#include <errno.h>
#include <stdlib.h>

#include "dkim.h"

const char *dkim_result_name(enum dkim_status st)
{
  static const char *const names[] = { "none", "pass", "fail", "neutral", "policy",
                                       "temperror", "permerror" };
  if ((unsigned int)st >= sizeof names / sizeof names[0]) return "permerror";
  return names[st];
}

struct dkim_key *dkim_key_load(const char *path)
{
  (void)path;
  errno = ENOSYS;
  return NULL;
}

void dkim_key_free(struct dkim_key *key) { (void)key; }

int dkim_key_type(const struct dkim_key *key) { (void)key; return DKIM_RSA; }

int dkim_sign(const char *msg, size_t len, const char *domain, const char *selector,
              const struct dkim_key *key, time_t now, char **out, size_t *outlen)
{
  (void)msg; (void)len; (void)domain; (void)selector; (void)key; (void)now;
  *out = NULL;
  *outlen = 0;
  errno = ENOSYS;
  return -1;
}

int dkim_lookup_dns(const char *name, char **recs, int max, void *cookie)
{
  (void)name; (void)recs; (void)max; (void)cookie;
  return -1;
}

int dkim_verify(const char *msg, size_t len, struct dkim_result *res, int max,
                dkim_lookup_fn lookup, void *cookie, time_t now)
{
  (void)msg; (void)len; (void)res; (void)max; (void)lookup; (void)cookie; (void)now;
  return 0;
}

int dkim_keys_for(const char *dir, const char *domain, struct dkim_keyfile *keys, int max)
{
  (void)dir; (void)domain; (void)keys; (void)max;
  return 0;
}
