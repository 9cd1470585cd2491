#ifndef SYSACCT_H
#define SYSACCT_H
/*
 * sysacct: a system account from /etc/passwd and /etc/group, read as
 * files. For static programs, which must not call into NSS: the accounts
 * qsetup creates are always in the local files.
 */
#include <stddef.h>
#include <sys/types.h>

#define SYSACCT_GROUPS_MAX 64 /* supplementary groups taken */

struct sysacct {
  uid_t uid;
  gid_t gid;
  gid_t groups[SYSACCT_GROUPS_MAX]; /* the primary group first */
  size_t ngroups;
};

/* 1 found, 0 no such account, -1 error + errno. */
int sysacct_find(struct sysacct *a, const char *name);
/* Becomes the account (groups, group, user), for good. 0, or -1 + errno. */
int sysacct_become(const struct sysacct *a);

#endif
