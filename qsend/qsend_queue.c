/*
 * qsend_queue: qsend's side of the queue on disk (layout in queue.h).
 *
 * Take-in: a file in queue/new/ is committed (qinject fsynced it and the
 * directory). qsend reads its envelope, removes any stale info log of the
 * same id, renames it to queue/mess/NN/ID and hands it to the caller (who
 * schedules it) in a list of what was found. No fsync is
 * needed: after a crash the file is in new/ or in mess/, and either way
 * it is taken in again.
 *
 * Start-up: every file under mess/ is read back with its info log, so a
 * recipient delivered or failed before the crash stays done, and whatever
 * is still pending is retried. Messages whose recipients are all done are
 * removed; info logs without a message are removed; temp files of
 * qinjects that are gone are removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt.h>
#include <scan.h>

#include "ctl.h"
#include "qlog.h"
#include "qsend.h"

#define INFO_MAX (4UL << 20)      /* bytes of one info log read back */
#define TMP_STALE (36 * 3600)     /* a temp file this old is removed anyway */
#define BAD_SUFFIXES 10           /* names tried in queue/bad: ID, ID.1 ... ID.9 */

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

const char *rcpt_addr(const struct msg *m, size_t idx)
{
  return queue_env_str(&m->env, m->env.rcpt[idx].addr);
}

int rcpt_is_local(const char *addr)
{
  return ctl_islocal(&cfg.locals, cfg.me.s, cfg.me.len, addr, strlen(addr));
}

/* Every message taken in, by inode, for the administrator's requests
 * (qsend_admin.c): a held message sits in no list and no heap. */
#define INDEX_SIZE 4096
static struct msg *msg_index[INDEX_SIZE];

static void index_add(struct msg *m)
{
  size_t b = m->id % INDEX_SIZE;

  m->hnext = msg_index[b];
  msg_index[b] = m;
}

static void index_remove(struct msg *m)
{
  struct msg **p = &msg_index[m->id % INDEX_SIZE];

  while (*p != NULL && *p != m) p = &(*p)->hnext;
  if (*p == m) *p = m->hnext;
}

struct msg *msg_find(unsigned long id)
{
  struct msg *m = msg_index[id % INDEX_SIZE];

  while (m != NULL && m->id != id) m = m->hnext;
  return m;
}

struct msg *msg_new(unsigned long id)
{
  struct msg *m = calloc(1, sizeof *m);

  if (m == NULL) qdie_nomem();
  m->id = id;
  m->heap_pos = NOT_IN_HEAP;
  return m;
}

int msg_open(const struct msg *m)
{
  char path[QUEUE_PATH_MAX];

  return open(queue_path(path, "mess", m->id), O_RDONLY | O_CLOEXEC);
}

/* Fills m->r from the envelope: every recipient pending, classified; on
 * hold if the message is quarantined (its Q record), until a U line of
 * the info log (info_load) releases it. */
static void msg_rcpts(struct msg *m)
{
  size_t i;
  int quarantined = m->env.quarantine != (size_t)-1;

  m->r = calloc(m->env.rcpt_count ? m->env.rcpt_count : 1, sizeof *m->r);
  if (m->r == NULL) qdie_nomem();
  m->pending = m->env.rcpt_count;
  for (i = 0; i < m->env.rcpt_count; i++) {
    m->r[i].remote = (unsigned char)!rcpt_is_local(rcpt_addr(m, i));
    m->r[i].held = (unsigned char)quarantined;
    if (quarantined) m->r[i].next = RCPT_HELD_NEXT;
  }
  index_add(m);
}

/* Appends one line "TAG<idx> rest\n" to lines: rest is cut to fit the
 * format (queue.h) and its control bytes become blanks. */
void info_line(stralloc *lines, char tag, size_t idx, const char *rest)
{
  char num[FMT_ULONG];
  size_t start;
  size_t i;

  if (!stralloc_catb(lines, &tag, 1) ||
      !stralloc_catb(lines, num, fmt_ulong(num, (unsigned long)idx)))
    qdie_nomem();
  if (rest != NULL) {
    if (!stralloc_cats(lines, " ")) qdie_nomem();
    start = lines->len;
    if (!stralloc_cats(lines, rest)) qdie_nomem();
    if (lines->len - start > QUEUE_REASON_MAX + 2 * FMT_ULONG)
      lines->len = start + QUEUE_REASON_MAX;
    for (i = start; i < lines->len; i++)
      if ((unsigned char)lines->s[i] < 32 || lines->s[i] == 127) lines->s[i] = ' ';
  }
  if (!stralloc_cats(lines, "\n")) qdie_nomem();
}

/* Whole lines appended to the info log of m in one write; no fsync:
 * losing a mark only repeats a delivery (queue.h). A full disk can take
 * part of the lines: the torn end is cut off again, so that the next
 * append starts a line of its own (info_load also refuses a line run on
 * from a torn one, which a crash can leave). */
void info_write(struct msg *m, const stralloc *lines)
{
  char path[QUEUE_PATH_MAX];
  struct stat st;
  size_t done = 0;
  int fd;

  fd = open(queue_path(path, "info", m->id), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd == -1 || fstat(fd, &st) == -1) {
    qwarn_sys("unable to write ", path);
  } else {
    while (done < lines->len) {
      ssize_t w = write(fd, lines->s + done, lines->len - done);

      if (w == -1 && errno == EINTR) continue;
      if (w <= 0) break;
      done += (size_t)w;
    }
    if (done < lines->len) {
      qwarn_sys("unable to write ", path);
      if (done > 0 && ftruncate(fd, st.st_size) == -1) qwarn_sys("unable to truncate ", path);
    }
  }
  if (fd != -1) close(fd);
  m->has_info = 1;
}

void info_append(struct msg *m, char tag, size_t idx, const char *rest)
{
  stralloc line = {0};

  info_line(&line, tag, idx, rest);
  info_write(m, &line);
  stralloc_free(&line);
}

void msg_remove(struct msg *m)
{
  char path[QUEUE_PATH_MAX];
  size_t i;

  /* info first: a stale info log must never meet a new message with the
   * same id; the file itself goes to the pool (queue_pool.c) only then */
  int info_gone = unlink(queue_path(path, "info", m->id)) == 0 || errno == ENOENT;

  if (!info_gone) qwarn_sys("unable to remove ", path);
  queue_path(path, "mess", m->id);
  if ((!info_gone || queue_pool_put(path) == -1) && unlink(path) == -1 && errno != ENOENT)
    qwarn_sys("unable to remove ", path);
  qlog("end ", m->qid);
  index_remove(m);
  for (i = 0; i < m->env.rcpt_count; i++) free(m->r[i].reason);
  free(m->r);
  queue_env_free(&m->env);
  free(m);
}

/* Reads the info log of m back: the last D/F/Z/H line of an index wins.
 * Z counts a try; H (held back while its destination rested) only sets
 * the next try, so that resting never adds to the backoff or to the tries.
 * The last S/U line of an index says whether it is on hold (qqueue). */
static void info_load(struct msg *m)
{
  char path[QUEUE_PATH_MAX];
  stralloc log = {0};
  size_t pos = 0;
  int fd;

  fd = open(queue_path(path, "info", m->id), O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    if (errno != ENOENT) qwarn_sys("unable to read ", path);
    return;
  }
  m->has_info = 1;
  for (;;) {
    char buf[8192];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0) break;
    if (r == -1) {
      if (errno == EINTR) continue;
      qwarn_sys("unable to read ", path);
      break;
    }
    if (log.len + (size_t)r > INFO_MAX) break;
    if (!stralloc_catb(&log, buf, (size_t)r)) qdie_nomem();
  }
  close(fd);

  while (pos < log.len) {
    char *line = log.s + pos;
    char *nl = memchr(line, '\n', log.len - pos);
    size_t len;
    unsigned long idx;
    size_t n;
    struct rcpt *r;

    if (nl == NULL) break; /* a torn last line: ignore it */
    *nl = '\0';
    len = (size_t)(nl - line);
    pos += len + 1;
    if (len < 2) continue;
    n = scan_ulong(line + 1, &idx);
    if (n == 0 || idx >= m->env.rcpt_count) continue;
    /* the index ends the line (D, W) or a space follows it (F, Z, H): a
     * torn line run on by the next one ("D1" of "D12\n", then "Z3 ...")
     * must not mark recipient 1, which would then never be delivered */
    if ((line[0] == 'D' || line[0] == 'W') ? line[1 + n] != '\0' : line[1 + n] != ' ') continue;
    r = &m->r[idx];
    switch (line[0]) {
      case 'D':
      case 'F':
        if (r->state != RCPT_DONE) m->pending--;
        r->state = RCPT_DONE;
        break;
      case 'Z': {
        unsigned long next = 0;
        const char *p = line + 1 + n;
        if (*p == ' ') p++;
        p += scan_ulong(p, &next);
        if (*p == ' ') p++;
        while (*p != '\0' && *p != ' ') p++; /* the time tried */
        if (*p == ' ') p++;
        r->next = (time_t)next;
        if (r->tries < 60000) r->tries++;
        free(r->reason);
        r->reason = strdup(p);
        break;
      }
      case 'H': {
        unsigned long next = 0;
        const char *p = line + 1 + n;
        if (*p != ' ' || r->state == RCPT_DONE) break;
        if (scan_ulong(p + 1, &next) == 0) break;
        r->next = (time_t)next;
        break;
      }
      case 'W':
        r->warned = 1;
        break;
      case 'S':
      case 'U':
        if (line[1 + n] != ' ' && line[1 + n] != '\0') break;
        r->held = line[0] == 'S';
        break;
      default:
        break;
    }
  }
  stralloc_free(&log);
  for (pos = 0; pos < m->env.rcpt_count; pos++) {
    if (m->r[pos].held) m->r[pos].next = RCPT_HELD_NEXT;
    else if (m->r[pos].next == RCPT_HELD_NEXT) m->r[pos].next = 0; /* a quarantine released */
  }
}

/* Reads the envelope of the queue file at path into m; -1 if malformed
 * (EINVAL: *changed is then the file's ctime) or unreadable. */
static int msg_load(struct msg *m, const char *path, time_t *changed)
{
  struct stat st;
  /* O_NONBLOCK: a FIFO put there must not hang us (queue_env_read refuses it) */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int r;

  *changed = 0;
  if (fd == -1) return -1;
  r = queue_env_read(&m->env, fd);
  if (r == 0) queue_env_id(&m->env, m->id, m->qid);
  if (r == -1 && errno == EINVAL) {
    if (fstat(fd, &st) == 0) *changed = st.st_ctime;
    errno = EINVAL;
  }
  close(fd);
  return r;
}

/*
 * Files that stay where they are although they cannot be taken in (not
 * movable to queue/bad, or unreadable): each is logged once, not at every
 * scan. A file is known by its id and ctime (an id comes back only after
 * its file is gone). The table is small; when it is full the oldest entry
 * makes room, so that at worst a line is logged again.
 */
#define QUIET_MAX 256
static struct {
  unsigned long id;
  time_t changed;
} quiet[QUIET_MAX];
static size_t quiet_count;
static size_t quiet_next;

/* 1 if (id, changed) was logged already; else remembers it and returns 0 */
static int logged_once(unsigned long id, time_t changed)
{
  size_t i;

  for (i = 0; i < quiet_count; i++)
    if (quiet[i].id == id && quiet[i].changed == changed) return 1;
  quiet[quiet_next].id = id;
  quiet[quiet_next].changed = changed;
  quiet_next = (quiet_next + 1) % QUIET_MAX;
  if (quiet_count < QUIET_MAX) quiet_count++;
  return 0;
}

/* path to queue/bad/ID, else queue/bad/ID.N: a free name there (never
 * replaces), written into bad (QUEUE_PATH_MAX + 8 bytes). 0, -1 + errno. */
static int bad_move(const char *path, unsigned long id, char *bad)
{
  unsigned long n;
  size_t o;

  memcpy(bad, "queue/bad/", 10);
  o = 10 + fmt_ulong(bad + 10, id);
  for (n = 0; n < BAD_SUFFIXES; n++) {
    size_t e = o;

    if (n > 0) {
      bad[e++] = '.';
      e += fmt_ulong(bad + e, n);
    }
    bad[e] = '\0';
    if (syscall(SYS_renameat2, AT_FDCWD, path, AT_FDCWD, bad, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EEXIST) return -1;
  }
  return -1;
}

/*
 * A damaged queue file (one that qsend cannot parse) goes out of the way
 * into queue/bad/ (made by qsetup; made here if missing and queue/ is
 * ours), with one log line naming its id; qstat lists it there. If it
 * cannot be moved it stays, logged once (logged_once), and every later
 * scan passes it by without a word.
 */
static void set_aside(const char *path, unsigned long id, time_t changed)
{
  char bad[QUEUE_PATH_MAX + 8];
  char num[FMT_ULONG];
  int r;

  num[fmt_ulong(num, id)] = '\0';
  r = bad_move(path, id, bad);
  if (r == -1 && errno == ENOENT) {
    if (access(path, F_OK) == -1) return; /* gone meanwhile */
    if (mkdir("queue/bad", 02770) == 0) r = bad_move(path, id, bad);
    else errno = ENOENT;
  }
  if (r == 0) {
    qwarn("damaged queue file ", num, " set aside in ", bad, ": malformed header or envelope");
    return;
  }
  if (logged_once(id, changed)) return;
  qwarn_sys("damaged queue file ", num, " (malformed header or envelope) left in ", path,
            ": unable to move it to queue/bad");
}

/* A queue file that cannot be read (not damaged): said once, retried at each scan. */
static void unreadable(const char *path, unsigned long id)
{
  struct stat st;
  int e = errno;

  if (errno == ENOENT) return; /* taken by someone else meanwhile */
  if (lstat(path, &st) == 0 && logged_once(id, st.st_ctime)) return;
  errno = e;
  qwarn_sys("unable to read ", path);
}

static int id_of(const char *name, unsigned long *id)
{
  size_t n = scan_ulong(name, id);
  return n > 0 && name[n] == '\0';
}

/* "new ID from <sender> size N rcpts N", with " parent=ID" before from
 * when the message was made from another (an alias forward, a report);
 * then "held ID quarantine: REASON" for a quarantined one */
static void log_new(const struct msg *m)
{
  char size[FMT_ULONG];
  char count[FMT_ULONG];
  char from[QLOG_WORD_MAX];
  const char *parent = "";
  unsigned long long inode;

  size[fmt_ulonglong(size, m->env.msglen)] = '\0';
  count[fmt_ulong(count, (unsigned long)m->env.rcpt_count)] = '\0';
  if (m->env.parent != (size_t)-1 &&
      queue_id_scan(queue_env_str(&m->env, m->env.parent), &inode) == 0)
    parent = queue_env_str(&m->env, m->env.parent);
  /* the sender as one word: a quoted local part's blanks forge no field (qstats) */
  qlog("new ", m->qid, parent[0] != '\0' ? " parent=" : "", parent, " from <",
       qlog_word(from, sizeof from, queue_env_str(&m->env, m->env.sender)), "> size ", size,
       " rcpts ", count);
  if (m->env.quarantine != (size_t)-1)
    qlog("held ", m->qid, " quarantine: ", queue_env_str(&m->env, m->env.quarantine));
}

static void found_add(struct msg_list *found, struct msg *m)
{
  if (found->len == found->alloc) {
    size_t n = found->alloc ? found->alloc * 2 : 64;
    struct msg **p;
    if (n < found->alloc || n > (size_t)-1 / sizeof *p) qdie_nomem();
    p = realloc(found->m, n * sizeof *p);
    if (p == NULL) qdie_nomem();
    found->m = p;
    found->alloc = n;
  }
  found->m[found->len++] = m;
}

void queue_scan_new(struct msg_list *found)
{
  DIR *dir = opendir("queue/new");
  struct dirent *de;

  if (dir == NULL) {
    qwarn_sys("unable to open queue/new");
    return;
  }
  while ((de = readdir(dir)) != NULL) {
    char path[QUEUE_PATH_MAX];
    char dest[QUEUE_PATH_MAX];
    unsigned long id;
    struct msg *m;
    time_t changed;

    if (!id_of(de->d_name, &id)) continue;
    queue_path(path, "new", id);
    m = msg_new(id);
    if (msg_load(m, path, &changed) == -1) {
      if (errno == EINVAL) set_aside(path, id, changed);
      else unreadable(path, id);
      queue_env_free(&m->env);
      free(m);
      continue;
    }
    if (unlink(queue_path(dest, "info", id)) == -1 && errno != ENOENT)
      qwarn_sys("unable to remove stale ", dest);
    if (rename(path, queue_path(dest, "mess", id)) == -1) {
      qwarn_sys("unable to move ", path);
      queue_env_free(&m->env);
      free(m);
      continue;
    }
    msg_rcpts(m);
    m->fresh = 1;
    log_new(m);
    if (m->pending == 0) msg_remove(m);
    else found_add(found, m);
  }
  closedir(dir);
}

static void scan_mess_dir(const char *dirname, struct msg_list *found)
{
  DIR *dir = opendir(dirname);
  struct dirent *de;

  if (dir == NULL) {
    qwarn_sys("unable to open ", dirname);
    return;
  }
  while ((de = readdir(dir)) != NULL) {
    char path[QUEUE_PATH_MAX];
    unsigned long id;
    struct msg *m;
    time_t changed;

    if (!id_of(de->d_name, &id)) continue;
    queue_path(path, "mess", id);
    m = msg_new(id);
    if (msg_load(m, path, &changed) == -1) {
      if (errno == EINVAL) set_aside(path, id, changed);
      else unreadable(path, id);
      queue_env_free(&m->env);
      free(m);
      continue;
    }
    msg_rcpts(m);
    info_load(m);
    if (m->pending == 0) msg_remove(m); /* finished before a crash */
    else found_add(found, m);
  }
  closedir(dir);
}

/* info logs whose message is gone: left by a crash between the two unlinks */
static void scan_info_dir(const char *dirname)
{
  DIR *dir = opendir(dirname);
  struct dirent *de;

  if (dir == NULL) return;
  while ((de = readdir(dir)) != NULL) {
    char mess[QUEUE_PATH_MAX];
    char info[QUEUE_PATH_MAX];
    unsigned long id;
    struct stat st;

    if (!id_of(de->d_name, &id)) continue;
    if (stat(queue_path(mess, "mess", id), &st) == 0 || errno != ENOENT) continue;
    if (unlink(queue_path(info, "info", id)) == 0) qlog("removed stale ", info);
  }
  closedir(dir);
}

/* Temp files are "PID.TIME.COUNTER": removed when their writer is gone
 * (queue_tmp_gone: no such pid, a zombie not reaped yet, or a pid that
 * came round again), at once when qsend starts, after a minute of
 * quiet otherwise; whatever is older than TMP_STALE, in any case. */
void queue_clean_tmp(int at_start)
{
  DIR *dir = opendir("queue/tmp");
  struct dirent *de;
  time_t t = time(NULL);

  if (dir == NULL) return;
  while ((de = readdir(dir)) != NULL) {
    char path[300];
    struct stat st;
    int gone;

    if (de->d_name[0] == '.') continue;
    if (strlen(de->d_name) > 200) continue;
    memcpy(path, "queue/tmp/", 10);
    memcpy(path + 10, de->d_name, strlen(de->d_name) + 1);
    if (lstat(path, &st) == -1) continue;
    gone = queue_tmp_gone(de->d_name);
    /* a young file whose pid is gone might be a new process's with a reused pid
     * only if the pid were reused within seconds; wait a minute unless starting */
    if ((gone && (at_start || st.st_mtime + 60 < t)) || st.st_mtime + TMP_STALE < t) {
      if (unlink(path) == 0) qlog("removed temp file ", path);
    }
  }
  closedir(dir);
}

/* queue/pool: idle files and what passes its budget go (queue_pool.c) */
void queue_pool_tidy(void)
{
  char n1[FMT_ULONG];
  char n2[FMT_ULONG];
  unsigned long long kept = 0;
  int dropped = queue_pool_sweep(now, &kept);

  if (dropped == -1 && errno != ENOENT) qwarn_sys("unable to read queue/pool");
  if (dropped <= 0) return;
  n1[fmt_ulong(n1, (unsigned long)dropped)] = '\0';
  n2[fmt_ulonglong(n2, kept)] = '\0';
  qlog("pool: ", n1, " files dropped (idle or over its limit), ", n2, " bytes kept");
}

void queue_scan_all(struct msg_list *found)
{
  unsigned long i;

  queue_clean_tmp(1);
  for (i = 0; i < QUEUE_SPLIT; i++) {
    char dirname[40];
    size_t o;

    memcpy(dirname, "queue/mess/", 11);
    o = 11 + fmt_ulong(dirname + 11, i);
    dirname[o] = '\0';
    scan_mess_dir(dirname, found);
    memcpy(dirname, "queue/info/", 11);
    o = 11 + fmt_ulong(dirname + 11, i);
    dirname[o] = '\0';
    scan_info_dir(dirname);
  }
  queue_scan_new(found);
}
