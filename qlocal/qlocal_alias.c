/*
 * qlocal_alias: the targets of one alias (control/aliases, see aliases.h),
 * delivered as the alias account. Addresses are forwarded through qinject
 * in one new message (the sender kept, our Delivered-To line added so that
 * a loop is seen when it comes back; QPARENT set to the queue id of the
 * message on fd 0, when that is a queue file, so that the new message is
 * logged with parent=ID); files, Maildirs and commands are
 * written here; ":include:" files are read now, at delivery.
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
#include <unistd.h>

#include <stralloc.h>

#include "addr.h"
#include "ctl.h"
#include "qlocal.h"
#include "queue.h"

#define INCLUDE_DEPTH 5       /* nested :include: files */
#define INCLUDE_MAX 65536     /* bytes read of one :include: file */
#define FORWARD_MAX 1000      /* addresses forwarded from one alias */

struct state {
  const struct delivery *d;
  stralloc forward;      /* addresses, each NUL-terminated */
  size_t forward_count;
  int temp;              /* a temporary failure happened */
  int perm;              /* a permanent failure happened */
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

/* Runs "|command" through /bin/sh as this account: the admin asked for a shell. */
static void target_pipe(struct state *st, const char *cmd)
{
  const struct delivery *d = st->d;
  int pi[2];
  pid_t pid;
  int status;
  int werr = 0;
  const char *at;

  if (pipe(pi) == -1) {
    failed_sys(st, 111, "unable to run ", cmd);
    return;
  }
  pid = fork();
  if (pid == -1) {
    close(pi[0]);
    close(pi[1]);
    failed_sys(st, 111, "unable to run ", cmd);
    return;
  }
  if (pid == 0) {
    stralloc local = {0};
    char *args[4];

    close(pi[1]);
    if (dup2(pi[0], 0) == -1) _exit(111);
    if (pi[0] != 0) close(pi[0]);
    dup2(2, 1);
    at = strrchr(d->recipient, '@');
    if (!stralloc_copyb(&local, d->recipient,
                        at != NULL ? (size_t)(at - d->recipient) : strlen(d->recipient)) ||
        !stralloc_0(&local))
      _exit(111);
    if (setenv("SENDER", d->sender, 1) == -1 || setenv("RECIPIENT", d->recipient, 1) == -1 ||
        setenv("LOCAL", local.s, 1) == -1 || setenv("HOST", at != NULL ? at + 1 : "", 1) == -1)
      _exit(111);
    signal(SIGPIPE, SIG_DFL);
    args[0] = (char *)"sh";
    args[1] = (char *)"-c";
    args[2] = (char *)cmd;
    args[3] = NULL;
    execv("/bin/sh", args);
    _exit(111);
  }
  close(pi[0]);
  signal(SIGPIPE, SIG_IGN);
  if (msg_write(d, pi[1], MSG_RETURNPATH | MSG_DTLINE) == -1 && errno != EPIPE) werr = errno;
  close(pi[1]);
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) {
      failed_sys(st, 111, "unable to wait for ", cmd);
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

/* ":include:/path": entries separated by commas or line ends, '#' comments. */
static void target_include(struct state *st, const char *path, int depth)
{
  char buf[INCLUDE_MAX];
  stralloc entry = {0};
  ssize_t len = 0;
  ssize_t r;
  ssize_t i;
  int fd;
  int comment = 0;

  if (depth >= INCLUDE_DEPTH) {
    failed(st, 100, ":include: nested too deeply: ", path);
    return;
  }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    failed_sys(st, errno == ENOENT ? 100 : 111, "unable to read ", path);
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
  for (i = 0; i <= len; i++) {
    char c = i < len ? buf[i] : '\n';
    if (c == '#' && entry.len == 0) comment = 1;
    if (c == '\n' || (c == ',' && !comment)) {
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
    if ((c == ' ' || c == '\t') && entry.len == 0) continue;
    if (!stralloc_append(&entry, &c)) break;
  }
  stralloc_free(&entry);
}

static void target(struct state *st, const char *t, int depth)
{
  if (t[0] == '\0') return;
  if (t[0] == '|') {
    target_pipe(st, t + 1);
  } else if (t[0] == '/') {
    target_file(st, t);
  } else if (strncmp(t, ":include:", 9) == 0) {
    target_include(st, t + 9, depth);
  } else if (strncasecmp(t, "error:", 6) == 0) {
    /* "error:5.1.1 text": 4.x.x is temporary, anything else permanent */
    const char *code = t + 6;
    failed(st, code[0] == '4' ? 111 : 100, code, NULL);
  } else {
    target_address(st, t);
  }
}

/* The queue id of the queue file on fd 0 into id (QUEUE_ID_MAX bytes); ""
 * when fd 0 is no queue file (qlocal run by hand on a plain message). */
static void parent_id(char *id)
{
  struct queue_env e = {0};
  struct stat sb;

  id[0] = '\0';
  if (fstat(0, &sb) == 0 && queue_env_read(&e, 0) == 0)
    queue_env_id(&e, (unsigned long long)sb.st_ino, id);
  queue_env_free(&e);
}

/* qinject -f SENDER rcpt... with the message (our Delivered-To added) on stdin. */
static void forward(struct state *st)
{
  char parent[QUEUE_ID_MAX];
  const struct delivery *d = st->d;
  stralloc inject = {0};
  char **args;
  size_t n = 0;
  size_t i;
  int pi[2];
  pid_t pid;
  int status;
  int werr = 0;
  struct stat sb;

  args = calloc(st->forward_count + 5, sizeof *args);
  if (args == NULL) {
    failed(st, 111, "out of memory", NULL);
    return;
  }
  if (!stralloc_copys(&inject, qhome()) || !stralloc_cats(&inject, "/bin/qinject") ||
      !stralloc_0(&inject)) {
    free(args);
    failed(st, 111, "out of memory", NULL);
    return;
  }
  args[n++] = stat(inject.s, &sb) == 0 ? inject.s : (char *)"qinject";
  args[n++] = (char *)"-f";
  args[n++] = (char *)d->sender;
  args[n++] = (char *)"--";
  for (i = 0; i < st->forward.len; i += strlen(st->forward.s + i) + 1) args[n++] = st->forward.s + i;
  args[n] = NULL;

  if (pipe(pi) == -1 || (pid = fork()) == -1) {
    failed_sys(st, 111, "unable to run ", "qinject");
    free(args);
    stralloc_free(&inject);
    return;
  }
  if (pid == 0) {
    close(pi[1]);
    parent_id(parent);
    if (parent[0] != '\0' && setenv("QPARENT", parent, 1) == -1) _exit(111);
    if (dup2(pi[0], 0) == -1) _exit(111);
    dup2(2, 1);
    execvp(args[0], args);
    _exit(111);
  }
  close(pi[0]);
  signal(SIGPIPE, SIG_IGN);
  if (msg_write(d, pi[1], MSG_DTLINE) == -1) werr = errno;
  close(pi[1]);
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) break;
  if (werr != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* qinject's codes 11..31 and 91 are permanent, the rest temporary */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 111;
    failed(st, werr == 0 && (code == 11 || code == 31 || code == 91 || code == 100) ? 100 : 111,
           "unable to forward the message", NULL);
  }
  free(args);
  stralloc_free(&inject);
}

int deliver_alias(const struct delivery *d, const char *const *targets, size_t n)
{
  struct state st;
  size_t i;

  memset(&st, 0, sizeof st);
  st.d = d;
  msg_checkloop(d);
  for (i = 0; i < n; i++) target(&st, targets[i], 0);
  if (!st.temp && st.forward_count > 0) forward(&st);
  if (!stralloc_0(&st.why)) report(111, "out of memory (#4.3.0)", NULL, NULL);
  if (st.temp) report(111, st.why.s, NULL, NULL);
  if (st.perm) report(100, st.why.s, NULL, NULL);
  report(0, "delivered to the alias's targets", NULL, NULL);
}
