/*
 * qauth: checks a user's password (the checkpassword interface).
 * Run by qsmtpd (SMTP AUTH), by qpop3d and by Dovecot's auth process,
 * as whatever user they run as. It reads users.cdb (who is a user) and
 * keeps the failure counts; the hash is read here by root and the
 * instance's owner, and by qauthd for anyone else (qmta-smtpd): see
 * qauth.h. cwd: QHOME (qhome_chdir), then HOME when it switched to the
 * mailbox owner.
 * fd 3: "user\0password\0timestamp\0", at most QAUTH_RECORD_MAX bytes.
 * argv: [-d] prog [arg...]: on success prog is exec'd with USER, HOME,
 * MAILBOX (and MAILDIR for a Maildir) set; with -d (Dovecot), the uid
 * and gid are reported in userdb_uid and userdb_gid instead of switched.
 * Exit: 1 bad login (after a delay), 111 temporary failure (also a
 * client address or user name locked out after too many failures: see
 * qauth_fail.c), 100 misuse; after the exec, whatever prog exits with.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "accounts.h"
#include "addr.h"
#include "cdbmap.h"
#include "ctl.h"
#include "ctldef.h"
#include "ipaddr.h"
#include "qauth.h"
#include "qlog.h"
#include "users.h"

#define USAGE "qauth [-d] prog [arg...]"
#define QAUTH_RECORD_MAX 512      /* the checkpassword interface's limit */
#define QAUTH_READ_TIMEOUT 60000  /* ms to wait for the caller's record */
#define DEFAULT_DELAY CTLDEF_AUTHDELAY        /* control/authdelay, ms */
#define DEFAULT_DELAY_MAX CTLDEF_AUTHDELAYMAX /* control/authdelaymax, ms */
#define DEFAULT_WINDOW CTLDEF_AUTHWINDOW      /* control/authwindow, s */
#define DEFAULT_LOCK_IP CTLDEF_AUTHLOCKIP     /* control/authlockip, failures; 0 never */
#define DEFAULT_LOCK_USER CTLDEF_AUTHLOCKUSER /* control/authlockuser, failures; 0 never */
#define DEFAULT_LOCK_TIME CTLDEF_AUTHLOCKTIME /* control/authlocktime, s */
#define UTC_LEN 21                /* "YYYY-MM-DDTHH:MM:SSZ" and NUL */

static char record[QAUTH_RECORD_MAX + 1];
static char ip_key[QAUTH_FAIL_IPKEY_MAX];  /* the client address as counted */
static char user_key[ADDR_MAX + 1];        /* the user name as counted; "" none */
static unsigned long delay_base;           /* ms */
static unsigned long delay_max;            /* ms */
static struct qauth_fail_conf fail_conf;

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

static unsigned long ctl_num(const char *fn, unsigned long def)
{
  unsigned long v;

  if (ctl_readint(&v, fn, def) == -1) {
    qwarn_sys("unable to read ", fn);
    return def;
  }
  return v;
}

static void settings_read(void)
{
  delay_base = ctl_num("control/authdelay", DEFAULT_DELAY);
  delay_max = ctl_num("control/authdelaymax", DEFAULT_DELAY_MAX);
  if (delay_max < delay_base) delay_max = delay_base;
  fail_conf.window = ctl_num("control/authwindow", DEFAULT_WINDOW);
  fail_conf.lock_ip = ctl_num("control/authlockip", DEFAULT_LOCK_IP);
  fail_conf.lock_user = ctl_num("control/authlockuser", DEFAULT_LOCK_USER);
  fail_conf.lock_time = ctl_num("control/authlocktime", DEFAULT_LOCK_TIME);
}

static void sleep_ms(unsigned long ms)
{
  struct timespec ts;

  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* A user name as the log shows it: at most ADDR_MAX bytes, and every
 * blank, control or non-ASCII byte as '?', so that a name can never put
 * " from ADDRESS" into a line that a fail2ban filter reads. */
static const char *shown(char dest[ADDR_MAX + 1], const char *user, size_t len)
{
  size_t i;

  if (len > ADDR_MAX) len = ADDR_MAX;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)user[i];
    dest[i] = ch <= ' ' || ch >= 0x7f ? '?' : (char)ch;
  }
  dest[len] = '\0';
  return dest;
}

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf. */
static const char *fmt_utc(char buf[UTC_LEN], unsigned long t)
{
  struct tm tm;
  time_t tt = (time_t)t;
  unsigned long f[6];
  static const unsigned int width[6] = {4, 2, 2, 2, 2, 2};
  static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
  size_t n = 0;
  size_t i;
  size_t k;

  if (gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
    memcpy(buf, "(unknown)", 10);
    return buf;
  }
  f[0] = (unsigned long)(tm.tm_year + 1900);
  f[1] = (unsigned long)(tm.tm_mon + 1);
  f[2] = (unsigned long)tm.tm_mday;
  f[3] = (unsigned long)tm.tm_hour;
  f[4] = (unsigned long)tm.tm_min;
  f[5] = (unsigned long)tm.tm_sec;
  for (i = 0; i < 6; i++) {
    for (k = width[i]; k > 0; k--) {
      buf[n + k - 1] = (char)('0' + f[i] % 10);
      f[i] /= 10;
    }
    n += width[i];
    buf[n++] = sep[i];
  }
  buf[n] = '\0';
  return buf;
}

/* Logs a lockout that this failure started. */
static void log_lockout(const char *what, const char *key, unsigned long until,
                        unsigned long count)
{
  char tbuf[UTC_LEN];
  char nbuf[FMT_ULONG];

  qlog("locked out ", what, key, " until ", fmt_utc(tbuf, until), " after ",
       qlog_ulong(nbuf, count), " failures");
}

/* A failed login: counted for the address and the user name, logged,
 * and answered after the delay of the larger count. user is as shown. */
static void fail(const char *user, const char *ip, const char *why)
{
  struct qauth_fail_state st;
  unsigned long delay;
  char abuf[FMT_ULONG];
  char ubuf[FMT_ULONG];
  char dbuf[FMT_ULONG];
  char kbuf[ADDR_MAX + 1];
  const char *ukey = user_key[0] != '\0' ? user_key : NULL;

  if (qauth_fail_add(QAUTH_FAIL_FILE, ip_key, ukey, (unsigned long)time(NULL), &fail_conf, &st) ==
      -1)
    qwarn_sys("unable to update ", QAUTH_FAIL_FILE);
  delay = qauth_fail_delay(st.ip_count > st.user_count ? st.ip_count : st.user_count, delay_base,
                           delay_max);
  if (ukey != NULL) {
    qlog("login failed for ", user, " from ", ip, ": ", why, " (", qlog_ulong(abuf, st.ip_count),
         " failures from ", ip_key, ", ", qlog_ulong(ubuf, st.user_count), " for ",
         shown(kbuf, ukey, strlen(ukey)), ", delay ", qlog_ulong(dbuf, delay), " ms)");
  } else {
    qlog("login failed for ", user, " from ", ip, ": ", why, " (", qlog_ulong(abuf, st.ip_count),
         " failures from ", ip_key, ", delay ", qlog_ulong(dbuf, delay), " ms)");
  }
  if (st.ip_new_lock) log_lockout("", ip_key, st.ip_until, st.ip_count);
  if (st.user_new_lock)
    log_lockout("user ", shown(kbuf, ukey, strlen(ukey)), st.user_until, st.user_count);
  sleep_ms(delay);
  _exit(1);
}

/* Before the password is looked at: an address or user name locked out
 * is refused at once, a temporary failure (the client may come back
 * after the lockout), and the password is never checked, so that
 * guessing during a lockout learns nothing. user is as shown. */
static void refuse_if_locked(const char *user, const char *ip)
{
  struct qauth_fail_state st;
  char tbuf[UTC_LEN];
  int r;

  r = qauth_fail_locked(QAUTH_FAIL_FILE, ip_key, user_key[0] != '\0' ? user_key : NULL,
                        (unsigned long)time(NULL), &fail_conf, &st);
  if (r == -1 && errno != ENOENT && errno != EACCES)
    qwarn_sys("unable to read ", QAUTH_FAIL_FILE);
  if (r != 1) return;
  explicit_bzero(record, sizeof record);
  if (st.ip_until != 0)
    qlog("login refused for ", user, " from ", ip, ": ", ip_key, " locked out until ",
         fmt_utc(tbuf, st.ip_until));
  else
    qlog("login refused for ", user, " from ", ip, ": user locked out until ",
         fmt_utc(tbuf, st.user_until));
  sleep_ms(delay_base); /* a client that hammers on gets no faster answers */
  _exit(111);
}

static void cat_abs(stralloc *sa, const char *path, const char *cwd)
{
  if (path[0] != '/') {
    if (!stralloc_copys(sa, cwd) || !stralloc_append(sa, "/")) qdie_nomem();
  } else {
    if (!stralloc_copys(sa, "")) qdie_nomem();
  }
  if (!stralloc_cats(sa, path) || !stralloc_0(sa)) qdie_nomem();
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
  if (!stralloc_copyb(&l->home, l->mailbox.s, n) || !stralloc_0(&l->home)) qdie_nomem();
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

/* A system account of the "me" domain, with control/authsystem: 1 found,
 * 0 not. Its hash is read by qauth_check (as root) or by qauthd. */
static int system_user(struct login *l, const char *user, size_t len)
{
  stralloc me = {0};
  const char *dom;
  size_t dlen;
  size_t llen;
  struct passwd *pw;
  struct stat st;

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
  if (memchr(l->name, '/', llen) != NULL || memchr(l->name, '\0', llen) != NULL) return 0;

  pw = getpwnam(l->name);
  if (pw == NULL || pw->pw_uid == 0) return 0; /* root never logs in */
  l->uid = pw->pw_uid;
  l->gid = pw->pw_gid;
  l->have_owner = 1;
  l->system = 1;
  if (!stralloc_copys(&l->home, pw->pw_dir) || !stralloc_0(&l->home)) qdie_nomem();
  if (!stralloc_copys(&l->mailbox, pw->pw_dir) || !stralloc_cats(&l->mailbox, "/Maildir/") ||
      !stralloc_0(&l->mailbox))
    qdie_nomem();
  return 1;
}

/* Asks qauthd: an ANSWER (qauth.h). The service may be starting: a
 * missing or refusing socket is tried again for a few seconds. */
static int ask_qauthd(char kind, const char *name, const char *password)
{
  static char req[QAUTHD_REQUEST_MAX];
  struct sockaddr_un sun;
  size_t nlen = strlen(name);
  size_t plen = strlen(password);
  size_t len = 1 + nlen + 1 + plen + 1;
  char answer;
  ssize_t r;
  int tries;
  int fd;

  if (len > sizeof req) return QAUTH_NO;
  req[0] = kind;
  memcpy(req + 1, name, nlen + 1);
  memcpy(req + 2 + nlen, password, plen + 1);
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, QAUTHD_SOCKET, sizeof QAUTHD_SOCKET);
  for (tries = 0;; tries++) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) break;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) break;
    close(fd);
    fd = -1;
    if ((errno != ENOENT && errno != ECONNREFUSED) || tries >= 30) break;
    sleep_ms(100);
  }
  if (fd == -1) {
    explicit_bzero(req, sizeof req);
    qwarn_sys("unable to reach the password service " QAUTHD_SOCKET);
    return QAUTH_TEMP;
  }
  signal(SIGPIPE, SIG_IGN);
  r = write(fd, req, len);
  explicit_bzero(req, sizeof req);
  if (r == (ssize_t)len) {
    do r = read(fd, &answer, 1);
    while (r == -1 && errno == EINTR);
  } else {
    r = -1;
  }
  close(fd);
  if (r != 1) {
    qwarn("no answer from the password service " QAUTHD_SOCKET);
    return QAUTH_TEMP;
  }
  switch (answer) {
    case QAUTH_YES: case QAUTH_NO: case QAUTH_NOPASS: return answer;
    case QAUTH_TEMP: qwarn("the password service failed (see its log)"); return QAUTH_TEMP;
    default: qwarn("a bad answer from the password service"); return QAUTH_TEMP;
  }
}

/* The password check: here when this process can read the hash (root,
 * the instance's owner), else by qauthd. */
static int check(char kind, const char *name, const char *password)
{
  int r;

  if (kind == QAUTH_KIND_SYSTEM && geteuid() != 0) return ask_qauthd(kind, name, password);
  r = qauth_check(kind, name, password);
  if (r == QAUTH_TEMP && errno == EACCES) return ask_qauthd(kind, name, password);
  if (r == QAUTH_TEMP) qwarn_sys("unable to read the hash of ", name);
  return r;
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
  if (setenv(name, value, 1) == -1) qdie_nomem();
}

/* fd 3's record, "user\0password\0...": *len its bytes, *ulen the user's. */
static void record_take(size_t *len, size_t *ulen)
{
  size_t plen;

  read_record(len);
  record[*len] = '\0';
  *ulen = strnlen(record, *len);
  if (*ulen == *len) qdie(111, "unable to read fd 3: malformed record");
  plen = strnlen(record + *ulen + 1, *len - *ulen - 1);
  if (*ulen + 1 + plen == *len) qdie(111, "unable to read fd 3: malformed record");
}

/* After a good login: its owner (a virtual user's is the instance's mail
 * account, or this process's user), the environment of the program it
 * runs (USER, HOME, MAILBOX, MAILDIR; with -d Dovecot's userdb_ fields and
 * EXTRA), and, run as root without -d, the owner become. */
static void login_setup(struct login *l, int dovecot)
{
  char nbuf[FMT_ULONG];

  if (!l->have_owner) {
    if (geteuid() == 0) {
      vmail_owner(l);
    } else {
      l->uid = getuid();
      l->gid = getgid();
    }
  }

  env_set("USER", l->user);
  env_set("HOME", l->home.s);
  env_set("MAILBOX", l->mailbox.s);
  if (l->mailbox.len > 1 && l->mailbox.s[l->mailbox.len - 2] == '/') {
    l->mailbox.s[l->mailbox.len - 2] = '\0';
    env_set("MAILDIR", l->mailbox.s);
    if (dovecot) {
      stralloc mail = {0};
      if (!stralloc_copys(&mail, "maildir:") || !stralloc_cats(&mail, l->mailbox.s) ||
          !stralloc_0(&mail))
        qdie_nomem();
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
    if (geteuid() == 0 && l->uid == 0) qdie(111, "refusing root as owner of ", l->user);
    env_set("userdb_uid", qlog_ulong(nbuf, (unsigned long)l->uid));
    env_set("userdb_gid", qlog_ulong(nbuf, (unsigned long)l->gid));
    env_set("EXTRA", getenv("userdb_mail") != NULL ? "userdb_uid userdb_gid userdb_mail"
                                                   : "userdb_uid userdb_gid");
  } else if (geteuid() == 0) {
    become(l);
    /* a mailbox that has had no mail yet may not exist: stay in QHOME */
    if (chdir(l->home.s) == -1 && errno != ENOENT)
      qdie_sys(111, "unable to switch to ", l->home.s);
  }
}

/* With -d: may Dovecot's client log in with a password here? Dovecot
 * takes a client from its own address (loopback) as secure and asks us;
 * qsmtpd and qpop3d want TLS there too unless control/authplaintext says
 * otherwise, and so does this, for IMAP and POP3 logins (AUTH_SECURED is
 * "TLS" under TLS). Other services (doveadm auth test) are not judged. */
static int dovecot_secured(const char *ip)
{
  const char *svc = getenv("SERVICE");
  const char *sec = getenv("AUTH_SECURED");

  if (svc == NULL || (strcmp(svc, "imap") != 0 && strcmp(svc, "pop3") != 0)) return 1;
  if (sec != NULL && strcmp(sec, "TLS") == 0) return 1;
  return access("control/authplaintext", F_OK) == 0 && ipaddr_isloopback(ip);
}

int main(int argc, char **argv)
{
  int dovecot = 0;
  int argi = 1;
  size_t len;
  size_t ulen;
  const char *user;
  const char *password;
  const char *ip;
  const char *name;
  char name_buf[ADDR_MAX + 1];
  char cwd[4096];
  struct user u = {{0}, {0}, {0}};
  struct login l;
  int r;

  qlog_prog = "qauth";
  cdbmap_report = cdbmap_warn; /* a damaged users.cdb: a loud line, then 111 */
  if (argi < argc && strcmp(argv[argi], "-d") == 0) {
    dovecot = 1;
    qlog_tag = "\001\002"; /* Dovecot's log: logins are info, not errors (qauth.8) */
    argi++;
  }
  if (argi < argc && strcmp(argv[argi], "--") == 0) argi++;
  if (argi >= argc || argv[argi][0] == '-') qdie_usage(USAGE);

  record_take(&len, &ulen);
  user = record;
  password = record + ulen + 1;

  if (qhome_chdir() == -1) qdie_sys(111, "unable to switch to ", qhome());
  if (getcwd(cwd, sizeof cwd) == NULL) qdie_sys(111, "unable to get the QHOME path");
  ip = getenv("TCPREMOTEIP");
  if (ip == NULL || ip[0] == '\0') ip = "local";
  settings_read();
  qauth_fail_ipkey(ip_key, sizeof ip_key, ip);
  if (ulen == 0 || ulen > ADDR_MAX) {
    name = ulen == 0 ? "(empty)" : "(too long)";
  } else {
    qauth_fail_userkey(user_key, sizeof user_key, user, ulen);
    name = shown(name_buf, user, ulen);
  }
  refuse_if_locked(name, ip);
  if (dovecot && !dovecot_secured(ip)) {
    explicit_bzero(record + ulen + 1, len - ulen - 1);
    qlog("login refused for ", name, " from ", ip, ": a password without TLS");
    _exit(1);
  }

  memset(&l, 0, sizeof l);
  if (ulen == 0 || ulen > ADDR_MAX) {
    qauth_verify_dummy(password);
    fail(name, ip, "bad user name");
  }

  r = users_find(&u, user, ulen);
  if (r == -1) qdie_sys(111, "unable to read ", USERS_CDB);
  if (r == 1) {
    l.user = u.key.s;
    cat_abs(&l.mailbox, u.mailbox.s, cwd);
    home_from_mailbox(&l);
    r = check(QAUTH_KIND_VIRTUAL, u.key.s, password);
  } else if (system_user(&l, user, ulen) == 1) {
    l.user = user;
    r = check(QAUTH_KIND_SYSTEM, l.name, password);
  } else {
    qauth_verify_dummy(password);
    explicit_bzero(record + ulen + 1, len - ulen - 1);
    fail(name, ip, "unknown user");
  }
  explicit_bzero(record + ulen + 1, len - ulen - 1);
  if (r == QAUTH_TEMP) _exit(111);
  if (r != QAUTH_YES)
    fail(shown(name_buf, l.user, strlen(l.user)), ip,
         r == QAUTH_NOPASS ? "no password set" : "bad password");

  /* Only the user's own count goes: the one who knows the password is
   * back. The address keeps its count, or an attacker with one good
   * account could start afresh between his guesses at other users. */
  if (qauth_fail_forget(QAUTH_FAIL_FILE, user_key) == -1 && errno != ENOENT && errno != EACCES)
    qwarn_sys("unable to update ", QAUTH_FAIL_FILE);

  login_setup(&l, dovecot);

  qlog("login ", l.user, " from ", ip);
  execvp(argv[argi], argv + argi);
  qdie_sys(111, "unable to run ", argv[argi]);
}
