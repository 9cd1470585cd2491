/* sasl_plain_split: the response of SASL PLAIN (RFC 4616), decoded, split
 * into its login and password (b64.h). */
#include <string.h>
#include <strings.h>

#include "b64.h"

int sasl_plain_split(const char *s, size_t len, const char **user, size_t *ulen,
                     const char **pass, size_t *plen)
{
  const char *nul1 = memchr(s, '\0', len);
  const char *nul2;
  size_t zlen;

  if (nul1 == NULL) return 0;
  zlen = (size_t)(nul1 - s);
  nul2 = memchr(nul1 + 1, '\0', len - zlen - 1);
  if (nul2 == NULL) return 0;
  *user = nul1 + 1;
  *ulen = (size_t)(nul2 - *user);
  *pass = nul2 + 1;
  *plen = len - zlen - 1 - *ulen - 1;
  /* RFC 4616 2: acting as another identity is not offered; the login
   * itself, in any case, is what a login is (user names are compared
   * without ASCII case), and the session acts as the login either way */
  if (zlen != 0 && (zlen != *ulen || strncasecmp(s, *user, zlen) != 0)) return -1;
  return 1;
}
