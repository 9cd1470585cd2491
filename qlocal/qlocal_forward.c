/*
 * qlocal_forward: a login account's ~/.forward (qlocal -h HOME), read as
 * the account itself (qlspawn forks and drops to it first; never root).
 *
 * The file is used only when it is safe, as sendmail does: a plain file
 * (not a symbolic link), owned by the account or root, not writable by
 * group or others, in a home that only its owner (or root) may change
 * (or sticky). Otherwise it is ignored, one warning line says why (in
 * qsend's log), and the mail goes to the mailbox as if it were not there.
 * An empty file (only blanks and comments) is ignored too.
 *
 * Entries (qlocal.8): addresses (forwarded), "\user" or "user" (the
 * account's own mailbox), "./path" and "~/path" (under the home; ending
 * in '/' a Maildir, else mbox), /path, "|command", ":include:/path",
 * "error:x.y.z text".
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stralloc.h>

#include "qlog.h"
#include "qlocal.h"

#define FORWARD_FILE_MAX 65536 /* bytes of a ~/.forward */

static void ignored(const char *fn, const char *why, const char *rcpt)
{
  qwarn("ignoring ", fn, " for ", rcpt, ": ", why);
}

/* 1 if the text holds an entry: something besides blanks and comments. */
static int has_entry(const char *s, size_t len)
{
  size_t i = 0;

  while (i < len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    if (i < len && s[i] != '#') return 1;
    while (i < len && s[i] != '\n') i++;
  }
  return 0;
}

int deliver_forward(const struct delivery *d, const char *home, const char *mailbox,
                    struct qlocal_result *res)
{
  static char text[FORWARD_FILE_MAX];
  struct forward_owner owner;
  stralloc fn = {0};
  struct stat st;
  size_t len = 0;
  ssize_t r;
  int fd;
  int code = -1;

  if (!stralloc_copys(&fn, home) || !stralloc_cats(&fn, "/.forward") || !stralloc_0(&fn)) {
    stralloc_free(&fn);
    return report(res, 111, "out of memory (#4.3.0)", NULL, NULL);
  }
  fd = open(fn.s, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd == -1) {
    if (errno == ENOENT) goto none;
    if (errno == ELOOP) {
      ignored(fn.s, "a symbolic link", d->recipient);
      goto none;
    }
    if (errno == EACCES) {
      ignored(fn.s, "not readable by its account", d->recipient);
      goto none;
    }
    code = report_sys(res, 111, "unable to open ", fn.s); /* #4.3.0 */
    goto none;
  }
  if (fstat(fd, &st) == -1) {
    code = report_sys(res, 111, "unable to stat ", fn.s);
    goto close_none;
  }
  if (!S_ISREG(st.st_mode)) {
    ignored(fn.s, "not a plain file", d->recipient);
    goto close_none;
  }
  if (st.st_uid != getuid() && st.st_uid != 0) {
    ignored(fn.s, "not owned by the account", d->recipient);
    goto close_none;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    ignored(fn.s, "writable by group or others", d->recipient);
    goto close_none;
  }
  if (stat(home, &st) == -1) {
    code = report_sys(res, 111, "unable to stat ", home);
    goto close_none;
  }
  if ((st.st_uid != getuid() && st.st_uid != 0) ||
      ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)) {
    ignored(fn.s, "its home directory may be changed by others", d->recipient);
    goto close_none;
  }
  while (len < sizeof text && (r = read(fd, text + len, sizeof text - len)) != 0) {
    if (r == -1) {
      if (errno == EINTR) continue;
      code = report_sys(res, 111, "unable to read ", fn.s);
      goto close_none;
    }
    len += (size_t)r;
  }
  if (len == sizeof text) {
    code = report(res, 111, fn.s, " is too long (#4.3.5)", NULL);
    goto close_none;
  }
  close(fd);
  if (!has_entry(text, len)) goto none;
  owner.home = home;
  owner.mailbox = mailbox;
  stralloc_free(&fn);
  return deliver_forward_text(d, &owner, text, len, res);

close_none:
  close(fd);
none:
  stralloc_free(&fn);
  return code;
}
