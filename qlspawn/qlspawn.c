/*
 * qlspawn: run local deliveries for qsend.
 * Started by qsend as root (on a root instance; otherwise as the instance
 * user), cwd = QHOME. fd 0: jobs from qsend, fd 1: results to qsend, in
 * the protocol of spawnproto.h; one recipient a job.
 *
 * For each job it finds where the recipient's mail goes (users.cdb, then
 * aliases.cdb, then, on a root instance, the system accounts of the "me"
 * domain) and opens the queue file at the message. A Maildir delivery
 * goes to a long-lived worker that became the mailbox owner once
 * (qlspawn_worker.c); an LMTP one to a kept LMTP session (qlspawn_lmtp.c);
 * the rest (mbox, pipes, forwards, files) to a forked child that becomes
 * the owner (never root) and runs qlocal's code, linked in (qlocal_main),
 * since on small machines an exec costs more than the delivery itself.
 * The delivery's exit code (0, 100, 111) and its one line of output become
 * the result.
 *
 *   qlspawn [concurrency]
 * Exit: 0 when qsend closes fd 0 and every delivery has ended; 111 on a
 * protocol error or when it cannot go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "accounts.h"
#include "aliases.h"
#include "cdbmap.h"
#include "ctl.h"
#include "durable.h"
#include "qlog.h"
#include "qlocal.h"
#include "qlspawn.h"
#include "queue.h"
#include "spawnproto.h"
#include "users.h"

#define USAGE "qlspawn [concurrency]"
#define REPORT_MAX 1000 /* bytes of qlocal's report line */
#define SLOTS_MAX 100000

struct child {
  pid_t pid;          /* 0: slot free */
  int report_fd;      /* read end of qlocal's stdout */
};

static struct child *children;
static unsigned long slot_count;
static unsigned long busy;
static int selfpipe[2];
static int root_instance;
static stralloc me;
static const char *const me_file[] = {"control/me", NULL};
static struct ctl_watch me_watch = {me_file, {{0}}, 0};
static const char *job_id; /* the queue id of the job being started, for job_args */

static void sigchld(int sig)
{
  int e = errno;
  (void)sig;
  if (write(selfpipe[1], "c", 1) == -1) {
    /* the pipe is full: a wakeup is pending anyway */
  }
  errno = e;
}

/* One result record set for a slot: "J<slot>\0" <code><text>\0 "\0". */
static void result(unsigned long slot, char code, const char *text)
{
  stralloc out = {0};
  char num[FMT_ULONG];
  size_t start;
  size_t i;

  if (!stralloc_copys(&out, "J") || !stralloc_catb(&out, num, fmt_ulong(num, slot)) ||
      !stralloc_0(&out) || !stralloc_append(&out, &code))
    qdie_nomem();
  start = out.len;
  if (!stralloc_cats(&out, text)) qdie_nomem();
  if (out.len - start > SPAWN_TEXT_MAX) out.len = start + SPAWN_TEXT_MAX;
  for (i = start; i < out.len; i++)
    if ((unsigned char)out.s[i] < 32) out.s[i] = ' ';
  if (!stralloc_0(&out) || !stralloc_0(&out)) qdie_nomem();
  if (durable_writeall(1, out.s, out.len) == -1) qdie_sys(111, "unable to write to qsend");
  stralloc_free(&out);
}

/* The instance's own accounts (ACCT_VMAIL, ACCT_ALIAS), looked up again
 * at most once a minute: a lookup reads /etc/passwd, once per delivery was
 * a good part of what a delivery cost. */
#define ACCOUNT_TTL 60
static int account(const char *name, uid_t *uid, gid_t *gid)
{
  static struct {
    const char *name;
    uid_t uid;
    gid_t gid;
    time_t at;
  } known[2];
  time_t now = time(NULL);
  struct passwd *pw;
  unsigned int i;

  for (i = 0; i < 2; i++)
    if (known[i].name != NULL && strcmp(known[i].name, name) == 0 && now >= known[i].at &&
        now - known[i].at < ACCOUNT_TTL) {
      *uid = known[i].uid;
      *gid = known[i].gid;
      return 0;
    }
  pw = getpwnam(name);
  if (pw == NULL) return -1;
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  i = known[0].name == NULL || strcmp(known[0].name, name) == 0 ? 0 : 1;
  known[i].name = name;
  known[i].uid = pw->pw_uid;
  known[i].gid = pw->pw_gid;
  known[i].at = now;
  return 0;
}

/* 1 if mailbox (NUL-terminated) is the default of user key, "mail/DOMAIN/USER/". */
static int is_default_mailbox(const stralloc *mailbox, const stralloc *key)
{
  static stralloc want;
  const char *at = memrchr(key->s, '@', key->len);

  if (at == NULL) return 0;
  if (!stralloc_copys(&want, "mail/") || !stralloc_cats(&want, at + 1) ||
      !stralloc_cats(&want, "/") || !stralloc_catb(&want, key->s, (size_t)(at - key->s)) ||
      !stralloc_cats(&want, "/") || !stralloc_0(&want))
    qdie_nomem();
  return strcmp(mailbox->s, want.s) == 0;
}

/* A virtual user (users.cdb): 'K' (mailbox, uid and gid filled), 'N' not
 * one, 'Z' temporary (why set). */
static char find_user(struct box *b, const char *addr, size_t len, const char **why)
{
  struct user u;
  int r;

  memset(&u, 0, sizeof u);
  r = users_find(&u, addr, len);
  if (r != 1) {
    users_free(&u); /* a long-lived daemon: nothing kept per delivery */
    if (r == 0) return 'N';
    *why = errno == EPROTO ? "control/users.cdb is damaged (#4.3.0)"
                           : "unable to read control/users.cdb (#4.3.0)";
    return 'Z';
  }
  if (!stralloc_copy(&b->mailbox, &u.mailbox)) qdie_nomem();
  if (b->mailbox.len == 0 || b->mailbox.s[b->mailbox.len - 1] != '\0')
    if (!stralloc_0(&b->mailbox)) qdie_nomem();
  if (!lmtp_is(b->mailbox.s) && is_default_mailbox(&b->mailbox, &u.key)) {
    /* a virtual user with no mailbox of its own: its domain's LMTP server, if it has one */
    const char *at = strrchr(u.key.s, '@');
    r = lmtp_domain(&b->mailbox, at + 1, strlen(at + 1));
    if (r == -1) {
      users_free(&u);
      *why = "unable to read " LMTPDOMAINS " (#4.3.0)";
      return 'Z';
    }
  }
  users_free(&u);
  b->home.len = 0;
  b->uid = getuid();
  b->gid = getgid();
  if (root_instance && account(ACCT_VMAIL, &b->uid, &b->gid) == -1) {
    *why = "no account " ACCT_VMAIL " (#4.3.0)";
    return 'Z';
  }
  return 'K';
}

/* A login account of the me domain, on a root instance: 'K' (~/Maildir/,
 * its home for ~/.forward, uid and gid filled) or 'N'. */
static char find_login(struct box *b, const char *addr, size_t len)
{
  const char *at = memrchr(addr, '@', len);
  size_t local_len = at != NULL ? (size_t)(at - addr) : len;
  struct passwd_entry pe;

  if (!root_instance || at == NULL || me.len != len - local_len - 1 ||
      strncasecmp(at + 1, me.s, me.len) != 0 || accounts_login(addr, local_len, &pe) != 1)
    return 'N';
  b->uid = (uid_t)pe.uid;
  b->gid = (gid_t)pe.gid;
  if (!stralloc_copys(&b->home, pe.home) || !stralloc_0(&b->home) ||
      !stralloc_copys(&b->mailbox, pe.home) || !stralloc_cats(&b->mailbox, "/Maildir/") ||
      !stralloc_0(&b->mailbox))
    qdie_nomem();
  return 'K';
}

/* A "\name" target or the alias's own address: that mailbox, with no
 * aliasing and no ~/.forward. 'K', 'D' (why set), 'Z' (why set). */
static char add_box(struct where *w, const stralloc *addr, const char **why)
{
  struct box *b;
  size_t i;
  char code;

  for (i = 0; i < w->box_count; i++)
    if (w->boxes[i].addr.len == addr->len + 1 &&
        strncasecmp(w->boxes[i].addr.s, addr->s, addr->len) == 0)
      return 'K'; /* named twice: delivered once */
  if (w->box_count == BOXES_MAX) {
    *why = "too many mailbox targets in the alias (#5.3.5)";
    return 'D';
  }
  b = &w->boxes[w->box_count];
  if (!stralloc_copy(&b->addr, addr) || !stralloc_0(&b->addr)) qdie_nomem();
  code = find_user(b, addr->s, addr->len, why);
  if (code == 'N') code = find_login(b, addr->s, addr->len);
  if (code == 'N') {
    *why = "no mailbox for a \\name target or the alias itself (#5.1.1)";
    return 'D';
  }
  if (code != 'K') return code;
  if (lmtp_is(b->mailbox.s)) {
    /* XXX(#17) a copy kept by an alias goes to Maildirs and mbox files only */
    *why = "an alias keeps no copy in a mailbox delivered over LMTP (#4.3.5)";
    return 'Z';
  }
  b->home.len = 0; /* the mailbox itself: no ~/.forward */
  w->box_count++;
  return 'K';
}

/* The alias's targets (val, as aliases_find gave them) into w: mailboxes
 * into boxes, the rest into targets. 'K', 'D' or 'Z' (why set). */
static char split_alias(struct where *w, const char *rcpt, const stralloc *val, int kind,
                        const char **why)
{
  static stralloc t;
  static stralloc box;
  size_t local_len = (size_t)(strrchr(rcpt, '@') - rcpt);
  size_t i;

  w->alias = 1;
  w->targets.len = 0;
  for (i = 0; i < val->len; i += strlen(val->s + i) + 1) {
    int r;
    t.len = 0;
    if (kind == 'c') {
      r = aliases_subst(&t, val->s + i, rcpt, local_len);
      if (r == -1) qdie_nomem();
      if (r == 1) {
        /* "|cmd" into "%1@x", "a b" into "|prog %1": the sender chose it */
        *why = "no such user here: the local part may not go into the catch-all's target (#5.1.1)";
        return 'D';
      }
    } else if (!stralloc_cats(&t, val->s + i) || !stralloc_0(&t)) {
      qdie_nomem();
    }
    r = aliases_mailbox(t.s, rcpt, strlen(rcpt), &box);
    if (r == -1) qdie_nomem();
    if (r == 1) {
      char code = add_box(w, &box, why);
      if (code != 'K') return code;
      continue;
    }
    if (!stralloc_cat(&w->targets, &t)) qdie_nomem();
  }
  if (w->targets.len == 0 && w->box_count == 0) {
    *why = "the alias has no targets (#5.1.1)";
    return 'D';
  }
  if (w->targets.len > 0 && root_instance && account(ACCT_ALIAS, &w->uid, &w->gid) == -1) {
    *why = "no account " ACCT_ALIAS " (#4.3.0)";
    return 'Z';
  }
  return 'K';
}

/* Where mail for rcpt goes (aliases.h, "Precedence"): 'K' found (w
 * filled), 'D' no such recipient (why set), 'Z' temporary (why set). */
static char locate(struct where *w, const char *rcpt, const char **why)
{
  stralloc val = {0};
  int kind;
  int r;
  char user;
  char code;
  size_t len = strlen(rcpt);

  w->alias = 0;
  w->box_count = 0;
  w->targets.len = 0;
  w->uid = getuid();
  w->gid = getgid();

  user = find_user(&w->self, rcpt, len, why);
  if (user == 'Z') return user;
  r = aliases_find(rcpt, len, 1, &val, &kind);
  if (r == -1) {
    stralloc_free(&val);
    *why = errno == EPROTO ? "control/aliases.cdb is damaged (#4.3.0)"
                           : "unable to read control/aliases.cdb (#4.3.0)";
    return 'Z';
  }
  /* a virtual user's alias counts only when it names the user; a
   * catch-all never does */
  if (r == 1 && user == 'K') {
    r = kind == 'c' ? 0 : aliases_namesself(&val, rcpt, len);
    if (r == -1) qdie_nomem();
  }
  if (r == 1 && strchr(rcpt, '@') != NULL) {
    code = split_alias(w, rcpt, &val, kind, why);
    stralloc_free(&val);
    return code;
  }
  stralloc_free(&val);
  if (user == 'K') return 'K';

  if (find_login(&w->self, rcpt, len) == 'K') return 'K';
  *why = "no such user here (#5.1.1)";
  return 'D';
}

/* qlocal's argv (qlocal.8), NULL-terminated; points into its arguments.
 * targets NULL: a delivery into mailbox (with HOME/.forward when home is
 * not NULL); else an alias's targets. qlocal gets -i with the queue id of
 * the job being started (job_id), for the log lines of a command. */
const char **job_args(const char *lenbuf, const char *sender, const char *rcpt,
                      const stralloc *targets, const char *mailbox, const char *home)
{
  const char **args;
  size_t count = 0;
  size_t n = 0;
  size_t i;

  if (targets != NULL)
    for (i = 0; i < targets->len; i += strlen(targets->s + i) + 1) count++;
  args = calloc(count + 16, sizeof *args);
  if (args == NULL) qdie_nomem();
  args[n++] = "qlocal";
  if (job_id != NULL) {
    args[n++] = "-i";
    args[n++] = job_id;
  }
  args[n++] = "-l";
  args[n++] = lenbuf;
  args[n++] = "-s";
  args[n++] = sender;
  args[n++] = "-r";
  args[n++] = rcpt;
  if (targets != NULL) {
    args[n++] = "-A";
    args[n++] = "--";
    for (i = 0; i < targets->len; i += strlen(targets->s + i) + 1) args[n++] = targets->s + i;
  } else {
    if (home != NULL) {
      args[n++] = "-h";
      args[n++] = home;
    }
    args[n++] = "--";
    args[n++] = mailbox;
  }
  args[n] = NULL;
  return args;
}

/* 1 if any part of the delivery would run as root. */
static int delivers_as_root(const struct where *w)
{
  size_t i;

  if (!w->alias) return w->self.uid == 0;
  if (w->targets.len > 0 && w->uid == 0) return 1;
  for (i = 0; i < w->box_count; i++)
    if (w->boxes[i].uid == 0) return 1;
  return 0;
}

/* 1 if HOME/.forward exists (of any type: qlocal decides, as the account). */
static int has_forward(const char *home)
{
  static stralloc fn;
  struct stat st;

  if (!stralloc_copys(&fn, home) || !stralloc_cats(&fn, "/.forward") || !stralloc_0(&fn))
    qdie_nomem();
  return lstat(fn.s, &st) == 0;
}

static void start(unsigned long slot, const char *id, const char *sender, const char *rcpt)
{
  static struct where w;
  char path[QUEUE_PATH_MAX];
  char hdr[QUEUE_HDRLEN];
  char lenbuf[FMT_ULONG * 2];
  unsigned long long idnum;
  unsigned long long msglen;
  const char *why = "";
  char code;
  int fd;
  int pi[2];
  pid_t pid;
  const char **args;
  struct stat st;
  uid_t uid;
  gid_t gid;
  const char *home = NULL;

  if (queue_id_scan(id, &idnum) == -1 || idnum > (unsigned long)-1)
    qdie(111, "protocol error: bad queue id");
  code = locate(&w, rcpt, &why);
  if (code != 'K') {
    result(slot, code, why);
    return;
  }
  if (delivers_as_root(&w)) {
    result(slot, 'Z', "refusing to deliver as root (#4.3.0)");
    return;
  }
  uid = w.alias ? w.uid : w.self.uid;
  gid = w.alias ? w.gid : w.self.gid;
  queue_path(path, "mess", (unsigned long)idnum);
  /* root, in a directory of the queue's: no link followed, no FIFO
   * waited on, nothing but a plain file read */
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1) {
    result(slot, 'Z', "unable to open the queue file (#4.3.0)");
    return;
  }
  if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
    close(fd);
    result(slot, 'Z', "the queue file is not a plain file (#4.3.0)");
    return;
  }
  if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || queue_hdr_scan(hdr, &msglen) == -1 ||
      lseek(fd, QUEUE_HDRLEN, SEEK_SET) == (off_t)-1) {
    close(fd);
    result(slot, 'Z', "unable to read the queue file (#4.3.0)");
    return;
  }
  if (!w.alias && lmtp_is(w.self.mailbox.s)) {
    lmtp_queue(slot, idnum, fd, msglen, sender, rcpt, w.self.mailbox.s, uid, gid, &me);
    children[slot].pid = -1; /* busy with an LMTP worker */
    children[slot].report_fd = -1;
    busy++;
    return;
  }
  lenbuf[fmt_ulonglong(lenbuf, msglen)] = '\0';
  job_id = id;
  if (w.alias) {
    args = job_args(lenbuf, sender, rcpt, &w.targets, NULL, NULL);
  } else {
    /* ~/.forward is read by the delivery, as the account; root only
     * looks whether there is one, to fork for it instead of a worker */
    if (w.self.home.len > 0 && has_forward(w.self.home.s)) home = w.self.home.s;
    args = job_args(lenbuf, sender, rcpt, NULL, w.self.mailbox.s, home);
  }
  if (!w.alias && home == NULL && w.self.mailbox.len > 1 &&
      w.self.mailbox.s[w.self.mailbox.len - 2] == '/' &&
      worker_start(slot, uid, gid, fd, args) == 0) {
    close(fd);
    free(args);
    children[slot].pid = -1; /* busy in a worker */
    children[slot].report_fd = -1;
    busy++;
    return;
  }
  if (pipe2(pi, O_CLOEXEC) == -1) {
    close(fd);
    free(args);
    result(slot, 'Z', "unable to create a pipe (#4.3.0)");
    return;
  }
  pid = fork();
  if (pid == -1) {
    close(fd);
    close(pi[0]);
    close(pi[1]);
    free(args);
    result(slot, 'Z', "unable to fork (#4.3.0)");
    return;
  }
  if (pid == 0) {
    size_t n = 0;

    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    child_close_fds();
    if (dup2(fd, 0) == -1 || dup2(pi[1], 1) == -1) _exit(111);
    if (w.box_count > 0) alias_run(&w, lenbuf, sender, rcpt, args);
    if (getuid() == 0 || geteuid() == 0) {
      if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1) _exit(111);
    }
    if (getuid() == 0 || geteuid() == 0) _exit(111);
    while (args[n] != NULL) n++;
    qlocal_tell_expanded = 1;
    _exit(qlocal_main((int)n, (char **)args));
  }
  close(fd);
  close(pi[1]);
  free(args);
  children[slot].pid = pid;
  children[slot].report_fd = pi[0];
  busy++;
}

void slot_done(unsigned long slot, char code, const char *text)
{
  children[slot].pid = 0;
  busy--;
  result(slot, code, text);
}

void child_close_fds(void)
{
  unsigned long i;

  close(selfpipe[0]);
  close(selfpipe[1]);
  for (i = 0; i < slot_count; i++)
    if (children[i].pid > 0) close(children[i].report_fd);
  workers_close_fds();
  lmtp_close_fds();
}

static void reap(void)
{
  int status;
  pid_t pid;

  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    unsigned long slot;
    char text[REPORT_MAX + 1];
    ssize_t len = 0;
    ssize_t r;
    char code;

    if (workers_reaped(pid, status) || lmtp_reaped(pid, status)) continue;
    for (slot = 0; slot < slot_count; slot++)
      if (children[slot].pid == pid) break;
    if (slot == slot_count) continue;
    /* the child has exited: whatever it wrote is in the pipe already */
    fcntl(children[slot].report_fd, F_SETFL, O_NONBLOCK);
    while (len < REPORT_MAX &&
           (r = read(children[slot].report_fd, text + len, (size_t)(REPORT_MAX - len))) > 0)
      len += r;
    close(children[slot].report_fd);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    text[len] = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) code = 'K';
    else if (WIFEXITED(status) && WEXITSTATUS(status) == QLOCAL_EXPANDED) code = 'E';
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 100) code = 'D';
    else code = 'Z';
    if (len == 0) {
      if (WIFSIGNALED(status)) memcpy(text, "qlocal crashed (#4.3.0)", 24);
      else if (code == 'K' || code == 'E') memcpy(text, "delivered", 10);
      else memcpy(text, "qlocal failed without a reason (#4.3.0)", 40);
    }
    slot_done(slot, code, text);
  }
}

/* Job parsing: records are read into jobbuf until an empty record. */
static stralloc jobbuf;

static void job_run(void)
{
  const char *p = jobbuf.s;
  const char *end = jobbuf.s + jobbuf.len;
  const char *id = NULL;
  const char *sender = NULL;
  const char *rcpt = NULL;
  unsigned long slot = 0;
  int have_slot = 0;
  int rcpt_count = 0;

  while (p < end && *p != '\0') {
    size_t len = strlen(p);
    switch (p[0]) {
      case 'J':
        if (p[1 + scan_ulong(p + 1, &slot)] != '\0' || len < 2) qdie(111, "protocol error: bad slot");
        have_slot = 1;
        break;
      case 'I': id = p + 1; break;
      case 'S': sender = p + 1; break;
      case 'R': rcpt = p + 1; rcpt_count++; break;
      case 'N': case 'O': case 'V': case 'X': case 'H': break;
      default: qdie(111, "protocol error: unknown record");
    }
    p += len + 1;
  }
  if (!have_slot || id == NULL || sender == NULL || rcpt == NULL || rcpt_count != 1)
    qdie(111, "protocol error: incomplete job");
  if (slot >= SLOTS_MAX) qdie(111, "protocol error: slot out of range");
  if (slot >= slot_count) {
    unsigned long n = slot_count;
    unsigned long want = slot + 1 > slot_count * 2 ? slot + 1 : slot_count * 2;
    struct child *c = realloc(children, want * sizeof *c);
    if (c == NULL) qdie_nomem();
    children = c;
    slot_count = want;
    for (; n < slot_count; n++) children[n].pid = 0;
  }
  if (children[slot].pid != 0) qdie(111, "protocol error: slot busy");
  start(slot, id, sender, rcpt);
}

/* control/me again if it changed since the last job (one stat a job):
 * qsend routed this job with what it read just now. */
static void me_check(void)
{
  if (ctl_changed(&me_watch) == 1 && ctl_readline(&me, "control/me", "localhost") == -1)
    qwarn_sys("unable to read control/me, keeping the previous name");
}

/* Splits what came in on fd 0 into jobs: a job ends with an empty record. */
static void jobs_feed(stralloc *in)
{
  size_t pos = 0;

  for (;;) {
    size_t i = pos;
    size_t reclen;
    int complete = 0;

    /* find the end of the job: a record of length 0 */
    while (i < in->len) {
      reclen = strnlen(in->s + i, in->len - i);
      if (i + reclen >= in->len) break; /* record not finished */
      if (reclen > SPAWN_FIELD_MAX) qdie(111, "protocol error: record too long");
      if (reclen == 0) {
        complete = 1;
        break;
      }
      i += reclen + 1;
    }
    if (!complete) break;
    if (!stralloc_copyb(&jobbuf, in->s + pos, i - pos)) qdie_nomem();
    me_check();
    job_run();
    pos = i + 1;
  }
  if (pos > 0) {
    memmove(in->s, in->s + pos, in->len - pos);
    in->len -= pos;
  }
  if (in->len > (size_t)SPAWN_FIELD_MAX * 8) qdie(111, "protocol error: job too long");
}

int main(int argc, char **argv)
{
  stralloc in = {0};
  unsigned long conc = 10;
  int eof = 0;
  struct sigaction sa;
  struct pollfd *pfd;

  qlog_prog = "qlspawn";
  cdbmap_report = cdbmap_warn; /* a damaged map: one loud line, then deferrals */
  if (argc > 2) qdie_usage(USAGE);
  if (argc == 2 && (argv[1][scan_ulong(argv[1], &conc)] != '\0' || conc == 0 || conc > SLOTS_MAX))
    qdie_usage(USAGE);
  if (qhome_chdir() == -1) qdie_sys(111, "unable to chdir to ", qhome());
  root_instance = getuid() == 0;
  ctl_changed(&me_watch);
  if (ctl_readline(&me, "control/me", "localhost") == -1) qdie_sys(111, "unable to read control/me");

  slot_count = conc;
  children = calloc(slot_count, sizeof *children);
  if (children == NULL) qdie_nomem();
  if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) == -1) qdie_sys(111, "unable to create a pipe");
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  workers_init(conc);
  lmtp_init(conc);
  pfd = calloc(2 + conc + LMTP_WORKERS_MAX, sizeof *pfd);
  if (pfd == NULL) qdie_nomem();

  while (!eof || busy > 0) {
    size_t n = 0;
    size_t nw;
    size_t nl;
    time_t now;

    pfd[n].fd = selfpipe[0];
    pfd[n].events = POLLIN;
    n++;
    if (!eof) {
      pfd[n].fd = 0;
      pfd[n].events = POLLIN;
      n++;
    }
    nw = workers_pollfds(pfd + n, conc);
    nl = lmtp_pollfds(pfd + n + nw, LMTP_WORKERS_MAX);
    if (poll(pfd, (nfds_t)(n + nw + nl), workers_alive() + lmtp_alive() > 0 ? 10000 : -1) == -1) {
      if (errno == EINTR) continue;
      qdie_sys(111, "unable to poll");
    }
    now = time(NULL);
    workers_read(pfd + n, nw, now);
    lmtp_read(pfd + n + nw, nl, now);
    if (pfd[0].revents) {
      char junk[64];
      while (read(selfpipe[0], junk, sizeof junk) > 0) {
      }
    }
    reap();
    if (!eof && n > 1 && pfd[1].revents) {
      char buf[8192];
      ssize_t r = read(0, buf, sizeof buf);
      if (r == -1 && errno != EINTR && errno != EAGAIN) qdie_sys(111, "unable to read from qsend");
      if (r == 0) eof = 1;
      if (r > 0) {
        if (!stralloc_catb(&in, buf, (size_t)r)) qdie_nomem();
        jobs_feed(&in);
      }
    }
    lmtp_dispatch(now);
    workers_expire(now, eof);
    lmtp_expire(now, eof);
  }
  free(pfd);
  stralloc_free(&in);
  stralloc_free(&jobbuf);
  stralloc_free(&me);
  free(children);
  return 0;
}
