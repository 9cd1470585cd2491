/*
 * qpasswd: add a virtual user, or change a virtual user's password.
 *
 *   qpasswd DIR user@domain  < password-line
 *
 * Reads the password as one line on fd 0 (without echo on a terminal),
 * hashes it with crypt(3) (yescrypt, or SHA-512 where libcrypt lacks it),
 * writes control/users durably with the user's line added or changed
 * (other lines and comments untouched, a MAILBOX field kept), recompiles
 * control/users.cdb and creates the default Maildir mail/DOMAIN/USER/ with
 * the owner of mail/ (qmta-vmail on a root instance). The password is
 * never stored or printed; its buffer is wiped after hashing.
 * Run by the admin as the instance owner (root on a root instance).
 * Exit: 0 done, 100 usage or bad input, 111 temporary error.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "ctl.h"
#include "durable.h"
#include "maps.h"
#include "qlog.h"
#include "users.h"

#define USAGE "qpasswd DIR user@domain"
#define PASSWORD_MAX 1024      /* bytes of one password line */
#define USERS_FILE_MAX 67108864 /* control/users larger than 64 MiB is refused */

static struct crypt_data cdata; /* about 32 KiB: not on the stack */

static void report(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  char num[FMT_ULONG];

  qlog(fn, ":", qlog_ulong(num, lineno), ": ", what, what2 != NULL ? what2 : "");
}

/* Reads one line (without '\n' and '\r') into pw; returns its length. */
static size_t read_password(char *pw, size_t size)
{
  struct termios saved;
  struct termios quiet;
  int tty = isatty(0) && tcgetattr(0, &saved) == 0;
  size_t len = 0;
  int toolong = 0;

  if (tty) {
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (write(2, "Password: ", 10) == -1) {} /* a prompt only */
    tcsetattr(0, TCSAFLUSH, &quiet);
  }
  for (;;) {
    char c;
    ssize_t r = read(0, &c, 1); /* byte by byte: nothing after the line is consumed */
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) {
      if (tty) tcsetattr(0, TCSAFLUSH, &saved);
      qdie_sys(111, "unable to read the password");
    }
    if (r == 0 || c == '\n') break;
    if (len + 1 >= size) {
      toolong = 1;
      continue;
    }
    pw[len++] = c;
  }
  if (tty) {
    tcsetattr(0, TCSAFLUSH, &saved);
    if (write(2, "\n", 1) == -1) {}
  }
  if (toolong) qdie(100, "password too long");
  if (len > 0 && pw[len - 1] == '\r') len--;
  pw[len] = '\0';
  if (len == 0) qdie(100, "empty password");
  if (memchr(pw, '\0', len) != NULL) qdie(100, "NUL in password");
  return len;
}

static const char *hash_password(const char *pw)
{
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  const char *h;

  if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) == NULL &&
      crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof salt) == NULL)
    qdie_sys(111, "unable to make a salt");
  h = crypt_r(pw, salt, &cdata);
  if (h == NULL || h[0] != '$') qdie_sys(111, "unable to hash the password");
  return h;
}

/* The key of line (lowercased address), into key; 1 if it is a user line. */
static int line_key(const char *line, size_t len, stralloc *key)
{
  struct user u = {0};
  int r = users_parseline(&u, line, len);

  if (r == 1 && !stralloc_copy(key, &u.key)) qdie_nomem();
  users_free(&u);
  return r == 1;
}

/* The MAILBOX field of a user line ("" if none): after the second ':'. */
static void line_mailbox(const char *line, size_t len, const char **mb, size_t *mblen)
{
  const char *c1 = memchr(line, ':', len);
  const char *c2 = (c1 != NULL) ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;

  *mb = "";
  *mblen = 0;
  if (c2 == NULL) return;
  *mb = c2 + 1;
  *mblen = len - (size_t)(c2 + 1 - line);
  while (*mblen > 0 && ((*mb)[*mblen - 1] == ' ' || (*mb)[*mblen - 1] == '\t' ||
                        (*mb)[*mblen - 1] == '\r'))
    (*mblen)--;
}

/* mkdir with mode and the owner of mail/; an existing directory is fine. */
static void make_dir(const char *path, int mode, const struct stat *owner)
{
  if (mkdir(path, (mode_t)mode) == -1) {
    if (errno == EEXIST) return;
    qdie_sys(111, "unable to create ", path);
  }
  if (chmod(path, (mode_t)mode) == -1) qdie_sys(111, "unable to chmod ", path);
  if (chown(path, owner->st_uid, owner->st_gid) == -1 && errno != EPERM)
    qdie_sys(111, "unable to chown ", path);
}

/* The default Maildir mail/DOMAIN/USER/ with tmp, new, cur. */
static void make_maildir(const stralloc *mailbox)
{
  static const char *const subdirs[] = {"tmp", "new", "cur"};
  stralloc path = {0};
  struct stat st;
  size_t i;
  size_t slash;

  if (mailbox->len < 6 || memcmp(mailbox->s, "mail/", 5) != 0 ||
      mailbox->s[mailbox->len - 1] != '/')
    return; /* the admin's own mailbox: theirs to create */
  if (stat("mail", &st) == -1) qdie_sys(111, "unable to stat mail");

  /* mail/DOMAIN/ then mail/DOMAIN/USER/ */
  for (slash = 5; slash < mailbox->len; slash++) {
    if (mailbox->s[slash] != '/') continue;
    if (!stralloc_copyb(&path, mailbox->s, slash) || !stralloc_0(&path)) qdie_nomem();
    make_dir(path.s, (slash == mailbox->len - 1) ? 0700 : 0750, &st);
  }
  for (i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    if (!stralloc_copyb(&path, mailbox->s, mailbox->len) || !stralloc_cats(&path, subdirs[i]) ||
        !stralloc_0(&path))
      qdie_nomem();
    make_dir(path.s, 0700, &st);
  }
  stralloc_free(&path);
}

/* A user of a domain that control/locals does not name gets no mail here
 * (RCPT refuses it, or relays it): say so, as the admin most likely
 * forgot that step of adding a domain. */
static void warn_not_local(const stralloc *key)
{
  stralloc locals = {0};
  const char *at = memchr(key->s, '@', key->len);
  const char *dom = at != NULL ? at + 1 : NULL;
  size_t dlen = at != NULL ? key->len - (size_t)(at + 1 - key->s) : 0;
  int r = ctl_readlist(&locals, "control/locals");

  if (r == -1) {
    qwarn_sys("unable to read control/locals");
  } else if (dom != NULL && !ctl_domainmatch(&locals, dom, dlen)) {
    char shown[256];
    size_t n = dlen < sizeof shown ? dlen : sizeof shown - 1;
    memcpy(shown, dom, n);
    shown[n] = '\0';
    qwarn(shown, " is not in control/locals: no mail is delivered to this user"
          " until it is");
  }
  stralloc_free(&locals);
}

int main(int argc, char **argv)
{
  char pw[PASSWORD_MAX];
  struct user u = {0};
  stralloc file = {0};
  stralloc out = {0};
  stralloc key = {0};
  stralloc newline = {0};
  struct stat st;
  const char *hash;
  size_t pos;
  int mode = 0600;
  int found = 0;
  int fd;
  int r;

  qlog_prog = "qpasswd";
  maps_report = report;
  if (argc != 3) qdie_usage(USAGE);
  if (chdir(argv[1]) == -1) qdie_sys(errno_is_temp(errno) ? 111 : 100, "unable to chdir to ", argv[1]);

  /* The address must make a valid line on its own. */
  if (strchr(argv[2], ':') != NULL || !stralloc_copys(&newline, argv[2]) ||
      !stralloc_cats(&newline, ":!") || users_parseline(&u, newline.s, newline.len) != 1)
    qdie(100, "not a valid user@domain: ", argv[2]);

  read_password(pw, sizeof pw);
  hash = hash_password(pw);
  explicit_bzero(pw, sizeof pw);

  if (maps_lock() == -1) qdie_sys(111, "unable to lock control");

  /* control/users, one line changed or added */
  fd = open(USERS_TEXT, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd == -1 && errno != ENOENT) qdie_sys(111, "unable to open " USERS_TEXT);
  if (fd != -1) {
    char buf[8192];
    ssize_t n;
    if (fstat(fd, &st) == 0) mode = (int)(st.st_mode & 07777);
    while ((n = read(fd, buf, sizeof buf)) != 0) {
      if (n == -1) {
        if (errno == EINTR) continue;
        qdie_sys(111, "unable to read " USERS_TEXT);
      }
      if (file.len + (size_t)n > USERS_FILE_MAX) qdie(100, USERS_TEXT " is too large");
      if (!stralloc_catb(&file, buf, (size_t)n)) qdie_nomem();
    }
    close(fd);
  }

  pos = 0;
  while (pos < file.len) {
    const char *line = file.s + pos;
    const char *nl = memchr(line, '\n', file.len - pos);
    size_t len = (nl != NULL) ? (size_t)(nl - line) : file.len - pos;
    pos += len + (nl != NULL);
    if (!found && line_key(line, len, &key) && key.len == u.key.len &&
        memcmp(key.s, u.key.s, key.len) == 0) {
      const char *mb;
      size_t mblen;
      line_mailbox(line, len, &mb, &mblen);
      if (!stralloc_cat(&out, &u.key) || !stralloc_catb(&out, ":", 1) ||
          !stralloc_cats(&out, hash))
        qdie_nomem();
      if (mblen > 0 && (!stralloc_catb(&out, ":", 1) || !stralloc_catb(&out, mb, mblen)))
        qdie_nomem();
      if (!stralloc_catb(&out, "\n", 1)) qdie_nomem();
      found = 1;
      continue;
    }
    if (!stralloc_catb(&out, line, len) || !stralloc_catb(&out, "\n", 1)) qdie_nomem();
  }
  if (!found) {
    if (!stralloc_cat(&out, &u.key) || !stralloc_catb(&out, ":", 1) ||
        !stralloc_cats(&out, hash) || !stralloc_catb(&out, "\n", 1))
      qdie_nomem();
  }
  explicit_bzero(&cdata, sizeof cdata);

  if (durable_writefile(USERS_TEXT, out.s, out.len, mode) == -1)
    qdie_sys(111, "unable to write " USERS_TEXT);

  r = maps_users();
  if (r == 1) qdie(100, USERS_TEXT " has errors: users.cdb not updated");
  if (r == -1) qdie_sys(111, "unable to compile " USERS_CDB);

  /* The mailbox: the line's own, or the default (users_parseline). */
  if (found) {
    struct user cur = {0};
    pos = 0;
    while (pos < out.len) {
      const char *line = out.s + pos;
      const char *nl = memchr(line, '\n', out.len - pos);
      size_t len = (size_t)(nl - line);
      pos += len + 1;
      if (users_parseline(&cur, line, len) == 1 && cur.key.len == u.key.len &&
          memcmp(cur.key.s, u.key.s, u.key.len) == 0) {
        make_maildir(&cur.mailbox);
        break;
      }
    }
    users_free(&cur);
  } else {
    make_maildir(&u.mailbox);
  }

  qlog(found ? "changed the password of " : "added ", u.key.s);
  warn_not_local(&u.key);
  users_free(&u);
  stralloc_free(&file);
  stralloc_free(&out);
  stralloc_free(&key);
  stralloc_free(&newline);
  return 0;
}
