/*
 * sysacct_find: uid, gid and groups of an account from /etc/passwd and
 * /etc/group ("name:x:uid:gid:..." and "group:x:gid:member,member").
 */
#include <errno.h>
#include <string.h>

#include <stralloc.h>

#include "ctl.h"
#include "sysacct.h"

/* Field i (0-based, ':'-separated) of line: start and length; -1 if absent. */
static int field(const char *line, size_t len, int i, size_t *start, size_t *flen)
{
  size_t pos = 0;

  while (i > 0) {
    const char *c = memchr(line + pos, ':', len - pos);
    if (c == NULL) return -1;
    pos = (size_t)(c - line) + 1;
    i--;
  }
  *start = pos;
  *flen = len - pos;
  {
    const char *c = memchr(line + pos, ':', len - pos);
    if (c != NULL) *flen = (size_t)(c - line) - pos;
  }
  return 0;
}

static int number(const char *s, size_t len, unsigned long *n)
{
  size_t i;

  if (len == 0 || len > 9) return -1;
  *n = 0;
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    *n = *n * 10 + (unsigned long)(s[i] - '0');
  }
  return 0;
}

/* 1 if the comma list s (len bytes) holds name */
static int member(const char *s, size_t len, const char *name)
{
  size_t nlen = strlen(name);
  size_t pos = 0;

  while (pos <= len) {
    const char *c = memchr(s + pos, ',', len - pos);
    size_t end = c != NULL ? (size_t)(c - s) : len;
    if (end - pos == nlen && memcmp(s + pos, name, nlen) == 0) return 1;
    if (c == NULL) break;
    pos = end + 1;
  }
  return 0;
}

int sysacct_find(struct sysacct *a, const char *name)
{
  stralloc f = {0};
  size_t nlen = strlen(name);
  size_t pos;
  int found = 0;
  int r;

  r = ctl_readfile(&f, "/etc/passwd");
  if (r != 1) {
    stralloc_free(&f);
    if (r == 0) errno = ENOENT;
    return -1;
  }
  for (pos = 0; pos < f.len && !found;) {
    const char *line = f.s + pos;
    const char *nl = memchr(line, '\n', f.len - pos);
    size_t len = nl != NULL ? (size_t)(nl - line) : f.len - pos;
    size_t s;
    size_t l;
    unsigned long uid;
    unsigned long gid;

    pos += len + 1;
    if (len <= nlen || memcmp(line, name, nlen) != 0 || line[nlen] != ':') continue;
    if (field(line, len, 2, &s, &l) == -1 || number(line + s, l, &uid) == -1) continue;
    if (field(line, len, 3, &s, &l) == -1 || number(line + s, l, &gid) == -1) continue;
    a->uid = (uid_t)uid;
    a->gid = (gid_t)gid;
    a->groups[0] = a->gid;
    a->ngroups = 1;
    found = 1;
  }
  if (!found) {
    stralloc_free(&f);
    return 0;
  }
  r = ctl_readfile(&f, "/etc/group");
  if (r == -1) {
    stralloc_free(&f);
    return -1;
  }
  for (pos = 0; r == 1 && pos < f.len;) {
    const char *line = f.s + pos;
    const char *nl = memchr(line, '\n', f.len - pos);
    size_t len = nl != NULL ? (size_t)(nl - line) : f.len - pos;
    size_t s;
    size_t l;
    unsigned long gid;

    pos += len + 1;
    if (field(line, len, 2, &s, &l) == -1 || number(line + s, l, &gid) == -1) continue;
    if (field(line, len, 3, &s, &l) == -1 || !member(line + s, l, name)) continue;
    if ((gid_t)gid == a->gid || a->ngroups == SYSACCT_GROUPS_MAX) continue;
    a->groups[a->ngroups++] = (gid_t)gid;
  }
  stralloc_free(&f);
  return 1;
}
