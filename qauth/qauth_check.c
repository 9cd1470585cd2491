/*
 * qauth_check: checks a password against the stored hash, in the process
 * that can read it: qauth run as root or as the instance's owner, or
 * qauthd for a qauth that cannot (qauth.h).
 */
#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <string.h>
#include <sys/stat.h>

#include <stralloc.h>

#include "qauth.h"
#include "users.h"

int qauth_check(char kind, const char *name, const char *password)
{
  stralloc hash = {0};
  const char *h = NULL;
  struct passwd *pw;
  struct spwd *sp;
  struct stat st;
  int answer;
  int r;

  if (kind == QAUTH_KIND_VIRTUAL) {
    r = users_hash(&hash, name, strlen(name));
    if (r == -1) {
      int e = errno;
      stralloc_free(&hash);
      errno = e;
      return QAUTH_TEMP;
    }
    if (r == 1) h = hash.s;
  } else if (kind == QAUTH_KIND_SYSTEM) {
    /* the caller checked these; a service answering others checks again */
    if (stat("control/authsystem", &st) == 0 && (pw = getpwnam(name)) != NULL &&
        pw->pw_uid != 0) {
      errno = 0;
      sp = getspnam(name);
      if (sp == NULL && errno == EACCES) return QAUTH_TEMP;
      h = sp != NULL ? sp->sp_pwdp : pw->pw_passwd;
    }
  }
  if (h == NULL) {
    qauth_verify_dummy(password);
    answer = QAUTH_NO;
  } else if (h[0] != '$') {
    qauth_verify_dummy(password);
    answer = QAUTH_NOPASS;
  } else {
    answer = qauth_verify(password, h) ? QAUTH_YES : QAUTH_NO;
  }
  if (hash.s != NULL) explicit_bzero(hash.s, hash.a);
  stralloc_free(&hash);
  return answer;
}
