/*
 * qlocal_maildir: one message into a Maildir, as the Maildir specification
 * gives it: write tmp/UNIQUE, fsync, link to new/UNIQUE, fsync new/, then
 * remove tmp/UNIQUE. The message is on disk before we say "delivered".
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "durable.h"
#include "qlocal.h"

static int mkdir_p(char *path)
{
  char *p;

  for (p = path + 1; *p != '\0'; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0700) == -1 && errno != EEXIST) {
      *p = '/';
      return -1;
    }
    *p = '/';
  }
  if (mkdir(path, 0700) == -1 && errno != EEXIST) return -1;
  return 0;
}

/* Creates DIR/, DIR/tmp, DIR/new, DIR/cur where missing. */
static int maildir_make(const char *dir)
{
  static const char *const subs[] = {"tmp", "new", "cur"};
  stralloc p = {0};
  size_t i;
  int r = 0;

  for (i = 0; i < 3 && r == 0; i++) {
    if (!stralloc_copys(&p, dir) || !stralloc_cats(&p, subs[i]) || !stralloc_0(&p)) {
      errno = ENOMEM;
      r = -1;
      break;
    }
    if (mkdir(p.s, 0700) == 0 || errno == EEXIST) continue;
    if (errno != ENOENT || mkdir_p(p.s) == -1) r = -1;
  }
  stralloc_free(&p);
  return r;
}

/* "SECONDS.MUSECPPID.HOST", with '/' and ':' in HOST encoded (Maildir spec). */
static int maildir_unique(stralloc *name)
{
  char num[FMT_ULONG];
  static char host[256]; /* asked once per process */
  struct timeval tv;
  size_t i;

  gettimeofday(&tv, NULL);
  if (host[0] == '\0' && gethostname(host, sizeof host - 1) == -1) memcpy(host, "localhost", 10);
  host[sizeof host - 1] = '\0';
  if (!stralloc_copyb(name, num, fmt_ulong(num, (unsigned long)tv.tv_sec))) return -1;
  if (!stralloc_cats(name, ".M") ||
      !stralloc_catb(name, num, fmt_ulong(num, (unsigned long)tv.tv_usec)) ||
      !stralloc_cats(name, "P") ||
      !stralloc_catb(name, num, fmt_ulong(num, (unsigned long)getpid())) ||
      !stralloc_cats(name, "."))
    return -1;
  for (i = 0; host[i] != '\0'; i++) {
    if (host[i] == '/') {
      if (!stralloc_cats(name, "\\057")) return -1;
    } else if (host[i] == ':') {
      if (!stralloc_cats(name, "\\072")) return -1;
    } else if (!stralloc_append(name, host + i)) {
      return -1;
    }
  }
  return 0;
}

int maildir_put(const struct delivery *d, const char *dir, const char **why)
{
  stralloc uniq = {0};
  stralloc tmp = {0};
  stralloc fin = {0};
  stralloc newdir = {0};
  int fd = -1;
  int attempt;
  int made = 0;
  int e;

  *why = "unable to write the Maildir";
  /* the Maildir is made (DIR/, tmp, new, cur) only when a step finds a
   * part of it missing: most deliveries go to one that is there */
  for (attempt = 0; attempt < 3; attempt++) {
    if (maildir_unique(&uniq) == -1) goto nomem;
    if (!stralloc_copys(&tmp, dir) || !stralloc_cats(&tmp, "tmp/") ||
        !stralloc_cat(&tmp, &uniq) || !stralloc_0(&tmp))
      goto nomem;
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd != -1) break;
    if (errno == ENOENT && !made) {
      if (maildir_make(dir) == -1) {
        *why = "unable to create the Maildir";
        goto fail;
      }
      made = 1;
      attempt--;
      continue;
    }
    if (errno != EEXIST) goto fail;
    usleep(2000);
  }
  if (fd == -1) goto fail;
  if (msg_write(d, fd, MSG_RETURNPATH | MSG_DTLINE) == -1) goto fail_unlink;
  if (fsync(fd) == -1) goto fail_unlink;
  if (close(fd) == -1) {
    fd = -1;
    goto fail_unlink;
  }
  fd = -1;
  if (!stralloc_copys(&fin, dir) || !stralloc_cats(&fin, "new/") ||
      !stralloc_cat(&fin, &uniq) || !stralloc_0(&fin))
    goto nomem_unlink;
  if (link(tmp.s, fin.s) == -1) {
    if (errno != ENOENT || made) goto fail_unlink;
    if (maildir_make(dir) == -1) {
      *why = "unable to create the Maildir";
      goto fail_unlink;
    }
    made = 1;
    if (link(tmp.s, fin.s) == -1) goto fail_unlink;
  }
  if (!stralloc_copys(&newdir, dir) || !stralloc_cats(&newdir, "new") || !stralloc_0(&newdir))
    goto nomem_unlink;
  if (durable_dirsync(newdir.s) == -1) {
    e = errno;
    unlink(fin.s);
    errno = e;
    goto fail_unlink;
  }
  unlink(tmp.s);
  stralloc_free(&uniq);
  stralloc_free(&tmp);
  stralloc_free(&fin);
  stralloc_free(&newdir);
  return 0;

nomem_unlink:
  errno = ENOMEM;
fail_unlink:
  e = errno;
  if (fd != -1) close(fd);
  unlink(tmp.s);
  errno = e;
  goto fail;
nomem:
  errno = ENOMEM;
fail:
  e = errno;
  stralloc_free(&uniq);
  stralloc_free(&tmp);
  stralloc_free(&fin);
  stralloc_free(&newdir);
  errno = e;
  /* a path that cannot be a Maildir is permanent; a permission the admin
   * has to grant (EACCES, EPERM) or anything else is temporary */
  return (e == ENOENT || e == ENOTDIR || e == ELOOP) ? 100 : 111;
}

int deliver_maildir(const struct delivery *d, const char *dir, struct qlocal_result *res)
{
  const char *why;

  if (msg_checkloop(d, res) != 0) return res->code;
  if (maildir_put(d, dir, &why) != 0) return report_sys(res, 111, why, "");
  return report(res, 0, "delivered to Maildir ", dir, NULL);
}
