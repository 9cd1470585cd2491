/*
 * sysacct_become: drops to an account for good: supplementary groups,
 * then the group, then the user (after setuid nothing else could change),
 * and checks that root cannot be had back.
 */
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "sysacct.h"

int sysacct_become(const struct sysacct *a)
{
  if (setgroups(a->ngroups, a->groups) == -1) return -1;
  if (setgid(a->gid) == -1) return -1;
  if (setuid(a->uid) == -1) return -1;
  if (getuid() != a->uid || geteuid() != a->uid || getgid() != a->gid || getegid() != a->gid) {
    errno = EPERM;
    return -1;
  }
  if (a->uid != 0 && setuid(0) != -1) {
    errno = EPERM;
    return -1;
  }
  return 0;
}
