/*
 * qlocal_alias: the targets of one alias (control/aliases, see aliases.h),
 * delivered as the alias account. Addresses are forwarded through qinject
 * in one new message (the sender kept, our Delivered-To line added so that
 * a loop is seen when it comes back); files, Maildirs and commands are
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
#include <time.h>
#include <unistd.h>

#include <stralloc.h>

#include "addr.h"
#include "ctl.h"
#include "durable.h"
#include "qlocal.h"

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

/* Runs "|command" through /bin/sh as this account: the admin asked for a shell. */
static void target_pipe(struct state *st, const char *cmd)
{
  const struct delivery *d = st->d;
  int pi[2];
  pid_t pid;
  int status;
  int werr = 0;
  const char *at;
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
    stralloc local = {0};
    char *args[4];

    close(pi[1]);
    if (dup2(pi[0], 0) == -1) _exit(111);
    if (pi[0] != 0) close(pi[0]);
    if (out_fd != 2) {
      if (dup2(out_fd, 2) == -1) _exit(111);
      close(out_fd);
    }
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
      relay_end(relay, out_fd);
      return;
    }
  relay_end(relay, out_fd);
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

/* qinject -f SENDER rcpt... with the message (our Delivered-To added) on stdin. */
static void forward(struct state *st)
{
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
