/*
 * qsend_admin: the administrator's requests, written by qqueue(8) (as
 * root) into queue/admin/, which only qsend and root may write. qsend
 * makes every change to a message itself, so that no delivery in flight
 * meets a message that is gone, and nothing deleted comes back: each
 * change is in the info log (or the message is removed) before it is
 * logged as done.
 *
 * A request is one file, NAME (qqueue writes .NAME and renames it):
 *   "ACTION\n" then one queue id a line, e.g. "hold\nHKZ1Q0B7W83F2K\n"
 * ACTION: delete, hold, release, requeue, expire. An id must name a
 * message qsend has (its inode and its time: never a later message with
 * the same inode). A message with deliveries in flight waits: the file is
 * written again with the ids still to do, and read again a second later;
 * qqueue waits until the file is gone.
 *
 * Info log records (queue.h): "S<idx> <time>" on hold, "U<idx> <time>"
 * released; delete and expire end recipients with F records.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename(2) only */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "qlog.h"
#include "qsend.h"
#include "qsend_dsn.h"

#define ADMIN_FILE_MAX (1UL << 20) /* bytes of one request */
#define ADMIN_FILES_MAX 64         /* requests read at one time */

int admin_waiting;

/* Appends the info line "TAG<idx> <now> [reason]" for each pending
 * recipient of m that want() selects; returns how many. */
static size_t each_pending(struct msg *m, stralloc *lines, char tag, const char *reason,
                           int (*want)(const struct rcpt *))
{
  char rest[FMT_ULONG + QUEUE_REASON_MAX + 2];
  size_t o = fmt_ulong(rest, (unsigned long)now);
  size_t count = 0;
  size_t i;

  if (reason != NULL) {
    rest[o++] = ' ';
    memcpy(rest + o, reason, strlen(reason));
    o += strlen(reason);
  }
  rest[o] = '\0';
  for (i = 0; i < m->env.rcpt_count; i++) {
    if (m->r[i].state != RCPT_PENDING || !want(&m->r[i])) continue;
    info_line(lines, tag, i, rest);
    count++;
  }
  return count;
}

static int any(const struct rcpt *r)
{
  (void)r;
  return 1;
}

static int not_held(const struct rcpt *r)
{
  return !r->held;
}

static int is_held(const struct rcpt *r)
{
  return r->held;
}

static void log_done(const char *what, const struct msg *m, size_t count)
{
  char num[FMT_ULONG];

  num[fmt_ulong(num, (unsigned long)count)] = '\0';
  qlog("admin: ", what, " ", m->qid, " (", num, count == 1 ? " recipient)" : " recipients)");
}

static void act_delete(struct msg *m)
{
  stralloc lines = {0};
  size_t count = each_pending(m, &lines, 'F', "deleted by the administrator", any);
  size_t i;

  /* marked first: should qsend die before the file goes, it stays deleted */
  if (lines.len > 0) info_write(m, &lines);
  for (i = 0; i < m->env.rcpt_count; i++)
    if (m->r[i].state == RCPT_PENDING) {
      m->r[i].state = RCPT_DONE;
      m->pending--;
    }
  log_done("deleted", m, count);
  stralloc_free(&lines);
  sched_add(m); /* nothing pending: removed */
}

static void act_hold(struct msg *m, int hold)
{
  stralloc lines = {0};
  size_t count = each_pending(m, &lines, hold ? 'S' : 'U', NULL, hold ? not_held : is_held);
  size_t i;

  if (lines.len > 0) info_write(m, &lines);
  for (i = 0; i < m->env.rcpt_count; i++) {
    struct rcpt *r = &m->r[i];
    if (r->state != RCPT_PENDING || r->held == hold) continue;
    r->held = (unsigned char)hold;
    r->next = hold ? RCPT_HELD_NEXT : 0;
  }
  log_done(hold ? "held" : "released", m, count);
  stralloc_free(&lines);
  sched_add(m);
}

static void act_requeue(struct msg *m)
{
  size_t count = 0;
  size_t i;

  if (m->pending > 0) {
    for (i = 0; i < m->env.rcpt_count; i++)
      if (m->r[i].held) break;
    if (i < m->env.rcpt_count) act_hold(m, 0); /* requeue releases too */
  }
  for (i = 0; i < m->env.rcpt_count; i++) {
    struct rcpt *r = &m->r[i];
    const char *at;

    if (r->state != RCPT_PENDING) continue;
    r->next = 0;
    count++;
    at = strrchr(rcpt_addr(m, i), '@');
    if (r->remote && at != NULL) dom_rest(dom_get(at + 1, strlen(at + 1)), 0, NULL);
  }
  log_done("requeued", m, count);
  sched_add(m);
}

/* As if its lifetime had passed: every pending recipient fails, reported
 * to the sender first (sched_report), then marked done. */
static void act_expire(struct msg *m)
{
  static const char reason[] = "message expired in the queue (by the administrator)";
  struct dsn_rcpt *list = calloc(m->env.rcpt_count + 1, sizeof *list);
  stralloc lines = {0};
  size_t n = 0;
  size_t i;
  int ok;

  if (list == NULL) qdie_nomem();
  for (i = 0; i < m->env.rcpt_count; i++)
    if (m->r[i].state == RCPT_PENDING) {
      list[n].idx = i;
      list[n++].reason = reason;
    }
  sched_report(m, DSN_FAILED, list, n, &ok);
  if (n > 0 && !ok) {
    qwarn("admin: expire ", m->qid, ": the report could not be queued; tried again later");
  } else {
    each_pending(m, &lines, 'F', reason, any);
    if (lines.len > 0) info_write(m, &lines);
    for (i = 0; i < n; i++) {
      m->r[list[i].idx].state = RCPT_DONE;
      m->pending--;
    }
    log_done("expired", m, n);
    sched_add(m);
  }
  free(list);
  stralloc_free(&lines);
}

/* Applies action to id: 1 done (or nothing to do), 0 wait (in flight). */
static int apply(const char *action, const char *id)
{
  unsigned long long inode;
  struct msg *m;

  if (queue_id_scan(id, &inode) == -1 || inode > (unsigned long)-1 ||
      (m = msg_find((unsigned long)inode)) == NULL || strcmp(m->qid, id) != 0) {
    qwarn("admin: ", action, " ", id, ": no such message in the queue");
    return 1;
  }
  if (m->inflight > 0) return 0;
  if (!strcmp(action, "delete")) act_delete(m);
  else if (!strcmp(action, "hold")) act_hold(m, 1);
  else if (!strcmp(action, "release")) act_hold(m, 0);
  else if (!strcmp(action, "requeue")) act_requeue(m);
  else act_expire(m);
  return 1;
}

/* The ids still to do, written back under the same name (.NAME, renamed) */
static void keep(const char *path, const char *name, const stralloc *rest)
{
  char tmp[300];
  int fd;
  int ok;

  memcpy(tmp, "queue/admin/.", 13);
  memcpy(tmp + 13, name, strlen(name) + 1);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  ok = fd != -1 && write(fd, rest->s, rest->len) == (ssize_t)rest->len;
  if (fd != -1 && close(fd) == -1) ok = 0;
  if (!ok || rename(tmp, path) == -1) {
    qwarn_sys("unable to rewrite ", path);
    unlink(tmp);
  }
}

/* One request file: 0 done (removed), 1 some ids wait */
static int request(const char *name)
{
  static const char *const actions[] = {"delete", "hold", "release", "requeue", "expire"};
  char path[300];
  stralloc text = {0};
  stralloc rest = {0};
  struct stat st;
  char *line;
  char *nl;
  size_t k;
  int waiting = 0;
  int fd;

  memcpy(path, "queue/admin/", 12);
  memcpy(path + 12, name, strlen(name) + 1);
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
      (unsigned long long)st.st_size > ADMIN_FILE_MAX ||
      !stralloc_ready(&text, (size_t)st.st_size + 1) ||
      read(fd, text.s, (size_t)st.st_size) != (ssize_t)st.st_size) {
    qwarn_sys("admin: unable to read ", path);
    if (fd != -1) close(fd);
    unlink(path);
    stralloc_free(&text);
    return 0;
  }
  close(fd);
  text.len = (size_t)st.st_size;
  text.s[text.len] = '\0';
  line = text.s;
  nl = strchr(line, '\n');
  if (nl != NULL) *nl = '\0';
  for (k = 0; k < sizeof actions / sizeof *actions; k++)
    if (!strcmp(line, actions[k])) break;
  if (nl == NULL || k == sizeof actions / sizeof *actions) {
    qwarn("admin: unknown request in ", path, ": ignored");
    unlink(path);
    stralloc_free(&text);
    return 0;
  }
  if (!stralloc_copys(&rest, line) || !stralloc_cats(&rest, "\n")) qdie_nomem();
  for (line = nl + 1; *line != '\0'; line = nl + 1) {
    nl = strchr(line, '\n');
    if (nl == NULL) break; /* a torn last line: qqueue writes whole lines */
    *nl = '\0';
    if (*line == '\0') continue;
    if (!apply(actions[k], line)) {
      waiting = 1;
      if (!stralloc_cats(&rest, line) || !stralloc_cats(&rest, "\n")) qdie_nomem();
    }
  }
  if (waiting) keep(path, name, &rest);
  else if (unlink(path) == -1) qwarn_sys("unable to remove ", path);
  stralloc_free(&text);
  stralloc_free(&rest);
  return waiting;
}

void admin_run(void)
{
  DIR *dir = opendir("queue/admin");
  struct dirent *de;
  size_t n = 0;

  admin_waiting = 0;
  if (dir == NULL) return; /* none yet: qqueue makes it */
  while ((de = readdir(dir)) != NULL && n < ADMIN_FILES_MAX) {
    if (de->d_name[0] == '.' || strlen(de->d_name) > 200) continue;
    n++;
    if (request(de->d_name)) admin_waiting = 1;
  }
  if (de != NULL) admin_waiting = 1; /* more than we read now */
  closedir(dir);
}
