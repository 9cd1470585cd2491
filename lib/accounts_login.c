/* accounts_login: a login account that receives mail (accounts.h). */
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"

int accounts_login(const char *local, size_t len, struct passwd_entry *e)
{
  struct stat st;
  int r;

  if (memchr(local, '\0', len) != NULL) return 0;
  r = passwd_file(local, len, e);
  if (r != 1) return r;
  return e->uid >= ACCT_LOGIN_UID_MIN && e->uid != ACCT_NOBODY_UID && e->home[0] == '/' &&
         stat(e->home, &st) == 0 && S_ISDIR(st.st_mode);
}
