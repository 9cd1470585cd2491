/* accounts_login: a login account that receives mail (accounts.h). */
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"

struct passwd *accounts_login(const char *local, size_t len)
{
  char name[64];
  struct passwd *pw;
  struct stat st;

  if (len == 0 || len >= sizeof name || memchr(local, '\0', len) != NULL) return NULL;
  memcpy(name, local, len);
  name[len] = '\0';
  pw = getpwnam(name);
  if (pw == NULL || pw->pw_uid < ACCT_LOGIN_UID_MIN || pw->pw_uid == ACCT_NOBODY_UID ||
      pw->pw_dir == NULL || pw->pw_dir[0] != '/' || stat(pw->pw_dir, &st) == -1 ||
      !S_ISDIR(st.st_mode))
    return NULL;
  return pw;
}
