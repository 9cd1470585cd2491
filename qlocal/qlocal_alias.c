/*
 * qlocal_alias: the targets of one alias (control/aliases, see aliases.h),
 * delivered as the alias account. Addresses are forwarded through qinject
 * in one new message (the sender kept, our Delivered-To line added so that
 * a loop is seen when it comes back; QPARENT set to the queue id of the
 * message on fd 0, when that is a queue file, so that the new message is
 * logged with parent=ID); files, Maildirs and commands are
 * written here; ":include:" files are read now, at delivery.
 *
 * The same code delivers a login account's ~/.forward (qlocal_forward.c),
 * as the account: there the account's own name ("\user", "user") means
 * its mailbox, "./path" and "~/path" are under its home, and a command
 * gets a clean environment and no shell unless it uses shell syntax.
 *
 * Any temporary failure makes the whole delivery temporary (done targets
 * may then see the message twice); otherwise a permanent failure of one
 * target makes it permanent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stralloc.h>

#include "addr.h"
#include "aliases.h"
#include "ctl.h"
#include "durable.h"
#include "qlocal.h"
#include "queue.h"

#define INCLUDE_DEPTH 5       /* nested :include: files */
#define INCLUDE_MAX 65536     /* bytes read of one :include: file */
#define FORWARD_MAX 1000      /* addresses forwarded from one alias */
#define ARGV_MAX 64           /* words of a command run without a shell */
/* a command with any of these runs through /bin/sh (in ~/.forward) */
#define SHELL_CHARS "\"'`$&|;<>(){}[]*?~\\!#=%\n"
#define FORWARD_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

struct state {
  const struct delivery *d;
  const struct forward_owner *owner; /* ~/.forward: the account; NULL: an alias */
  stralloc forward;      /* addresses, each NUL-terminated */
  size_t forward_count;
  int temp;              /* a temporary failure happened */
  int perm;              /* a permanent failure happened */
  int listonly;          /* in an alias's :include: file that another account owns or
                          * may write: addresses and error: only (target_include) */
  stralloc why;          /* the first failure's text */
};

static void failed(struct state *st, int code, const char *s1, const char *s2)
{
  if (code == 111) st->temp = 1;
  else st->perm = 1;
  if (st->why.len == 0) {
    if (!stralloc_copys(&st->why, s1) || (s2 != NULL && !stralloc_cats(&st->why, s2)))
      st->why.len = 0;
  }
}

static void failed_sys(struct state *st, int code, const char *s1, const char *s2)
{
  stralloc t = {0};

  if (stralloc_copys(&t, s1) && stralloc_cats(&t, s2) && stralloc_cats(&t, ": ") &&
      stralloc_cats(&t, strerror(errno)) && stralloc_0(&t))
    failed(st, code, t.s, NULL);
  else
    failed(st, 111, "out of memory", NULL);
  stralloc_free(&t);
}

#define RELAY_LINE_MAX 1000   /* bytes of one line of a command's output in the log */
#define RELAY_WAIT_MS 2000    /* the relay's time to finish after the command */

/* A process that copies what a command writes (its stdout and stderr)
 * to our fd 2, the log, a line at a time with the queue id and the
 * recipient in front, so that the line says which delivery it belongs
 * to: "qlocal: ID <rcpt> pipe: text". Control bytes become '?', a
 * longer line is cut into pieces. *wfd gets the end the command writes
 * to. The pid, or -1 (then the command writes to fd 2 as it is). */
static pid_t output_relay(const struct delivery *d, int *wfd)
{
  int po[2];
  pid_t pid;

  if (pipe(po) == -1) return -1;
  pid = fork();
  if (pid == -1) {
    close(po[0]);
    close(po[1]);
    return -1;
  }
  if (pid == 0) {
    stralloc head = {0};
    char line[RELAY_LINE_MAX + 1];
    size_t len = 0;
    char buf[4096];
    ssize_t r;

    close(po[1]);
    close(0); /* the message and the report pipe are not the relay's */
    close(1);
    if (!stralloc_copys(&head, "qlocal: ") || !stralloc_cats(&head, d->id[0] ? d->id : "-") ||
        !stralloc_cats(&head, " <") || !stralloc_cats(&head, d->recipient) ||
        !stralloc_cats(&head, "> pipe: "))
      _exit(111);
    for (;;) {
      ssize_t i;
      r = read(po[0], buf, sizeof buf);
      if (r == -1 && errno == EINTR) continue;
      if (r <= 0) break;
      for (i = 0; i < r; i++) {
        char c = buf[i];
        if (c != '\n') line[len++] = (unsigned char)c < 32 ? '?' : c;
        if (c == '\n' || len == RELAY_LINE_MAX) {
          line[len++] = '\n';
          if (stralloc_catb(&head, line, len)) durable_writeall(2, head.s, head.len);
          head.len -= len;
          len = 0;
        }
      }
    }
    if (len > 0) {
      line[len++] = '\n';
      if (stralloc_catb(&head, line, len)) durable_writeall(2, head.s, head.len);
    }
    _exit(0);
  }
  close(po[0]);
  *wfd = po[1];
  return pid;
}

/* After the command: our end closed, so the relay sees end of file when
 * the command's copies are gone; it gets RELAY_WAIT_MS to log the rest
 * (a daemon the command left behind may hold the pipe: not waited for). */
static void relay_end(pid_t relay, int out_fd)
{
  int status;
  int waited;

  if (relay == -1) return;
  close(out_fd);
  for (waited = 0; waited < RELAY_WAIT_MS; waited += 10) {
    struct timespec ts = {0, 10 * 1000000L};
    pid_t r = waitpid(relay, &status, WNOHANG);
    if (r == relay || (r == -1 && errno != EINTR)) return;
    nanosleep(&ts, NULL);
  }
}

/* In the child: sets the environment and runs cmd. An alias's command
 * runs through /bin/sh (the admin asked for a shell) with SENDER,
 * RECIPIENT, LOCAL and HOST added; a ~/.forward command gets only those,
 * HOME, USER, LOGNAME, SHELL and PATH, and a shell only when it uses
 * shell syntax: else its words are run directly. Returns on failure. */
static void pipe_exec(const struct delivery *d, const struct forward_owner *owner, const char *cmd)
{
  static char *clean[] = {NULL};
  stralloc local = {0};
  stralloc words = {0};
  char *args[ARGV_MAX + 1];
  const char *at = strrchr(d->recipient, '@');
  size_t n = 0;
  size_t i;

  if (!stralloc_copyb(&local, d->recipient,
                      at != NULL ? (size_t)(at - d->recipient) : strlen(d->recipient)) ||
      !stralloc_0(&local))
    return;
  if (owner != NULL) {
    environ = clean;
    if (setenv("HOME", owner->home, 1) == -1 || setenv("USER", local.s, 1) == -1 ||
        setenv("LOGNAME", local.s, 1) == -1 || setenv("SHELL", "/bin/sh", 1) == -1 ||
        putenv((char *)FORWARD_PATH) != 0 || chdir(owner->home) == -1)
      return;
  }
  if (setenv("SENDER", d->sender, 1) == -1 || setenv("RECIPIENT", d->recipient, 1) == -1 ||
      setenv("LOCAL", local.s, 1) == -1 || setenv("HOST", at != NULL ? at + 1 : "", 1) == -1)
    return;
  if (owner == NULL || strpbrk(cmd, SHELL_CHARS) != NULL) {
    args[0] = (char *)"sh";
    args[1] = (char *)"-c";
    args[2] = (char *)cmd;
    args[3] = NULL;
    execv("/bin/sh", args);
    return;
  }
  /* words separated by blanks, run directly (PATH searched) */
  if (!stralloc_copys(&words, cmd) || !stralloc_0(&words)) return;
  for (i = 0; i < words.len - 1 && n < ARGV_MAX; i++) {
    if (words.s[i] == ' ' || words.s[i] == '\t') {
      words.s[i] = '\0';
      continue;
    }
    if (i == 0 || words.s[i - 1] == '\0') args[n++] = words.s + i;
  }
  if (n == 0 || n == ARGV_MAX) return;
  args[n] = NULL;
  execvp(args[0], args);
}

/* The command's time limit: SIGALRM kills its process group, so that
 * a write to a command that reads nothing ends too (durable_writeall
 * retries EINTR). */
static volatile sig_atomic_t cmd_pid;
static volatile sig_atomic_t cmd_expired;

static void cmd_alarm(int sig)
{
  (void)sig;
  cmd_expired = 1;
  if (cmd_pid > 0) {
    kill(-(pid_t)cmd_pid, SIGKILL);
    kill((pid_t)cmd_pid, SIGKILL);
  }
}

static void cmd_limit(pid_t pid, unsigned long seconds)
{
  struct sigaction sa;

  cmd_pid = (sig_atomic_t)pid;
  cmd_expired = 0;
  if (seconds == 0) return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cmd_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds > 86400 ? 86400 : (unsigned int)seconds);
}

static void cmd_unlimit(void)
{
  alarm(0);
  signal(SIGALRM, SIG_DFL);
  cmd_pid = 0;
}

/* Runs "|command" as this account (pipe_exec) with the message on its
 * input, for at most control/timeoutcommand seconds: a command that
 * hangs would hold a local delivery slot for good. */
static void target_pipe(struct state *st, const char *cmd)
{
  const struct delivery *d = st->d;
  int pi[2];
  pid_t pid;
  int status;
  int werr = 0;
  int out_fd = 2;
  pid_t relay;

  relay = output_relay(d, &out_fd); /* first: it must not hold the command's input */
  if (pipe(pi) == -1) {
    failed_sys(st, 111, "unable to run ", cmd);
    relay_end(relay, out_fd);
    return;
  }
  pid = fork();
  if (pid == -1) {
    close(pi[0]);
    close(pi[1]);
    failed_sys(st, 111, "unable to run ", cmd);
    relay_end(relay, out_fd);
    return;
  }
  if (pid == 0) {
    setpgid(0, 0); /* its own group: the time limit kills what it starts too */
    close(pi[1]);
    if (dup2(pi[0], 0) == -1) _exit(111);
    if (pi[0] != 0) close(pi[0]);
    if (out_fd != 2) {
      if (dup2(out_fd, 2) == -1) _exit(111);
      close(out_fd);
    }
    if (st->owner == NULL) {
      dup2(2, 1);
    } else {
      /* a user's command: its output is not for the mail log, its errors are */
      int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null == -1 || dup2(null, 1) == -1) _exit(111);
    }
    signal(SIGPIPE, SIG_DFL);
    pipe_exec(d, st->owner, cmd);
    _exit(111);
  }
  setpgid(pid, pid);
  close(pi[0]);
  signal(SIGPIPE, SIG_IGN);
  cmd_limit(pid, d->timeoutcommand);
  if (msg_write(d, pi[1], MSG_RETURNPATH | MSG_DTLINE) == -1 && errno != EPIPE) werr = errno;
  close(pi[1]);
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) {
      cmd_unlimit();
      failed_sys(st, 111, "unable to wait for ", cmd);
      relay_end(relay, out_fd);
      return;
    }
  cmd_unlimit();
  relay_end(relay, out_fd);
  if (cmd_expired) {
    failed(st, 111, "command ran longer than control/timeoutcommand: ", cmd);
    return;
  }
  if (!WIFEXITED(status)) {
    failed(st, 111, "command crashed: ", cmd);
    return;
  }
  switch (WEXITSTATUS(status)) {
    case 0:
      if (werr != 0) {
        errno = werr;
        failed_sys(st, 111, "unable to write to ", cmd);
      }
      return;
    case 64: case 65: case 70: case 76: case 77: case 78: case 99: case 100:
      failed(st, 100, "command failed permanently: ", cmd);
      return;
    default:
      failed(st, 111, "command failed temporarily: ", cmd);
      return;
  }
}

/* A Maildir or mbox target. A permission error (the alias account may not
 * write there) defers, as any temporary failure does: the admin fixes the
 * modes and the message goes out at the next try, instead of bouncing.
 * The reason names the target: "unable to write the Maildir /x/: ...". */
static void target_file(struct state *st, const char *path)
{
  const char *why;
  int r;
  int e;
  stralloc what = {0};

  if (path[strlen(path) - 1] == '/') r = maildir_put(st->d, path, &why);
  else r = mbox_put(st->d, path, &why);
  if (r == 0) return;
  e = errno;
  if (e == EACCES || e == EPERM || e == EROFS) r = 111;
  if (!stralloc_copys(&what, why) || !stralloc_cats(&what, " ") || !stralloc_0(&what)) {
    failed(st, 111, "out of memory", NULL);
    return;
  }
  errno = e;
  failed_sys(st, r == 100 ? 100 : 111, what.s, path);
  stralloc_free(&what);
}

static void target_address(struct state *st, const char *t)
{
  struct addr a;
  stralloc full = {0};
  const char *at;

  if (!stralloc_copys(&full, t)) goto nomem;
  if (strchr(t, '@') == NULL) {
    at = strrchr(st->d->recipient, '@');
    if (at != NULL && !stralloc_cats(&full, at)) goto nomem;
  }
  if (!addr_set(&a, full.s, full.len)) {
    failed(st, 100, "bad address in alias: ", t);
    stralloc_free(&full);
    return;
  }
  if (st->forward_count >= FORWARD_MAX) {
    failed(st, 100, "too many addresses in alias", NULL);
    stralloc_free(&full);
    return;
  }
  if (!stralloc_catb(&st->forward, a.s, a.len) || !stralloc_0(&st->forward)) goto nomem;
  st->forward_count++;
  stralloc_free(&full);
  return;
nomem:
  stralloc_free(&full);
  failed(st, 111, "out of memory", NULL);
}

static void target(struct state *st, const char *t, int depth);

/* A list of targets (an :include: file, a ~/.forward): entries separated
 * by commas or line ends; '#' at the start of an entry comments out the
 * rest of the line; double quotes (removed) keep commas and '#' in. */
static void targets_parse(struct state *st, const char *buf, size_t len, int depth)
{
  stralloc entry = {0};
  size_t i;
  int comment = 0;
  int quoted = 0;

  for (i = 0; i <= len; i++) {
    char c = i < len ? buf[i] : '\n';
    if (c == '\n') quoted = 0;
    if (c == '#' && entry.len == 0 && !quoted) comment = 1;
    if (c == '"' && !comment) {
      quoted = !quoted;
      continue;
    }
    if (c == '\n' || (c == ',' && !comment && !quoted)) {
      while (entry.len > 0 && (entry.s[entry.len - 1] == ' ' || entry.s[entry.len - 1] == '\t' ||
                               entry.s[entry.len - 1] == '\r'))
        entry.len--;
      if (entry.len > 0 && !comment) {
        if (!stralloc_0(&entry)) break;
        target(st, entry.s, depth + 1);
      }
      entry.len = 0;
      if (c == '\n') comment = 0;
      continue;
    }
    if (comment) continue;
    if ((c == ' ' || c == '\t') && entry.len == 0 && !quoted) continue;
    if (!stralloc_append(&entry, &c)) {
      failed(st, 111, "out of memory", NULL);
      break;
    }
  }
  stralloc_free(&entry);
}

/* ":include:/path": a list of targets read now. */
static void target_include(struct state *st, const char *path, int depth)
{
  char buf[INCLUDE_MAX];
  ssize_t len = 0;
  ssize_t r;
  int fd;
  struct stat sb;
  int outer = st->listonly;

  if (depth >= INCLUDE_DEPTH) {
    failed(st, 100, ":include: nested too deeply: ", path);
    return;
  }
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); /* a FIFO blocks nothing */
  if (fd == -1) {
    failed_sys(st, errno == ENOENT ? 100 : 111, "unable to read ", path);
    return;
  }
  if (fstat(fd, &sb) == -1) {
    failed_sys(st, 111, "unable to stat ", path);
    close(fd);
    return;
  }
  if (!S_ISREG(sb.st_mode)) {
    failed(st, 111, ":include: not a regular file: ", path);
    close(fd);
    return;
  }
  while (len < (ssize_t)sizeof buf && (r = read(fd, buf + len, sizeof buf - (size_t)len)) != 0) {
    if (r == -1) {
      if (errno == EINTR) continue;
      failed_sys(st, 111, "unable to read ", path);
      close(fd);
      return;
    }
    len += r;
  }
  close(fd);
  /* an alias's list that another account keeps (owns it, or may write
   * it) names addresses only: its commands and files would run as the
   * alias account (as Postfix's allow_mail_to_commands leaves include out) */
  if (st->owner == NULL && ((sb.st_mode & 022) != 0 || (sb.st_uid != 0 && sb.st_uid != geteuid())))
    st->listonly = 1;
  targets_parse(st, buf, (size_t)len, depth);
  st->listonly = outer;
}

/* In a ~/.forward: is t the account itself ("\user", "user",
 * "user@its-domain")? */
static int is_owner(const struct state *st, const char *t)
{
  const char *rcpt = st->d->recipient;
  const char *at = strrchr(rcpt, '@');
  size_t local_len = at != NULL ? (size_t)(at - rcpt) : strlen(rcpt);

  if (t[0] == '\\') t++;
  if (strncasecmp(t, rcpt, local_len) != 0) return 0;
  return t[local_len] == '\0' || strcasecmp(t + local_len, at != NULL ? at : "") == 0;
}

/* In a ~/.forward: the account's own mailbox, or "./path", "~/path". */
static void target_owned(struct state *st, const char *t)
{
  stralloc path = {0};

  if (is_owner(st, t)) {
    if (!stralloc_copys(&path, st->owner->mailbox)) goto nomem;
  } else if (!stralloc_copys(&path, st->owner->home) || !stralloc_cats(&path, t + 1)) {
    goto nomem;
  }
  if (!stralloc_0(&path)) goto nomem;
  target_file(st, path.s);
  stralloc_free(&path);
  return;
nomem:
  stralloc_free(&path);
  failed(st, 111, "out of memory", NULL);
}

static int digits3(const char *s)
{
  return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

/* "error:" followed by sendmail's forms, "5.1.1 text", "5.7.0:550 text",
 * "550 text", "nouser 550 text" (aliases_exitname) or a text alone: fails the delivery with "x.y.z text" (the
 * reply code dropped; the bounce reads its status there) or the text.
 * 4xx is temporary, anything else permanent. */
static void target_error(struct state *st, const char *s)
{
  const char *p;
  const char *status;
  size_t n;

  while (*s == ' ' || *s == '\t') s++;
  status = aliases_exitname(s, strlen(s), &n);
  if (status != NULL) {
    /* sendmail's "nouser [nnn] text": the name's status code and the text */
    stralloc t = {0};
    p = s + n;
    while (*p == ' ' || *p == '\t') p++;
    if (digits3(p) && (p[3] == ' ' || p[3] == '\t' || p[3] == '\0')) p += 3;
    while (*p == ' ' || *p == '\t') p++;
    if (stralloc_copys(&t, status) && stralloc_cats(&t, " ") &&
        stralloc_cats(&t, *p != '\0' ? p : "address rejected") && stralloc_0(&t))
      failed(st, status[0] == '4' ? 111 : 100, t.s, NULL);
    else
      failed(st, 111, "out of memory", NULL);
    stralloc_free(&t);
    return;
  }
  n = strcspn(s, " \t:");
  if (n >= 5 && s[1] == '.' && s[n] == ':' && digits3(s + n + 1)) {
    /* x.y.z:nnn text */
    stralloc t = {0};
    p = s + n + 4;
    while (*p == ' ' || *p == '\t') p++;
    if (stralloc_catb(&t, s, n) && stralloc_cats(&t, " ") && stralloc_cats(&t, p) &&
        stralloc_0(&t))
      failed(st, s[0] == '4' ? 111 : 100, t.s, NULL);
    else
      failed(st, 111, "out of memory", NULL);
    stralloc_free(&t);
    return;
  }
  if (n == 3 && digits3(s)) {
    /* nnn text */
    p = s + 3;
    while (*p == ' ' || *p == '\t') p++;
    failed(st, s[0] == '4' ? 111 : 100, *p != '\0' ? p : s, NULL);
    return;
  }
  failed(st, s[0] == '4' ? 111 : 100, s, NULL);
}

static void target(struct state *st, const char *t, int depth)
{
  if (t[0] == '\0') return;
  if (st->owner != NULL &&
      (is_owner(st, t) || strncmp(t, "./", 2) == 0 || strncmp(t, "~/", 2) == 0)) {
    target_owned(st, t);
  } else if (t[0] == '\\' && st->owner != NULL) {
    target_address(st, t + 1); /* another's name: no bypass of its aliases from here */
  } else if (t[0] == '\\') {
    failed(st, 100, "a \\name target is delivered by qlspawn: ", t);
  } else if (st->listonly && (t[0] == '|' || t[0] == '/')) {
    failed(st, 100, "5.7.1 a command or file in an :include: file owned or writable by another "
                    "account: ", t);
  } else if (t[0] == '|') {
    target_pipe(st, t + 1);
  } else if (t[0] == '/') {
    target_file(st, t);
  } else if (strncmp(t, ":include:", 9) == 0) {
    target_include(st, t + 9, depth);
  } else if (strncasecmp(t, "error:", 6) == 0) {
    target_error(st, t + 6);
  } else {
    target_address(st, t);
  }
}

/* NOTIFY for the forwarded addresses: the recipient's without SUCCESS
 * (its success is reported here, when the alias delivers: RFC 3461
 * 6.2.7), "NEVER" when nothing is left. */
static int cat_notify(stralloc *env, const char *notify)
{
  size_t kept = 0;

  if (!stralloc_cats(env, "N")) return 0;
  while (*notify != '\0') {
    size_t len = strcspn(notify, ",");

    if (!(len == 7 && strncasecmp(notify, "SUCCESS", 7) == 0) &&
        !(len == 5 && strncasecmp(notify, "NEVER", 5) == 0) && len > 0) {
      if (kept++ > 0 && !stralloc_cats(env, ",")) return 0;
      if (!stralloc_catb(env, notify, len)) return 0;
    }
    notify += len;
    if (*notify == ',') ++notify;
  }
  return (kept > 0 || stralloc_cats(env, "NEVER")) && stralloc_0(env);
}

/* The envelope for qinject (qinject_env.h) into env, and the queue id of
 * the queue file on fd 0 into parent (QUEUE_ID_MAX bytes; "" when fd 0 is
 * no queue file: qlocal run by hand on a plain message). The forwarded
 * addresses get the DSN requests of the recipient being delivered (RFC
 * 3461 6.2.7: NOTIFY without SUCCESS, ORCPT) and of the message (RET,
 * ENVID), so that NOTIFY=NEVER still holds behind an alias. 1, 0 out of
 * memory. */
static int forward_envelope(const struct state *st, stralloc *env, char *parent)
{
  struct queue_env e = {0};
  const struct queue_rcpt *me = NULL;
  struct stat sb;
  size_t i;
  int ok;

  parent[0] = '\0';
  if (fstat(0, &sb) == 0 && queue_env_read(&e, 0) == 0) {
    queue_env_id(&e, (unsigned long long)sb.st_ino, parent);
    for (i = 0; i < e.rcpt_count && me == NULL; i++)
      if (strcasecmp(queue_env_str(&e, e.rcpt[i].addr), st->d->recipient) == 0) me = &e.rcpt[i];
  } else {
    e.ret = e.envid = (size_t)-1;
  }
  ok = stralloc_copys(env, "F") && stralloc_cats(env, st->d->sender) && stralloc_0(env);
  if (ok && e.ret != (size_t)-1)
    ok = stralloc_cats(env, "V") && stralloc_cats(env, queue_env_str(&e, e.ret)) &&
         stralloc_0(env);
  if (ok && e.envid != (size_t)-1)
    ok = stralloc_cats(env, "X") && stralloc_cats(env, queue_env_str(&e, e.envid)) &&
         stralloc_0(env);
  for (i = 0; ok && i < st->forward.len; i += strlen(st->forward.s + i) + 1) {
    ok = stralloc_cats(env, "T") && stralloc_cats(env, st->forward.s + i) && stralloc_0(env);
    if (ok && me != NULL && me->notify != (size_t)-1)
      ok = cat_notify(env, queue_env_str(&e, me->notify));
    if (ok && me != NULL && me->orcpt != (size_t)-1)
      ok = stralloc_cats(env, "O") && stralloc_cats(env, queue_env_str(&e, me->orcpt)) &&
           stralloc_0(env);
  }
  ok = ok && stralloc_0(env);
  queue_env_free(&e);
  return ok;
}

/* qinject in the qmail-queue protocol: the message (our Delivered-To
 * added) on its fd 0, the envelope (forward_envelope) on its fd 1. */
static void forward(struct state *st)
{
  char parent[QUEUE_ID_MAX];
  const struct delivery *d = st->d;
  stralloc inject = {0};
  stralloc env = {0};
  char *args[2];
  int pi[2];
  int pe[2] = {-1, -1};
  pid_t pid;
  int status;
  int werr = 0;
  struct stat sb;

  if (!stralloc_copys(&inject, qhome()) || !stralloc_cats(&inject, "/bin/qinject") ||
      !stralloc_0(&inject) || !forward_envelope(st, &env, parent)) {
    stralloc_free(&inject);
    stralloc_free(&env);
    failed(st, 111, "out of memory", NULL);
    return;
  }
  args[0] = stat(inject.s, &sb) == 0 ? inject.s : (char *)"qinject";
  args[1] = NULL;

  if (pipe(pi) == -1 || pipe(pe) == -1 || (pid = fork()) == -1) {
    failed_sys(st, 111, "unable to run ", "qinject");
    stralloc_free(&inject);
    stralloc_free(&env);
    return;
  }
  if (pid == 0) {
    close(pi[1]);
    close(pe[1]);
    if (parent[0] != '\0' && setenv("QPARENT", parent, 1) == -1) _exit(111);
    if (dup2(pi[0], 0) == -1 || dup2(pe[0], 1) == -1) _exit(111);
    execvp(args[0], args);
    _exit(111);
  }
  close(pi[0]);
  close(pe[0]);
  signal(SIGPIPE, SIG_IGN);
  if (msg_write(d, pi[1], MSG_DTLINE) == -1) werr = errno;
  close(pi[1]);
  if (werr == 0 && durable_writeall(pe[1], env.s, env.len) == -1) werr = errno;
  close(pe[1]);
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) break;
  if (werr != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* qinject's codes 11..31 and 91 are permanent, the rest temporary */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 111;
    failed(st, werr == 0 && (code == 11 || code == 31 || code == 91 || code == 100) ? 100 : 111,
           "unable to forward the message", NULL);
  }
  stralloc_free(&inject);
  stralloc_free(&env);
}

/* Delivers the targets (or, with owner set, the text of a ~/.forward in
 * targets[0], n = its length); returns the exit code, the line in res. */
static int deliver(const struct delivery *d, const struct forward_owner *owner,
                   const char *const *targets, size_t n, const char *done,
                   struct qlocal_result *res)
{
  char why[REPORT_LINE_MAX + 1];
  struct state st;
  size_t i;
  int code;

  memset(&st, 0, sizeof st);
  st.d = d;
  st.owner = owner;
  if (msg_checkloop(d, res) != 0) return res->code;
  if (owner != NULL) targets_parse(&st, targets[0], n, 0);
  else
    for (i = 0; i < n; i++) target(&st, targets[i], 0);
  if (!st.temp && st.forward_count > 0) forward(&st);
  /* nothing kept: a worker runs one delivery after another */
  code = st.temp ? 111 : st.perm ? 100 : 0;
  i = st.why.len < REPORT_LINE_MAX ? st.why.len : REPORT_LINE_MAX;
  if (i > 0) memcpy(why, st.why.s, i);
  why[i] = '\0';
  stralloc_free(&st.why);
  stralloc_free(&st.forward);
  if (code == 0) {
    report(res, 0, done, NULL, NULL);
    res->expanded = st.forward_count > 0;
    return 0;
  }
  return report(res, code, why, NULL, NULL);
}

int deliver_alias(const struct delivery *d, const char *const *targets, size_t n,
                  struct qlocal_result *res)
{
  return deliver(d, NULL, targets, n, "delivered to the alias's targets", res);
}

int deliver_forward_text(const struct delivery *d, const struct forward_owner *owner,
                         const char *text, size_t len, struct qlocal_result *res)
{
  return deliver(d, owner, &text, len, "delivered as ~/.forward says", res);
}
