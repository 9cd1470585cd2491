/*
 * qauth: checks a user's password (the checkpassword interface).
 * Run by qsmtpd (SMTP AUTH), by qpop3d and by Dovecot's auth process,
 * as whatever user they run as; reading users.cdb needs root or the
 * group of the smtpd account. cwd: QHOME (qhome_chdir), then HOME when it
 * switched to the mailbox owner.
 * fd 3: "user\0password\0timestamp\0", at most QAUTH_RECORD_MAX bytes.
 * argv: [-d] prog [arg...]: on success prog is exec'd with USER, HOME,
 * MAILBOX (and MAILDIR for a Maildir) set; with -d (Dovecot), the uid
 * and gid are reported in userdb_uid and userdb_gid instead of switched.
 * Exit: 1 bad login (after a delay), 111 temporary failure, 100 misuse;
 * after the exec, whatever prog exits with.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "accounts.h"
#include "addr.h"
#include "cdbmap.h"
#include "ctl.h"
#include "qauth.h"
#include "qlog.h"
#include "users.h"

#define USAGE "qauth [-d] prog [arg...]"
#define QAUTH_RECORD_MAX 512      /* the checkpassword interface's limit */
#define QAUTH_READ_TIMEOUT 60000  /* ms to wait for the caller's record */
#define DEFAULT_DELAY 1000        /* control/authdelay, ms */
#define DEFAULT_DELAY_MAX 16000   /* control/authdelaymax, ms */
#define DEFAULT_WINDOW 900        /* control/authwindow, s */

static void die_usage(void) { qdie(100, "usage: " USAGE); }
static void die_nomem(void) { qdie(111, "out of memory"); }

static char record[QAUTH_RECORD_MAX + 1];

/* Whom to become, and what to tell the next program. */
struct login {
  const char *user;      /* canonical address */
  stralloc home;         /* NUL-terminated */
  stralloc mailbox;      /* absolute, NUL-terminated; ends in '/' for a Maildir */
  uid_t uid;
  gid_t gid;
  int have_owner;        /* uid and gid are known */
  int system;            /* a system account: supplementary groups of name */
  char name[64];         /* system account name */
};

static void read_record(size_t *len)
{
  struct pollfd p;
  ssize_t r;
  size_t got = 0;

  for (;;) {
    p.fd = 3;
    p.events = POLLIN;
    r = poll(&p, 1, QAUTH_READ_TIMEOUT);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) qdie_sys(111, "unable to read fd 3");
    if (r == 0) qdie(111, "unable to read fd 3: timed out");
    if (p.revents & POLLNVAL) qdie(111, "unable to read fd 3: not open");
    r = read(3, record + got, sizeof record - got);
    if (r == -1 && errno == EINTR) continue;
    if (r == -1) qdie_sys(111, "unable to read fd 3");
    if (r == 0) break;
    got += (size_t)r;
    if (got > QAUTH_RECORD_MAX) qdie(111, "unable to read fd 3: record too long");
  }
  close(3);
  *len = got;
}

static unsigned long ctl_ms(const char *fn, unsigned long def)
{
  unsigned long v;

  if (ctl_readint(&v, fn, def) == -1) {
    qwarn_sys("unable to read ", fn);
    return def;
  }
  return v;
}

static void sleep_ms(unsigned long ms)
{
  struct timespec ts;

  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static void fail(const char *user, const char *ip, const char *why)
{
  unsigned long count = 1;
  unsigned long delay;
  unsigned long base = ctl_ms("control/authdelay", DEFAULT_DELAY);
  unsigned long max = ctl_ms("control/authdelaymax", DEFAULT_DELAY_MAX);
  unsigned long window = ctl_ms("control/authwindow", DEFAULT_WINDOW);
  char nbuf[FMT_ULONG];
  char dbuf[FMT_ULONG];

  if (max < base) max = base;
  if (qauth_fail_add(QAUTH_FAIL_FILE, ip, (unsigned long)time(NULL), window, &count) == -1)
    qwarn_sys("unable to update ", QAUTH_FAIL_FILE);
  delay = qauth_fail_delay(count, base, max);
  qlog("login failed for ", user, " from ", ip, ": ", why, " (", qlog_ulong(nbuf, count),
       " recent, delay ", qlog_ulong(dbuf, delay), " ms)");
  sleep_ms(delay);
  _exit(1);
}

static void cat_abs(stralloc *sa, const char *path, const char *cwd)
{
  if (path[0] != '/') {
    if (!stralloc_copys(sa, cwd) || !stralloc_append(sa, "/")) die_nomem();
  } else {
    if (!stralloc_copys(sa, "")) die_nomem();
  }
  if (!stralloc_cats(sa, path) || !stralloc_0(sa)) die_nomem();
}

/* HOME is the Maildir itself (Dovecot's "maildir:~"), or the directory of
 * an mbox file; without the trailing '/'. */
static void home_from_mailbox(struct login *l)
{
  size_t n = l->mailbox.len - 1; /* without NUL */

  if (n > 1 && l->mailbox.s[n - 1] == '/') {
    n--;
  } else {
    while (n > 1 && l->mailbox.s[n - 1] != '/') n--;
    if (n > 1) n--;
  }
  if (!stralloc_copyb(&l->home, l->mailbox.s, n) || !stralloc_0(&l->home)) die_nomem();
}

/* The owner of virtual mailboxes: qmta-vmail on a root instance, else the
 * owner of mail/ (never root). */
static void vmail_owner(struct login *l)
{
  struct passwd *pw;
  struct stat st;

  errno = 0;
  pw = getpwnam(ACCT_VMAIL);
  if (pw != NULL) {
    l->uid = pw->pw_uid;
    l->gid = pw->pw_gid;
  } else if (stat("mail", &st) == 0 && st.st_uid != 0) {
    l->uid = st.st_uid;
    l->gid = st.st_gid;
  } else {
    qdie(111, "unable to find the owner of virtual mailboxes (" ACCT_VMAIL ")");
  }
  l->have_owner = 1;
}

/* A system account of the "me" domain: 1 found (hash in *hash), 0 not. */
static int system_user(struct login *l, const char *user, size_t len, const char **hash)
{
  stralloc me = {0};
  const char *dom;
  size_t dlen;
  size_t llen;
  struct passwd *pw;
  struct spwd *sp;
  struct stat st;

  if (geteuid() != 0) return 0;
  if (stat("control/authsystem", &st) == -1) return 0;
  dom = addr_domain(user, len, &dlen);
  if (dlen == 0) return 0;
  llen = len - dlen - 1;
  if (llen == 0 || llen >= sizeof l->name) return 0;
  if (ctl_readline(&me, "control/me", NULL) != 1) return 0;
  if (me.len != dlen || strncasecmp(me.s, dom, dlen) != 0) {
    stralloc_free(&me);
    return 0;
  }
  stralloc_free(&me);
  memcpy(l->name, user, llen);
  l->name[llen] = '\0';
  if (memchr(l->name, '/', llen) != NULL) return 0;

  pw = getpwnam(l->name);
  if (pw == NULL || pw->pw_uid == 0) return 0; /* root never logs in */
  l->uid = pw->pw_uid;
  l->gid = pw->pw_gid;
  l->have_owner = 1;
  l->system = 1;
  if (!stralloc_copys(&l->home, pw->pw_dir) || !stralloc_0(&l->home)) die_nomem();
  if (!stralloc_copys(&l->mailbox, pw->pw_dir) || !stralloc_cats(&l->mailbox, "/Maildir/") ||
      !stralloc_0(&l->mailbox))
    die_nomem();
  sp = getspnam(l->name);
  *hash = sp != NULL ? sp->sp_pwdp : pw->pw_passwd;
  return 1;
}

static void become(const struct login *l)
{
  if (l->uid == 0) qdie(111, "refusing to run as root for ", l->user);
  if (l->system) {
    if (initgroups(l->name, l->gid) == -1) qdie_sys(111, "unable to set groups");
  } else {
    if (setgroups(1, &l->gid) == -1) qdie_sys(111, "unable to set groups");
  }
  if (setgid(l->gid) == -1) qdie_sys(111, "unable to set gid");
  if (setuid(l->uid) == -1) qdie_sys(111, "unable to set uid");
  if (getuid() == 0 || geteuid() == 0) qdie(111, "unable to drop root");
}

static void env_set(const char *name, const char *value)
{
  if (setenv(name, value, 1) == -1) die_nomem();
}

int main(int argc, char **argv)
{
  int dovecot = 0;
  int argi = 1;
  size_t len;
  size_t ulen;
  size_t plen;
  const char *user;
  const char *password;
  const char *ip;
  const char *hash = NULL;
  char cwd[4096];
  char nbuf[FMT_ULONG];
  struct user u = {{0}, {0}, {0}};
  struct login l;
  int r;

  qlog_prog = "qauth";
  cdbmap_report = cdbmap_warn; /* a damaged users.cdb: a loud line, then 111 */
  if (argi < argc && strcmp(argv[argi], "-d") == 0) {
    dovecot = 1;
    argi++;
  }
  if (argi < argc && strcmp(argv[argi], "--") == 0) argi++;
  if (argi >= argc || argv[argi][0] == '-') die_usage();

  read_record(&len);
  record[len] = '\0';
  ulen = strnlen(record, len);
  if (ulen == len) qdie(111, "unable to read fd 3: malformed record");
  plen = strnlen(record + ulen + 1, len - ulen - 1);
  if (ulen + 1 + plen == len) qdie(111, "unable to read fd 3: malformed record");
  user = record;
  password = record + ulen + 1;

  if (qhome_chdir() == -1) qdie_sys(111, "unable to switch to ", qhome());
  if (getcwd(cwd, sizeof cwd) == NULL) qdie_sys(111, "unable to get the QHOME path");
  ip = getenv("TCPREMOTEIP");
  if (ip == NULL || ip[0] == '\0') ip = "local";

  memset(&l, 0, sizeof l);
  if (ulen == 0 || ulen > ADDR_MAX) {
    qauth_verify_dummy(password);
    fail(ulen == 0 ? "(empty)" : "(too long)", ip, "bad user name");
  }

  r = users_find(&u, user, ulen);
  if (r == -1) qdie_sys(111, "unable to read ", USERS_CDB);
  if (r == 1) {
    if (!stralloc_0(&u.key)) die_nomem();
    l.user = u.key.s;
    hash = u.hash.s;
    cat_abs(&l.mailbox, u.mailbox.s, cwd);
    home_from_mailbox(&l);
  } else if (system_user(&l, user, ulen, &hash) == 1) {
    l.user = user;
  } else {
    qauth_verify_dummy(password);
    explicit_bzero(record + ulen + 1, len - ulen - 1);
    fail(user, ip, "unknown user");
  }

  if (!qauth_verify(password, hash)) {
    explicit_bzero(record + ulen + 1, len - ulen - 1);
    fail(l.user, ip, hash[0] == '$' ? "bad password" : "no password set");
  }
  explicit_bzero(record + ulen + 1, len - ulen - 1);

  if (qauth_fail_clear(QAUTH_FAIL_FILE, ip) == -1 && errno != ENOENT && errno != EACCES)
    qwarn_sys("unable to update ", QAUTH_FAIL_FILE);

  if (!l.have_owner) {
    if (geteuid() == 0) {
      vmail_owner(&l);
    } else {
      l.uid = getuid();
      l.gid = getgid();
    }
  }

  env_set("USER", l.user);
  env_set("HOME", l.home.s);
  env_set("MAILBOX", l.mailbox.s);
  if (l.mailbox.len > 1 && l.mailbox.s[l.mailbox.len - 2] == '/') {
    l.mailbox.s[l.mailbox.len - 2] = '\0';
    env_set("MAILDIR", l.mailbox.s);
    if (dovecot) {
      stralloc mail = {0};
      if (!stralloc_copys(&mail, "maildir:") || !stralloc_cats(&mail, l.mailbox.s) ||
          !stralloc_0(&mail))
        die_nomem();
      env_set("userdb_mail", mail.s);
      stralloc_free(&mail);
    }
  } else {
    unsetenv("MAILDIR");
    unsetenv("userdb_mail"); /* never one inherited from the caller */
  }

  if (dovecot) {
    /* Dovecot's checkpassword-reply refuses a changed uid; it takes the
     * owner from these fields and switches itself in the mail process. */
    if (geteuid() == 0 && l.uid == 0) qdie(111, "refusing root as owner of ", l.user);
    env_set("userdb_uid", qlog_ulong(nbuf, (unsigned long)l.uid));
    env_set("userdb_gid", qlog_ulong(nbuf, (unsigned long)l.gid));
    env_set("EXTRA", getenv("userdb_mail") != NULL ? "userdb_uid userdb_gid userdb_mail"
                                                   : "userdb_uid userdb_gid");
  } else if (geteuid() == 0) {
    become(&l);
    /* a mailbox that has had no mail yet may not exist: stay in QHOME */
    if (chdir(l.home.s) == -1 && errno != ENOENT)
      qdie_sys(111, "unable to switch to ", l.home.s);
  }

  qlog("login ", l.user, " from ", ip);
  execvp(argv[argi], argv + argi);
  qdie_sys(111, "unable to run ", argv[argi]);
}
