/*
 * qinject: put one message into the queue (lib/queue.h), durably.
 *
 * Two faces:
 *   qmail-queue protocol (no arguments): the message on fd 0, read to EOF,
 *     then the envelope on fd 1 (qinject_env.h). Run by qsmtpd, sendmail,
 *     and any qmail-queue filter.
 *   script face: qinject [-f sender] rcpt ... < message; without -f the
 *     sender is the invoking user at control/me; a recipient or sender
 *     without '@' gets "@me".
 * Runs as its caller, with the queue group (qsmtpd is a member; local users
 * run the setgid copy QHOME/bin/qinject). Run by root, it first becomes the
 * queue group and the owner of queue/ (nobody if that is root), so that
 * no queue file is ever root's. A writer may create in queue/tmp and
 * rename into queue/new, nothing more (queue.h, "Who may do what").
 *
 * Run setgid (or otherwise with more rights than its caller), it trusts
 * nothing of the caller's that chooses where it writes (enter_home): the
 * queue is the instance qsetup wrote into this copy (home_mark), or
 * QHOME_DEFAULT in an unmarked one. A QHOME naming another directory gets
 * a qinject without the privilege, as does a caller who could reach
 * queue/ by itself. So every file it writes with the privilege lies
 * under a queue/ the caller can neither enter nor replace: the caller
 * can open none of them by a path (and, the process being set-id, not
 * through /proc either); queue_open reuses no pooled file that someone
 * holds open for writing.
 * With QPARENT set to a queue id (qlocal does so when it forwards a
 * message), the new message records it as its parent (the P record) and
 * qinject logs "queued ID parent=PARENT" on fd 2, the instance's log there.
 * It prepends "Received: (qmta PID invoked by uid N id ID); DATE", stores the
 * message with LF line ends, writes the envelope after it, and exits 0 only
 * after queue_commit (file and queue/new fsynced). On any failure the temp
 * file is removed (queue_abort): nothing half-written stays behind.
 * Local mail (no TCPREMOTEIP in the environment: sendmail, scripts, cron,
 * forwards and reports) is DKIM-signed when control/dkim exists: qdkimd -s
 * at run/dkimsign (its socket is the queue group's) answers the
 * DKIM-Signature fields for the From domain's keys, put before the message
 * (queue_insert). A signer that cannot be reached or fails costs no mail:
 * the message is queued unsigned and a warning logged. Mail that a
 * session program hands over (TCPREMOTEIP set) is signed or verified
 * here only when QMTA_DKIM says so: qsmtpd sets it for the QINJECT
 * program it spawns, and the policy is qsmtpd's (qinject_dkim.h: a
 * signer that fails refuses the message for now, a DMARC reject refuses
 * it for good); without QMTA_DKIM, qsmtpd did it itself. Both words count
 * only from a caller in the queue group: from one that needs the setgid
 * privilege (a local user), the mail is local mail whatever it sets.
 * Exit codes: qmail-queue's (qinject_env.h, qinject.8); 100 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "accounts.h"
#include "addr.h"
#include "ctl.h"
#include "ctldef.h"
#include "dkimc.h"
#include "qlog.h"
#include "queue.h"
#include "qinject_dkim.h"
#include "qinject_msg.h"
#include "qinject_env.h"
#include "qinject_hdr.h"

#ifdef __SANITIZE_ADDRESS__
/* Sanitizer builds only: run setgid, qinject may not be traced, so
 * LeakSanitizer cannot stop it to look ("Unable to get registers"). */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "detect_leaks=0"; }
#endif

#define USAGE "qinject [-f sender] recipient ... < message"
/* The instance this copy serves: qsetup writes its path, NUL-terminated,
 * into the bytes after HOME_TAG in the copy it makes (QHOME/bin/qinject);
 * all NUL means none. The tag appears nowhere else in the program. */
#define HOME_TAG "qmta-qinject-home:"
#define HOME_MAX 1024 /* bytes for the path, its NUL included */
#define TIMEOUT_DEFAULT CTLDEF_TIMEOUTINJECT /* seconds without input before QQ_TIMEOUT */
#define READ_CHUNK 65536
#define NOBODY_UID 65534

static struct queue_writer qw;
static int qw_open;
static int timeout_ms;
/* volatile: read as it is in the file, never folded at compile time */
static volatile const char home_mark[sizeof HOME_TAG - 1 + HOME_MAX] = HOME_TAG;

/* Removes the temp file if there is one, then exits with code. */
static void __attribute__((noreturn)) fail(int code, const char *what)
{
  if (qw_open) queue_abort(&qw);
  qdie(code, what);
}

static void __attribute__((noreturn)) fail_sys(int code, const char *what)
{
  int e = errno;

  if (qw_open) queue_abort(&qw);
  errno = e;
  qdie_sys(code, "unable to ", what);
}

static int errno_is_space(int e)
{
  return e == ENOSPC || e == EDQUOT || e == EIO || e == EFBIG;
}

/* The read op for fd 0 and fd 1: waits at most timeout_ms for input. */
static ssize_t read_timeout(int fd, char *buf, size_t len, void *cookie)
{
  struct pollfd p;
  ssize_t r;

  (void)cookie;
  p.fd = fd;
  p.events = POLLIN;
  for (;;) {
    int n = poll(&p, 1, timeout_ms);
    if (n == -1 && errno == EINTR) continue;
    if (n == -1) return -1;
    if (n == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    break;
  }
  do r = read(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

/* Descriptors 0-2 that the caller left closed are opened on /dev/null:
 * else the first file opened here (the queue file) would take one of
 * them, and a diagnostic could be written into it. */
static void fds_open(void)
{
  int fd;

  for (fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (open("/dev/null", O_RDWR) != fd) _exit(QQ_BUG);
  }
}

/* 1 if this process has rights its caller lacks (setgid, setuid, file
 * capabilities) */
static int privileged(void)
{
  return getauxval(AT_SECURE) != 0 || getegid() != getgid() || geteuid() != getuid();
}

/* Gives every id back to the caller's: real, effective and saved. */
static void drop_privilege(void)
{
  gid_t rgid = getgid();
  uid_t ruid = getuid();
  gid_t g[3];
  uid_t u[3];

  if (setresgid(rgid, rgid, rgid) == -1 || setresuid(ruid, ruid, ruid) == -1)
    fail_sys(QQ_BUG, "drop the setgid privilege");
  if (getresgid(&g[0], &g[1], &g[2]) == -1 || getresuid(&u[0], &u[1], &u[2]) == -1 ||
      g[1] != rgid || g[2] != rgid || u[1] != ruid || u[2] != ruid)
    fail(QQ_BUG, "unable to drop the setgid privilege");
}

/* The instance qsetup wrote into this copy, or QHOME_DEFAULT. */
static const char *home_fixed(void)
{
  static char home[HOME_MAX];
  size_t i;

  for (i = 0; i < HOME_MAX; i++) {
    home[i] = home_mark[sizeof HOME_TAG - 1 + i];
    if (home[i] == '\0') break;
  }
  if (i == HOME_MAX) fail(QQ_BUG, "unable to read the instance path in qinject: no NUL");
  return i == 0 ? QHOME_DEFAULT : home;
}

/* 1 if a and b name the same directory */
static int same_dir(const char *a, const char *b)
{
  struct stat sa;
  struct stat sb;

  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISDIR(sa.st_mode) &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * In the instance directory: 1 if the caller (its real ids) can neither
 * write it (and so replace queue/) nor enter queue/, and owns neither
 * (an owner could chmod them). Then no path under queue/ leads the caller
 * to a file written here, and nothing the caller does changes where
 * queue/ leads us. access(2) checks with the real ids, as wanted here.
 */
static int caller_shut_out(void)
{
  struct stat st;
  uid_t uid = getuid();

  if (lstat(".", &st) == -1 || st.st_uid == uid || access(".", W_OK) == 0) return 0;
  if (lstat("queue", &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid == uid ||
      access("queue", X_OK) == 0)
    return 0;
  return 1;
}

/*
 * Enters the instance. Unprivileged: $QHOME, else the instance qsetup
 * wrote into this copy, else QHOME_DEFAULT. Privileged (the setgid copy):
 * the fixed instance; a QHOME naming another directory first drops the
 * privilege (the caller may then write where it can by itself), and so
 * does a caller who is not shut out of the fixed queue (a member of the
 * queue group needs no privilege, and a misconfigured queue gets none).
 */
static void enter_home(void)
{
  const char *asked = getenv("QHOME");
  const char *fixed = home_fixed();

  if (asked != NULL && *asked == '\0') asked = NULL;
  if (!privileged()) {
    if (chdir(asked != NULL ? asked : fixed) == -1) fail_sys(QQ_HOME, "enter QHOME");
    return;
  }
  if (asked != NULL && !same_dir(asked, fixed)) {
    drop_privilege();
    if (chdir(asked) == -1) fail_sys(QQ_HOME, "enter QHOME");
    return;
  }
  if (chdir(fixed) == -1) fail_sys(QQ_HOME, "enter the instance directory");
  if (getuid() != 0 && !caller_shut_out()) drop_privilege();
}

/* Root becomes a writer: the queue group, and the owner of queue/ (the
 * instance's user), or nobody where that is root. Never the owner of the
 * queue's directories (qmta-send on a root instance): a writer has the
 * writers' rights only (queue.h). */
static void drop_root(void)
{
  struct stat queue_st;
  uid_t uid;
  gid_t gid;

  if (getuid() != 0 && geteuid() != 0) return;
  if (stat("queue", &queue_st) == -1) fail_sys(QQ_QUEUEDIR, "stat queue");
  gid = queue_st.st_gid;
  uid = queue_st.st_uid;
  if (uid == 0) uid = NOBODY_UID;
  if (setgroups(0, NULL) == -1 || setgid(gid) == -1 || setuid(uid) == -1)
    fail_sys(QQ_BUG, "drop root privileges");
  if (setuid(0) != -1) fail(QQ_BUG, "unable to drop root privileges: still root");
}

/* control/me, or the host name if it is missing. */
static void read_me(stralloc *me)
{
  char host[256];

  switch (ctl_readline(me, "control/me", NULL)) {
    case -1: fail_sys(QQ_CONFIG, "read control/me");
    case 1: return;
  }
  if (gethostname(host, sizeof host - 1) == -1) fail_sys(QQ_CONFIG, "find the host name");
  host[sizeof host - 1] = 0;
  if (!stralloc_copys(me, host)) fail(QQ_NOMEM, "out of memory");
}

/* Script face: one address argument into internal form in out (not NUL-ended).
 * An address without '@' is a local part of ours: it gets "@me". */
static int script_addr(stralloc *out, const char *arg, int is_sender, const stralloc *me)
{
  struct addr a;
  struct addr checked;
  stralloc full = {0};
  size_t len = strlen(arg);
  int flags = ADDR_ALLOW_NOBRACKET | ADDR_ALLOW_BARE | ADDR_ALLOW_UTF8;
  int code;

  if (is_sender && (len == 0 || (len == 2 && arg[0] == '<' && arg[1] == '>'))) {
    out->len = 0;
    return QQ_OK;
  }
  if (len > ADDR_QUOTED_MAX) return QQ_ADDR_TOO_LONG;
  if (strchr(arg, '@') == NULL) {
    if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
      arg++;
      len -= 2;
    }
    if (!stralloc_copyb(&full, arg, len) || !stralloc_append(&full, "@") ||
        !stralloc_cat(&full, me)) return QQ_NOMEM;
    arg = full.s;
    len = full.len;
  }
  code = addr_parse(&a, arg, len, flags) == len ? QQ_OK : QQ_ENVELOPE;
  stralloc_free(&full);
  if (code != QQ_OK) return code;
  if (a.null) return is_sender ? QQ_OK : QQ_ENVELOPE;
  code = env_addr_check(&checked, a.s, a.len, is_sender);
  if (code == QQ_OK && !stralloc_copyb(out, checked.s, checked.len)) return QQ_NOMEM;
  return code;
}

static void env_add(stralloc *env, char tag, const char *s, size_t len)
{
  if (!stralloc_append(env, &tag) || !stralloc_catb(env, s, len) || !stralloc_0(env))
    fail(QQ_NOMEM, "out of memory");
}

/* The login name of uid from /etc/passwd, else $LOGNAME, else $USER.
 * qinject is linked statically (it starts for every message, and dynamic
 * loading is a good part of that cost), so it reads the file itself
 * instead of going through NSS: accounts known only to NSS (LDAP) must
 * have LOGNAME set or use -f. */
static void user_name(stralloc *name, uid_t uid)
{
  stralloc pw = {0};
  const char *env;
  size_t pos = 0;

  if (ctl_readfile(&pw, "/etc/passwd") == 1) {
    while (pos < pw.len) {
      char *line = pw.s + pos;
      char *nl = memchr(line, '\n', pw.len - pos);
      size_t len = nl != NULL ? (size_t)(nl - line) : pw.len - pos;
      char *c1 = memchr(line, ':', len);
      char *c2 = c1 != NULL ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
      unsigned long u;
      size_t n;

      pos += len + 1;
      if (c2 == NULL || c1 == line) continue;
      n = scan_ulong(c2 + 1, &u);
      if (n == 0 || c2[1 + n] != ':' || u != (unsigned long)uid) continue;
      if (!stralloc_copyb(name, line, (size_t)(c1 - line)) || !stralloc_0(name))
        fail(QQ_NOMEM, "out of memory");
      stralloc_free(&pw);
      return;
    }
  }
  stralloc_free(&pw);
  env = getenv("LOGNAME");
  if (env == NULL || *env == '\0') env = getenv("USER");
  if (env == NULL || *env == '\0') fail(QQ_CONFIG, "unable to find the invoking user's name");
  if (!stralloc_copys(name, env) || !stralloc_0(name)) fail(QQ_NOMEM, "out of memory");
}

/* Builds the queue envelope of the script face from argv. */
static void script_envelope(stralloc *env, const char *sender, char **rcpts,
                            unsigned long long now, uid_t uid)
{
  stralloc me = {0};
  stralloc one = {0};
  stralloc user = {0};
  char num[FMT_ULONG];
  int code;

  read_me(&me);
  {
    size_t n = fmt_ulonglong(num, now);
    env_add(env, 'T', num, n);
  }

  if (sender == NULL) {
    user_name(&user, uid);
    sender = user.s;
  }
  code = script_addr(&one, sender, 1, &me);
  if (code != QQ_OK) fail(code, code == QQ_NOMEM ? "out of memory" : "bad sender address");
  env_add(env, 'F', one.s, one.len);

  for (; *rcpts != NULL; rcpts++) {
    code = script_addr(&one, *rcpts, 0, &me);
    if (code == QQ_NOMEM) fail(code, "out of memory");
    if (code != QQ_OK) qdie(code, "bad recipient address: ", *rcpts);
    if (env_rcpt_seen(env, one.s, one.len)) continue; /* one copy a mailbox */
    env_add(env, 'R', one.s, one.len);
  }
  stralloc_free(&me);
  stralloc_free(&one);
  stralloc_free(&user);
}

static void put(const char *s, size_t len)
{
  if (queue_put(&qw, s, len) == -1)
    fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_TMP, "write to queue/tmp");
}

/* Reads fd 1 to EOF, thrown away (a refused message's envelope). */
static void drain(int fd)
{
  char buf[4096];

  while (read_timeout(fd, buf, sizeof buf, NULL) > 0) {}
}

/* Local mail (not a session program's): our authserv-id (control/authservid,
 * else control/me) for the header filter that drops forged
 * Authentication-Results fields (qinject_hdr.h). */
static struct hdrfilter hdr;
static int hdr_on;

static void hdr_start(void)
{
  static stralloc id;

  switch (ctl_readline(&id, "control/authservid", NULL)) {
    case -1: fail_sys(QQ_CONFIG, "read control/authservid");
    case 1:
      if (id.len > 0) break;
      /* fall through */
    default: read_me(&id);
  }
  if (!stralloc_0(&id)) fail(QQ_NOMEM, "out of memory");
  hdr_init(&hdr, id.s, put);
  hdr_on = 1;
}

/* A copy that an alias made (QPARENT set, and the caller is qlocal as the
 * alias account, or has the queue's group itself): its
 * Authentication-Results field is the one qsmtpd wrote when the message
 * arrived, and stays. A ~/.forward runs as its owner, whom nothing tells
 * apart from a user forging the field: its copy is filtered. */
static int forward_trusted(uid_t uid)
{
  struct passwd_entry pe;

  if (getenv("QPARENT") == NULL) return 0;
  if (getegid() == getgid() && geteuid() == getuid()) return 1;
  return uid != 0 && passwd_file(ACCT_ALIAS, strlen(ACCT_ALIAS), &pe) == 1 && pe.uid == uid;
}

static void put_message(const char *s, size_t len)
{
  if (hdr_on) hdr_feed(&hdr, s, len);
  else put(s, len);
}

/*
 * Copies fd 0 into the queue file with CRLF turned into LF (the queue
 * holds LF line ends; a lone CR stays). Refuses more than databytes
 * (0: no limit) with QQ_REFUSED, after reading the rest when a peer
 * program is feeding us (protocol), so that it never meets EPIPE.
 * Local mail goes through the header filter (hdr_start).
 */
static void copy_message(unsigned long databytes, int protocol)
{
  static char buf[READ_CHUNK];
  unsigned long long msglen = 0;
  int cr = 0;

  for (;;) {
    ssize_t r = read_timeout(0, buf, sizeof buf, NULL);
    size_t w;
    int lead;

    if (r == -1) fail_sys(errno == ETIMEDOUT ? QQ_TIMEOUT : QQ_READ, "read the message");
    if (r == 0) break;
    w = crlf_strip(buf, (size_t)r, &cr, &lead);
    msglen += (unsigned long long)w + (unsigned long long)lead;
    if (databytes != 0 && msglen > databytes) {
      queue_abort(&qw);
      qw_open = 0;
      if (protocol) {
        drain(0);
        drain(1);
      }
      fail(QQ_REFUSED, "message too large: more than control/databytes (#5.3.4)");
    }
    if (lead) put_message("\r", 1);
    put_message(buf, w);
  }
  if (cr) {
    msglen++;
    if (databytes != 0 && msglen > databytes)
      fail(QQ_REFUSED, "message too large: more than control/databytes (#5.3.4)");
    put_message("\r", 1);
  }
  if (hdr_on) hdr_end(&hdr);
}

static void put_received(uid_t uid, time_t now)
{
  char line[RECEIVED_LINE_MAX];
  size_t n = received_line(line, (unsigned long)getpid(), (unsigned long)uid, now, qw.id);

  if (n == 0) fail(QQ_BUG, "unable to format the date");
  put(line, n);
}

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
/* Sanitizer builds only: LeakSanitizer cannot run in a setgid process (the
 * copy in QHOME/bin), and would turn a committed message into a failure. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
  return getauxval(AT_SECURE) ? "detect_leaks=0" : "";
}
#endif

/* DKIM for local mail (see the top): never fails the message */
static void sign_local(void)
{
  const char *why;
  const char *note;

  switch (queue_sign(&qw, 0, &why, &note)) {
  case -1:
    fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_TMP, "write to queue/tmp");
    break;
  case 1:
    if (note != NULL)
      qwarn("message ", qw.id, " queued unsigned: ", why, ": ", note);
    else
      qwarn_sys("message ", qw.id, " queued unsigned: ", why);
    break;
  }
}

/* TCPREMOTEIP and QMTA_DKIM are a session program's words (qsmtpd and
 * its QINJECT chain, in the queue group): from a caller that needs the
 * setgid privilege (a local user: it still holds it here, enter_home gave
 * it back to everyone else), its mail is local mail, whatever its
 * environment says (no auth=pass field for it, a Received: line of ours) */
static int session_caller(void)
{
  return getenv("TCPREMOTEIP") != NULL && getegid() == getgid() && geteuid() == getuid();
}

/* DKIM for a session's mail (TCPREMOTEIP set), as QMTA_DKIM asks
 * (qinject_dkim.h); without QMTA_DKIM, nothing: the session program did
 * it before (qsmtpd writing the queue itself) */
static void dkim(void)
{
  static char err[QINJECT_DKIM_ERR_MAX];
  const char *mode;
  int code;

  if (!session_caller()) {
    sign_local();
    return;
  }
  mode = getenv("QMTA_DKIM");
  if (mode == NULL || mode[0] == '\0') return;
  code = qinject_dkim(&qw, mode, getenv("QMTA_DKIMREQ"), err);
  if (code == -1) fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_TMP, "write to queue/tmp");
  if (code != QQ_OK) fail(code, err);
}

int main(int argc, char **argv)
{
  stralloc env = {0};
  const char *sender = NULL;
  char **rcpts = NULL;
  int protocol = argc <= 1;
  unsigned long databytes;
  unsigned long timeout;
  unsigned long id;
  uid_t uid = getuid();
  time_t now = time(NULL);
  const char *parent = getenv("QPARENT");
  unsigned long long parent_inode;

  fds_open();
  qlog_prog = "qinject";
  umask(027); /* queue_open sets the mode anyway (0640: qsend's group reads) */
  signal(SIGPIPE, SIG_IGN);

  if (!protocol) {
    int i = 1;

    while (i < argc && argv[i][0] == '-') {
      if (!strcmp(argv[i], "--")) {
        i++;
        break;
      }
      if (argv[i][1] != 'f') qdie_usage(USAGE);
      if (argv[i][2] != 0) {
        sender = argv[i] + 2;
        i++;
      } else {
        if (i + 1 >= argc) qdie_usage(USAGE);
        sender = argv[i + 1];
        i += 2;
      }
    }
    if (i >= argc) qdie_usage(USAGE);
    rcpts = argv + i;
  }

  enter_home();
  if (ctl_readint(&databytes, "control/databytes", CTLDEF_DATABYTES) == -1)
    fail_sys(QQ_CONFIG, "read control/databytes");
  if (ctl_readint(&timeout, "control/timeoutinject", TIMEOUT_DEFAULT) == -1)
    fail_sys(QQ_CONFIG, "read control/timeoutinject");
  if (timeout == 0 || timeout > INT_MAX / 1000) timeout = INT_MAX / 1000;
  timeout_ms = (int)(timeout * 1000);

  if (!protocol) script_envelope(&env, sender, rcpts, (unsigned long long)now, uid);
  drop_root();

  if (queue_open(&qw) == -1)
    fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_TMP, "create a file in queue/tmp");
  qw_open = 1;
  /* only a well-formed id: it goes into the envelope and the log */
  if (parent != NULL && queue_id_scan(parent, &parent_inode) == 0) qw.parent = parent;
  /* a session program's message has its Received: line already (RFC
   * 5321 4.4: one a hop, with from, by and the queue id) */
  if (!session_caller()) {
    put_received(uid, now);
    if (!forward_trusted(uid)) hdr_start();
  }
  copy_message(databytes, protocol);

  if (protocol) {
    static char space[4096];
    buffer in;
    size_t rcpt_count;
    int code;

    buffer_init(&in, read_timeout, 1, space, sizeof space);
    errno = 0;
    code = env_read(&in, &env, (unsigned long long)now, &rcpt_count);
    switch (code) {
      case QQ_OK: break;
      case QQ_TIMEOUT: fail(code, "unable to read the envelope: timed out");
      case QQ_READ:
        if (errno == 0) fail(code, "unable to read the envelope: it ends too early");
        fail_sys(code, "read the envelope");
      case QQ_NOMEM: fail(code, "out of memory");
      case QQ_ADDR_TOO_LONG: fail(code, "envelope address too long (#5.1.3)");
      default: fail(code, "envelope format error (#5.5.4)");
    }
  }

  dkim();
  if (queue_envelope(&qw, env.s, env.len) == -1)
    fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_TMP, "write to queue/tmp");
  if (queue_commit(&qw, &id) == -1)
    fail_sys(errno_is_space(errno) ? QQ_WRITE : QQ_COMMIT, "commit the message into queue/new");
  qw_open = 0;
  if (qw.parent != NULL) qlog("queued ", qw.id, " parent=", qw.parent);
  stralloc_free(&env);
  return 0;
}
