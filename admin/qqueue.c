/*
 * qqueue: the administrator's queue tool, in the spirit of postcat and
 * postsuper. Run by root (show: by anyone who can read the queue).
 *
 *   qqueue show ID [DIR]
 *   qqueue delete|hold|release|requeue|expire [-f text] [-r text] [-d domain] [-a] [ID ...] [DIR]
 *
 * DIR (a last argument with a '/', which no id has) is the instance, as
 * for qstat; else $QHOME.
 * show prints a message's envelope (id, arrival, size, sender, parent,
 * quarantine, each recipient with its DSN values), its state log and its
 * content.
 * The other actions select messages (the IDs given, or every message
 * whose sender contains -f text, a recipient contains -r text, the sender
 * or a recipient is at -d domain; -a: all), print each selected one, and
 * ask qsend to do the change (qsend_admin.c): a request file in
 * queue/admin/ (only root and qsend may write there), then an "A" into
 * queue/trigger. qsend changes the message itself, so nothing it is
 * delivering disappears under it and nothing deleted comes back. qqueue
 * waits until qsend has taken the whole request (-w seconds, default 30;
 * 0: do not wait).
 * Exit: 0 done (or nothing selected); 100 usage, an unknown id, not root;
 * 111 the queue is unreadable, or qsend has not taken the request in time
 * (it stays, and qsend applies it when it runs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename(2) only */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "bflush.h"
#include "ctl.h"
#include "qlog.h"
#include "qread.h"
#include "queue.h"

#define USAGE "qqueue show ID [DIR] | qqueue delete|hold|release|requeue|expire " \
              "[-f text] [-r text] [-d domain] [-a] [-w seconds] [ID ...] [DIR]"
#define INFO_MAX (16UL * 1024 * 1024) /* bytes of a state log shown */
#define WAIT_DEFAULT 30               /* seconds qqueue waits for qsend */

static struct {
  const char *sender;
  const char *rcpt;
  const char *domain;
  int all;
  unsigned long wait;
} opt;

static stralloc request;   /* "ACTION\n" then an id a line */
static size_t selected;

static void out(const char *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) == -1) qdie_sys(111, "unable to write output");
}

static void outs(const char *s)
{
  out(s, strlen(s));
}

/* The queue file of id, open, with its envelope in e and its path in
 * path: fd, or -1 (no such message: not there, or a later one with the
 * same inode). A message still in queue/new counts too. */
static int find(const char *id, struct queue_env *e, char *path)
{
  unsigned long long inode;
  char qid[QUEUE_ID_MAX];
  int k;

  if (queue_id_scan(id, &inode) == -1 || inode > (unsigned long)-1) return -1;
  for (k = 0; k < 2; k++) {
    int fd;

    queue_path(path, k == 0 ? "mess" : "new", (unsigned long)inode);
    fd = qread_open(path);
    if (fd == -1) continue;
    if (queue_env_read(e, fd) == 0) {
      queue_env_id(e, inode, qid);
      if (strcmp(qid, id) == 0) return fd;
    }
    close(fd);
  }
  return -1;
}

/* "<addr>" of the domain dom (case ignored)? */
static int at_domain(const char *addr, const char *dom)
{
  const char *at = strrchr(addr, '@');

  return at != NULL && strcasecmp(at + 1, dom) == 0;
}

static int matches(const struct queue_env *e)
{
  const char *sender = queue_env_str(e, e->sender);
  int rcpt_ok = opt.rcpt == NULL;
  int dom_ok = opt.domain == NULL || at_domain(sender, opt.domain);
  size_t i;

  if (opt.sender != NULL && !qread_contains(sender, opt.sender)) return 0;
  for (i = 0; i < e->rcpt_count; i++) {
    const char *r = queue_env_str(e, e->rcpt[i].addr);
    if (!rcpt_ok && qread_contains(r, opt.rcpt)) rcpt_ok = 1;
    if (!dom_ok && at_domain(r, opt.domain)) dom_ok = 1;
  }
  return rcpt_ok && dom_ok;
}

/* One selected message: printed, and its id into the request. */
static void select_msg(const char *qid, const struct queue_env *e)
{
  outs(qid);
  outs(" <");
  outs(queue_env_str(e, e->sender));
  outs(">\n");
  if (!stralloc_cats(&request, qid) || !stralloc_cats(&request, "\n")) qdie_nomem();
  selected++;
}

static void scan_dir(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  struct queue_env e = {0};

  if (d == NULL) {
    if (errno == ENOENT) return;
    qdie_sys(111, "unable to open ", dir);
  }
  while ((de = readdir(d)) != NULL) {
    char path[QUEUE_PATH_MAX + 300];
    char qid[QUEUE_ID_MAX];
    unsigned long inode;
    size_t n = scan_ulong(de->d_name, &inode);
    int fd;

    if (n == 0 || de->d_name[n] != '\0') continue;
    memcpy(path, dir, strlen(dir));
    path[strlen(dir)] = '/';
    memcpy(path + strlen(dir) + 1, de->d_name, n + 1);
    fd = qread_open(path);
    if (fd == -1) continue; /* gone meanwhile, or no plain file */
    if (queue_env_read(&e, fd) == 0 && matches(&e)) {
      queue_env_id(&e, inode, qid);
      select_msg(qid, &e);
    }
    close(fd);
  }
  closedir(d);
  queue_env_free(&e);
}

static void show(const char *id)
{
  struct queue_env e = {0};
  char path[QUEUE_PATH_MAX];
  char num[FMT_ULONG];
  stralloc info = {0};
  unsigned long long inode = 0;
  unsigned long long pos = QUEUE_HDRLEN;
  size_t i;
  int fd = find(id, &e, path);

  if (fd == -1) qdie(100, "no such message in the queue: ", id);
  queue_id_scan(id, &inode);
  outs("id: ");
  outs(id);
  outs("\nfile: ");
  outs(path);
  outs("\narrival: ");
  out(num, fmt_ulonglong(num, e.arrival));
  outs("\nsize: ");
  out(num, fmt_ulonglong(num, e.msglen));
  outs("\nsender: <");
  outs(queue_env_str(&e, e.sender));
  outs(">\n");
  if (e.parent != (size_t)-1) {
    outs("parent: ");
    outs(queue_env_str(&e, e.parent));
    outs("\n");
  }
  if (e.quarantine != (size_t)-1) {
    outs("quarantine: ");
    outs(queue_env_str(&e, e.quarantine));
    outs("\n");
  }
  for (i = 0; i < e.rcpt_count; i++) {
    outs("recipient: <");
    outs(queue_env_str(&e, e.rcpt[i].addr));
    outs(">");
    if (e.rcpt[i].notify != (size_t)-1) {
      outs(" NOTIFY=");
      outs(queue_env_str(&e, e.rcpt[i].notify));
    }
    if (e.rcpt[i].orcpt != (size_t)-1) {
      outs(" ORCPT=");
      outs(queue_env_str(&e, e.rcpt[i].orcpt));
    }
    outs("\n");
  }
  if (qread_info((unsigned long)inode, &info, INFO_MAX) == -1)
    qwarn_sys("unable to read the state log of ", path);
  for (i = 0; i < info.len;) { /* the state log (queue.h), one "log:" line each */
    const char *nl = memchr(info.s + i, '\n', info.len - i);
    size_t len = nl != NULL ? (size_t)(nl - (info.s + i)) : info.len - i;

    outs("log: ");
    out(info.s + i, len);
    outs("\n");
    i += len + 1;
  }
  outs("\n");
  while (pos < QUEUE_HDRLEN + e.msglen) { /* the message, as stored (LF line ends) */
    char buf[8192];
    unsigned long long left = QUEUE_HDRLEN + e.msglen - pos;
    ssize_t r = pread(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf, (off_t)pos);

    if (r == -1 && errno == EINTR) continue;
    if (r == -1) qdie_sys(111, "unable to read ", path);
    if (r == 0) break;
    out(buf, (size_t)r);
    pos += (unsigned long long)r;
  }
  close(fd);
  stralloc_free(&info);
  queue_env_free(&e);
}

/* queue/admin/NAME: written as .NAME, then renamed (qsend skips dot
 * names), owned as queue/admin is (qsend's; made if missing, 0700).
 * Returns NAME's path in path. */
static void request_write(char *path)
{
  char tmp[100];
  struct stat st;
  size_t o;
  int fd;

  if (mkdir("queue/admin", 0700) == 0) {
    if (stat("queue/new", &st) == -1 || chown("queue/admin", st.st_uid, st.st_gid) == -1)
      qdie_sys(111, "unable to give queue/admin to qsend");
  } else if (errno != EEXIST) {
    qdie_sys(111, "unable to create queue/admin");
  }
  if (lstat("queue/admin", &st) == -1 || !S_ISDIR(st.st_mode))
    qdie_sys(111, "unable to use queue/admin");
  memcpy(path, "queue/admin/", 12);
  o = 12 + fmt_ulong(path + 12, (unsigned long)time(NULL));
  path[o++] = '.';
  o += fmt_ulong(path + o, (unsigned long)getpid());
  path[o] = '\0';
  memcpy(tmp, "queue/admin/.", 13);
  memcpy(tmp + 13, path + 12, o - 12 + 1);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) qdie_sys(111, "unable to create ", tmp);
  /* qsend's, as the directory is: it reads and removes it */
  if (fchown(fd, st.st_uid, st.st_gid) == -1) {
    unlink(tmp);
    qdie_sys(111, "unable to give ", tmp, " to qsend");
  }
  if (write(fd, request.s, request.len) != (ssize_t)request.len || fsync(fd) == -1 ||
      close(fd) == -1) {
    unlink(tmp);
    qdie_sys(111, "unable to write ", tmp);
  }
  if (rename(tmp, path) == -1) {
    unlink(tmp);
    qdie_sys(111, "unable to rename ", tmp);
  }
}

/* Pokes qsend and waits until the request is gone: 0, or -1 (timed out) */
static int request_wait(const char *path)
{
  unsigned long waited = 0;
  int fd = open("queue/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  if (fd != -1) {
    if (write(fd, QUEUE_TRIGGER_ADMIN, 1) == -1) qwarn_sys("unable to write queue/trigger");
    close(fd);
  }
  for (;;) {
    if (access(path, F_OK) == -1 && errno == ENOENT) return 0;
    if (waited >= opt.wait * 10) return -1;
    usleep(100000);
    waited++;
  }
}

/* DIR given on the command line: the instance, in place of $QHOME */
static void use_dir(const char *dir)
{
  if (setenv("QHOME", dir, 1) == -1) qdie_nomem();
}

int main(int argc, char **argv)
{
  static const char *const actions[] = {"delete", "hold", "release", "requeue", "expire"};
  const char *action;
  char path[100];
  size_t k;
  int i;
  int unknown = 0;

  qlog_prog = "qqueue";
  opt.wait = WAIT_DEFAULT;
  if (argc < 2) qdie_usage(USAGE);
  action = argv[1];
  if (!strcmp(action, "show")) {
    if (argc == 4 && strchr(argv[3], '/') != NULL) use_dir(argv[--argc]);
    if (argc != 3) qdie_usage(USAGE);
    if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());
    show(argv[2]);
    if (bflush(buffer_1) == -1) qdie_sys(111, "unable to write output");
    return 0;
  }
  for (k = 0; k < sizeof actions / sizeof *actions; k++)
    if (!strcmp(action, actions[k])) break;
  if (k == sizeof actions / sizeof *actions) qdie_usage(USAGE);
  for (i = 2; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];

    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-a")) {
      opt.all = 1;
      continue;
    }
    if (a[1] == '\0' || a[2] != '\0' || strchr("frdw", a[1]) == NULL || i + 1 >= argc)
      qdie_usage(USAGE);
    switch (a[1]) {
      case 'f': opt.sender = argv[++i]; break;
      case 'r': opt.rcpt = argv[++i]; break;
      case 'd': opt.domain = argv[++i]; break;
      case 'w':
        if (argv[i + 1][scan_ulong(argv[i + 1], &opt.wait)] != '\0' || opt.wait > 86400)
          qdie_usage(USAGE);
        i++;
        break;
    }
  }
  if (i < argc && strchr(argv[argc - 1], '/') != NULL) use_dir(argv[--argc]);
  /* something must say which: ids, a filter, or -a for everything */
  if (i == argc && !opt.all && opt.sender == NULL && opt.rcpt == NULL && opt.domain == NULL)
    qdie_usage(USAGE);
  if (i < argc && (opt.all || opt.sender != NULL || opt.rcpt != NULL || opt.domain != NULL))
    qdie_usage(USAGE);
  if (geteuid() != 0) qdie(100, "only root may change the queue (qqueue(8))");
  if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());

  if (!stralloc_copys(&request, action) || !stralloc_cats(&request, "\n")) qdie_nomem();
  if (i < argc) {
    for (; i < argc; i++) {
      struct queue_env e = {0};
      int fd = find(argv[i], &e, path);

      if (fd == -1) {
        qwarn("no such message in the queue: ", argv[i]);
        unknown = 1;
      } else {
        select_msg(argv[i], &e);
        close(fd);
      }
      queue_env_free(&e);
    }
  } else {
    char dir[QUEUE_PATH_MAX];

    scan_dir("queue/new");
    for (k = 0; k < QUEUE_SPLIT; k++) {
      size_t n = 11 + fmt_ulong(dir + 11, (unsigned long)k);
      memcpy(dir, "queue/mess/", 11);
      dir[n] = '\0';
      scan_dir(dir);
    }
  }
  if (bflush(buffer_1) == -1) qdie_sys(111, "unable to write output");
  if (selected > 0) {
    char num[FMT_ULONG];

    request_write(path);
    num[fmt_ulong(num, (unsigned long)selected)] = '\0';
    if (opt.wait > 0 && request_wait(path) == -1)
      qdie(111, "qsend has not taken the request in time (is it running?): ", path,
           " stays, and is applied when qsend runs");
    qlog(action, ": ", num, selected == 1 ? " message" : " messages",
         opt.wait > 0 ? ", done by qsend" : ", requested");
  }
  return unknown ? 100 : 0;
}
