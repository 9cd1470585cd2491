/*
 * aliases_exitname: the names of sendmail's error mailer in an "error:"
 * target ("error:nouser 550 No such user here", as in sendmail's
 * virtusertable examples): the enhanced status code each stands for.
 */
#include <string.h>
#include <strings.h>

#include "aliases.h"

static const struct {
  const char *name;
  const char *status;
} names[] = {
  {"nouser", "5.1.1"},      {"nohost", "5.1.2"},  {"unavailable", "5.0.0"},
  {"noperm", "5.7.1"},      {"dataerr", "5.6.0"}, {"protocol", "5.5.0"},
  {"software", "5.3.0"},    {"config", "5.3.5"},  {"tempfail", "4.0.0"},
};

const char *aliases_exitname(const char *s, size_t len, size_t *used)
{
  size_t n = 0;
  size_t i;

  while (n < len && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))) n++;
  if (n == 0 || (n < len && s[n] != ' ' && s[n] != '\t')) return NULL;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i].name) == n && strncasecmp(s, names[i].name, n) == 0) {
      *used = n;
      return names[i].status;
    }
  }
  return NULL;
}
