/*
 * qlspawn_alias: an alias with mailbox targets ("dl: dl, lee", "\dl"):
 * each mailbox is written by its own owner, the rest of the alias by the
 * alias account, and the parts make one report.
 *
 * Runs in the child qlspawn forked for the delivery, still root (it must
 * become several owners in turn), fd 0 the queue file at the message,
 * fd 1 the report pipe. Each part is a grandchild running qlocal's code
 * as its owner (never root); this process only reads their one-line
 * reports (bounded) and waits. The mailboxes go first: when one of them
 * fails temporarily, the whole delivery is retried later and the others
 * get nothing yet (a retry may repeat a mailbox written before it).
 * Exit: 0 (QLOCAL_EXPANDED when the other targets sent the message on to
 * addresses), 100 or 111 with one report line, as qlocal.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stralloc.h>

#include "durable.h"
#include "qlocal.h"
#include "qlspawn.h"

#define PART_REPORT_MAX 1000 /* bytes read of one part's report */

/* Runs args as uid/gid; its report line into line. Returns its exit code
 * (0, QLOCAL_EXPANDED, 100, 111). */
static int part(uid_t uid, gid_t gid, const char **args, char *line, size_t size)
{
  int pi[2];
  pid_t pid;
  int status;
  size_t len = 0;
  ssize_t r;

  line[0] = '\0';
  if (pipe(pi) == -1) return 111;
  pid = fork();
  if (pid == -1) {
    close(pi[0]);
    close(pi[1]);
    return 111;
  }
  if (pid == 0) {
    size_t n = 0;

    close(pi[0]);
    if (dup2(pi[1], 1) == -1) _exit(111);
    if (getuid() == 0 || geteuid() == 0) {
      if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(uid) == -1) _exit(111);
    }
    if (getuid() == 0 || geteuid() == 0) _exit(111);
    while (args[n] != NULL) n++;
    qlocal_tell_expanded = 1;
    _exit(qlocal_main((int)n, (char **)args));
  }
  close(pi[1]);
  while (len < size - 1 && (r = read(pi[0], line + len, size - 1 - len)) != 0) {
    if (r == -1) {
      if (errno == EINTR) continue;
      break;
    }
    len += (size_t)r;
  }
  close(pi[0]);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  line[len] = '\0';
  while (waitpid(pid, &status, 0) == -1)
    if (errno != EINTR) return 111;
  if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == QLOCAL_EXPANDED ||
                            WEXITSTATUS(status) == 100))
    return WEXITSTATUS(status);
  if (len == 0) memcpy(line, "qlocal failed without a reason (#4.3.0)", 40);
  return 111;
}

static void __attribute__((noreturn)) finish(int code, const char *line)
{
  char out[PART_REPORT_MAX + 1];
  size_t len = strlen(line);

  if (len > PART_REPORT_MAX) len = PART_REPORT_MAX;
  memcpy(out, line, len);
  out[len++] = '\n';
  durable_writeall(1, out, len);
  _exit(code);
}

void alias_run(const struct where *w, const char *lenbuf, const char *sender, const char *rcpt,
               const char **args)
{
  char line[PART_REPORT_MAX + 1];
  char perm[PART_REPORT_MAX + 1];
  size_t i;
  int code;
  int expanded = 0;

  perm[0] = '\0';
  for (i = 0; i < w->box_count; i++) {
    const struct box *b = &w->boxes[i];
    const char **box_args = job_args(lenbuf, sender, b->addr.s, NULL, b->mailbox.s, NULL);

    code = part(b->uid, b->gid, box_args, line, sizeof line);
    free(box_args);
    if (code == 111) finish(111, line);
    if (code == 100 && perm[0] == '\0') memcpy(perm, line, sizeof perm);
  }
  if (w->targets.len > 0) {
    code = part(w->uid, w->gid, args, line, sizeof line);
    if (code == QLOCAL_EXPANDED) expanded = 1;
    if (code == 111) finish(111, line);
    if (code == 100 && perm[0] == '\0') memcpy(perm, line, sizeof perm);
  }
  (void)rcpt;
  if (perm[0] != '\0') finish(100, perm);
  finish(expanded ? QLOCAL_EXPANDED : 0, w->targets.len > 0 ? "delivered to the mailbox and the alias's other targets"
                               : "delivered to the mailbox, with no further aliasing");
}
