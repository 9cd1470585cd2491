#ifndef CTL_H
#define CTL_H
/*
 * ctl: control files. Every program chdir()s to QHOME first (qhome_chdir),
 * so file names here are relative, e.g. "control/databytes".
 * A control file holds one value or one entry a line; '#' starts a comment
 * (to the end of the line), leading and trailing blanks are trimmed, empty
 * lines are skipped. A missing file means "use the default".
 */
#include <sys/types.h>
#include <time.h>

#include <stralloc.h>

#define QHOME_DEFAULT "/var/qmta"

const char *qhome(void);   /* $QHOME or QHOME_DEFAULT */
int qhome_chdir(void);     /* 0, or -1 + errno */

/* Limit on the size of one control file (EFBIG beyond). */
#define CTL_FILE_MAX (64UL << 20)

/* The whole of fn into sa, raw. 1 read, 0 missing (sa empty), -1 error + errno. */
int ctl_readfile(stralloc *sa, const char *fn);

/* The next entry of the text s (len bytes) from *pos on: comments cut,
 * blanks trimmed, empty lines skipped. 1 found (entry at s + *start,
 * *elen bytes; *pos moved past its line), 0 no more entries. */
int ctl_nextentry(const char *s, size_t len, size_t *pos, size_t *start, size_t *elen);

/* First entry of fn into sa (not NUL-terminated; sa->len is the length).
 * 1 found, 0 missing or empty (sa = def, or empty if def is NULL), -1 error + errno. */
int ctl_readline(stralloc *sa, const char *fn, const char *def);

/* First entry of fn as a decimal number. 1 found, 0 missing (*val = def),
 * -1 error + errno (EINVAL if the entry is not a number,
 * ERANGE if it does not fit). */
int ctl_readint(unsigned long *val, const char *fn, unsigned long def);

/* Every entry of fn into sa, each followed by '\0'. 1 read, 0 missing
 * (sa empty), -1 error + errno. */
int ctl_readlist(stralloc *sa, const char *fn);

/* 1 if the list read by ctl_readlist holds s (len bytes), compared without
 * regard to ASCII case; 0 if not. */
int ctl_listhas(const stralloc *list, const char *s, size_t len);

/* 1 if domain d (len bytes, any case, an optional trailing dot ignored) is
 * in the list or is a subdomain of an entry written ".example.org"; 0 if not. */
int ctl_domainmatch(const stralloc *list, const char *d, size_t len);

/* 1 if the recipient addr (internal form, len bytes) is delivered here,
 * 0 if it is relayed: no domain, a domain that ctl_domainmatch finds in
 * locals, or postmaster (any case) at me (melen bytes: control/me) when
 * locals is not empty (RFC 5321 4.5.1; a send-only instance has none). */
int ctl_islocal(const stralloc *locals, const char *me, size_t melen, const char *addr,
                size_t len);

/* Control files a long-running program watches, so that it sees a change
 * as soon as qsmtpd does (which reads them at each connection): it calls
 * ctl_changed before it uses them and reads them again when told. */
#define CTL_WATCH_MAX 16
struct ctl_stamp {
  int present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
};
struct ctl_watch {
  const char *const *names;  /* NULL-terminated; at most CTL_WATCH_MAX are watched */
  struct ctl_stamp stamp[CTL_WATCH_MAX];
  int primed;
};

/* One stat of each file of w. 1 if one was created, removed, replaced or
 * written since the previous call (a stat that fails other than with
 * ENOENT counts as a change), 0 if not; the first call only primes w and
 * says 0, so make it before the first read of the files. */
int ctl_changed(struct ctl_watch *w);

#endif
