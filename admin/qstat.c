/*
 * qstat: list the queue like mailq. Run by the admin (root, or a member
 * of the queue group), reads only: queue/new/ID, queue/mess/NN/ID, the
 * state logs queue/info/NN/ID (formats in lib/queue.h) and queue/bad/.
 *
 *   qstat [-s] [-f sender] [-r rcpt] [-i id] [-o age] [-n age] [DIR]
 *
 * One block per message, oldest first (the queue id of queue.h first):
 *   HKZ1Q0B7W83F2K  4096  2026-11-25 10:27:50  2h13m  <alice@example.org>
 *       delivered  <bob@example.net>
 *       deferred   <carol@example.com>  next try 2026-11-25 12:45:00 (in 5m), 3 tries
 *                  connection timed out to mx.example.com
 *       deferred   <dan@example.com>  next try 2026-11-25 12:45:00 (in 5m), 0 tries
 *                  connection timed out to mx.example.com (destination resting ...
 *                  ... until 12:45:00, after 3 failures)   [one line in the output]
 *       failed     <dave@example.com>
 *                  550 5.1.1 user unknown
 *       pending    <eve@example.org>
 * (dan was held back untried while example.com rests: an H record);
 * a damaged file that qsend set aside in queue/bad/ gets one line:
 *   900000042  57    2026-11-25 10:27:50  1h  set aside in queue/bad: damaged, ...
 * then one summary line (and one for queue/bad). -s prints only the
 * counts, "name value" a line ("bad N": the files in queue/bad; "pool N"
 * and "poolbytes N": the files kept in queue/pool and the space they take).
 * Filters (all must match): -f the sender contains the text, -r a
 * recipient contains it (ASCII case ignored), -i the queue id (or the
 * inode number, the file's name in queue/), -o older
 * than age, -n newer than age (age: seconds, or a number with s m h d w).
 * DIR defaults to $QHOME. Exit 0; 100 usage; 111 the queue is unreadable.
 *
 * The copy qsetup puts into DIR/bin of a root instance is setuid root,
 * runnable by the group qmta-admin only (mode 4750): there it lists that
 * instance alone (the one it lies in, from /proc/self/exe; QHOME and a
 * DIR argument are refused) and first becomes qmta-send with its groups,
 * the queue's reader, for good (admin_enter).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "bflush.h"
#include "accounts.h"
#include "ctl.h"
#include "datefmt.h"
#include "qlog.h"
#include "qread.h"
#include "queue.h"
#include "sysacct.h"

#define USAGE "qstat [-s] [-f sender] [-r recipient] [-i id] [-o age] [-n age] [DIR]"
#define INFO_MAX (16UL * 1024 * 1024) /* bytes of one info log we read */
#define ID_COLUMN 16 /* the size starts there: an id is 10 bytes and the inode (4-7 mostly) */

enum rstate { ST_PENDING, ST_DEFERRED, ST_FAILED, ST_DELIVERED };

struct rinfo {
  enum rstate state;
  unsigned long long next;   /* Z: next try */
  unsigned long tries;       /* Z lines seen */
  int warned;                /* W seen */
  int held;                  /* the last record is an H: its destination rests */
  int on_hold;               /* the last S/U record is an S: qqueue hold */
  unsigned long long fails;  /* H: the destination's failures in a row */
  const char *reason;        /* into the info text, up to '\n' */
  size_t reason_len;
};

struct item {
  unsigned long long arrival;
  unsigned long id;
  int bad;                 /* a file in queue/bad */
  stralloc text;
};

static struct {
  int counts_only;
  const char *sender;
  const char *rcpt;
  int have_id;
  unsigned long id;          /* the inode the id names */
  const char *qid;           /* the id as given */
  int have_older;
  unsigned long long older;
  int have_newer;
  unsigned long long newer;
} opt;

static struct {
  unsigned long long messages;
  unsigned long long bytes;
  unsigned long long fresh; /* still in queue/new */
  unsigned long long rcpts;
  unsigned long long by_state[4];
  unsigned long long bad; /* damaged files set aside in queue/bad */
  unsigned long long on_hold; /* pending or deferred recipients on hold (qqueue) */
  unsigned long long pool; /* files kept in queue/pool for reuse */
  unsigned long long pool_bytes; /* the disk space they take */
} total;

static struct item *items;
static size_t item_count;
static size_t item_alloc;
static time_t now;

static void cat(stralloc *sa, const char *s)
{
  if (!stralloc_cats(sa, s)) qdie_nomem();
}

static void catb(stralloc *sa, const char *s, size_t len)
{
  if (!stralloc_catb(sa, s, len)) qdie_nomem();
}

static void catnum(stralloc *sa, unsigned long long n)
{
  char num[FMT_ULONG];
  catb(sa, num, fmt_ulonglong(num, n));
}

/* Pads sa with blanks up to column col of its last line. */
static void pad_to(stralloc *sa, size_t line_start, size_t col)
{
  while (sa->len - line_start < col) catb(sa, " ", 1);
}

static void cat_time(stralloc *sa, unsigned long long t)
{
  char buf[DATETIME_MAX];
  size_t n = datetime_fmt(buf, (time_t)t);

  if (n == 0)
    catnum(sa, t);
  else
    catb(sa, buf, n);
}

/* After the reason of a recipient held back by its resting destination:
 * " (destination resting until 12:45:00, after 3 failures)", the date
 * too when the rest ends on another day. */
static void cat_held(stralloc *sa, const struct rinfo *r)
{
  char until[DATETIME_MAX];
  char today[DATETIME_MAX];
  size_t n = datetime_fmt(until, (time_t)r->next);
  size_t m = datetime_fmt(today, now);

  cat(sa, " (destination resting until ");
  if (n > 8 && m == n && memcmp(until, today, n - 8) == 0)
    catb(sa, until + n - 8, 8); /* the same day: the time alone */
  else
    cat_time(sa, r->next);
  cat(sa, ", after ");
  catnum(sa, r->fails);
  cat(sa, r->fails == 1 ? " failure)" : " failures)");
}

/* A duration as "45s", "5m", "2h13m", "3d4h". */
static void cat_span(stralloc *sa, unsigned long long s)
{
  if (s < 60) {
    catnum(sa, s);
    cat(sa, "s");
  } else if (s < 3600) {
    catnum(sa, s / 60);
    cat(sa, "m");
  } else if (s < 86400) {
    catnum(sa, s / 3600);
    cat(sa, "h");
    if (s % 3600 / 60 != 0) {
      catnum(sa, s % 3600 / 60);
      cat(sa, "m");
    }
  } else {
    catnum(sa, s / 86400);
    cat(sa, "d");
    if (s % 86400 / 3600 != 0) {
      catnum(sa, s % 86400 / 3600);
      cat(sa, "h");
    }
  }
}

/* "90", "90s", "15m", "4h", "5d", "2w" into seconds; 0 if malformed. */
static int scan_age(const char *s, unsigned long long *age)
{
  unsigned long long n = 0;
  unsigned long long unit = 1;

  if (*s < '0' || *s > '9') return 0;
  for (; *s >= '0' && *s <= '9'; s++)
    if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, (unsigned)(*s - '0'), &n))
      return 0;
  switch (*s) {
    case 0: break;
    case 's': unit = 1; s++; break;
    case 'm': unit = 60; s++; break;
    case 'h': unit = 3600; s++; break;
    case 'd': unit = 86400; s++; break;
    case 'w': unit = 604800; s++; break;
    default: return 0;
  }
  if (*s != 0 || __builtin_mul_overflow(n, unit, age)) return 0;
  return 1;
}

static int scan_num(const char *s, size_t len, unsigned long long *n)
{
  size_t i;

  *n = 0;
  if (len == 0) return 0;
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (__builtin_mul_overflow(*n, 10, n) || __builtin_add_overflow(*n, (unsigned)(s[i] - '0'), n))
      return 0;
  }
  return 1;
}

/*
 * Applies info log text to r (count entries): "D<i>", "F<i> <time> <reason>",
 * "Z<i> <next> <time> <reason>", "H<i> <next> <time> <fails> <reason>",
 * "W<i>"; the last D/F/Z/H of an index wins. Z counts a try; H (held back
 * while the destination rests) does not, and never follows a D or F.
 * "S<i> <time>" puts it on hold (qqueue), "U<i> <time>" releases it.
 * Malformed lines and indexes out of range are skipped.
 */
static void apply_info(const stralloc *info, struct rinfo *r, size_t count)
{
  size_t pos = 0;

  while (pos < info->len) {
    const char *line = info->s + pos;
    const char *end = memchr(line, '\n', info->len - pos);
    size_t len = end != NULL ? (size_t)(end - line) : info->len - pos;
    size_t i = 1;
    unsigned long long idx;
    unsigned long long next = 0;
    unsigned long long tried;
    unsigned long long fails = 0;
    char tag;

    pos += len + 1;
    if (end == NULL) break; /* a line being written */
    if (len < 2) continue;
    tag = line[0];
    while (i < len && line[i] >= '0' && line[i] <= '9') i++;
    if (!scan_num(line + 1, i - 1, &idx) || idx >= count) continue;

    if (tag == 'D' || tag == 'W') {
      if (i != len) continue;
      if (tag == 'D') r[idx].state = ST_DELIVERED;
      else r[idx].warned = 1;
      continue;
    }
    if (tag == 'S' || tag == 'U') {
      if (i < len && line[i] == ' ') r[idx].on_hold = tag == 'S';
      continue;
    }
    if (tag != 'F' && tag != 'Z' && tag != 'H') continue;
    if (tag == 'H' && (r[idx].state == ST_DELIVERED || r[idx].state == ST_FAILED)) continue;
    if (i >= len || line[i] != ' ') continue;
    i++;
    if (tag == 'Z' || tag == 'H') {
      size_t j = i;
      while (j < len && line[j] != ' ') j++;
      if (!scan_num(line + i, j - i, &next) || j >= len) continue;
      i = j + 1;
    }
    {
      size_t j = i;
      while (j < len && line[j] != ' ') j++;
      if (!scan_num(line + i, j - i, &tried)) continue;
      i = j < len ? j + 1 : j;
    }
    if (tag == 'H') {
      size_t j = i;
      while (j < len && line[j] != ' ') j++;
      if (!scan_num(line + i, j - i, &fails)) continue;
      i = j < len ? j + 1 : j;
    }
    r[idx].state = tag == 'F' ? ST_FAILED : ST_DEFERRED;
    r[idx].next = next;
    if (tag == 'Z') r[idx].tries++;
    r[idx].held = tag == 'H';
    r[idx].fails = fails;
    r[idx].reason = line + i;
    r[idx].reason_len = len - i;
  }
}

static const char *state_name(enum rstate s)
{
  switch (s) {
    case ST_DEFERRED: return "deferred";
    case ST_FAILED: return "failed";
    case ST_DELIVERED: return "delivered";
    default: return "pending";
  }
}

static struct item *item_new(unsigned long long arrival, unsigned long id);

/* 1 when a filter (-f, -r, -i, -o, -n) was given */
static int filtered(void)
{
  return opt.sender != NULL || opt.rcpt != NULL || opt.have_id || opt.have_older || opt.have_newer;
}

/* The filters of -f, -o, -n, -r on a message. 1 it is listed. */
static int message_wanted(const struct queue_env *e)
{
  size_t i;

  if (opt.sender != NULL && !qread_contains(queue_env_str(e, e->sender), opt.sender)) return 0;
  if (opt.have_older && !(e->arrival + opt.older <= (unsigned long long)now)) return 0;
  if (opt.have_newer && !(e->arrival + opt.newer > (unsigned long long)now)) return 0;
  if (opt.rcpt == NULL) return 1;
  for (i = 0; i < e->rcpt_count; i++)
    if (qread_contains(queue_env_str(e, e->rcpt[i].addr), opt.rcpt)) return 1;
  return 0;
}

static void message_count(const struct queue_env *e, const struct rinfo *r, int fresh)
{
  size_t i;

  total.messages++;
  total.bytes += e->msglen;
  if (fresh) total.fresh++;
  total.rcpts += e->rcpt_count;
  for (i = 0; i < e->rcpt_count; i++) {
    total.by_state[r[i].state]++;
    if (r[i].on_hold && (r[i].state == ST_PENDING || r[i].state == ST_DEFERRED)) total.on_hold++;
  }
}

/* One recipient's line, and its reason's below when it has one. */
static void rcpt_text(stralloc *t, const struct queue_env *e, size_t i, const struct rinfo *ri)
{
  size_t line = t->len;

  cat(t, "    ");
  cat(t, ri->on_hold && (ri->state == ST_PENDING || ri->state == ST_DEFERRED)
         ? "held" : state_name(ri->state));
  pad_to(t, line, 15);
  cat(t, "<");
  cat(t, queue_env_str(e, e->rcpt[i].addr));
  cat(t, ">");
  if (ri->state == ST_DEFERRED) {
    cat(t, "  next try ");
    cat_time(t, ri->next);
    if (ri->next > (unsigned long long)now) {
      cat(t, " (in ");
      cat_span(t, ri->next - (unsigned long long)now);
      cat(t, ")");
    } else {
      cat(t, " (due)");
    }
    cat(t, ", ");
    catnum(t, ri->tries);
    cat(t, ri->tries == 1 ? " try" : " tries");
    if (ri->warned) cat(t, ", sender warned");
  }
  cat(t, "\n");
  if ((ri->state == ST_DEFERRED || ri->state == ST_FAILED) && (ri->reason_len > 0 || ri->held)) {
    cat(t, "               ");
    catb(t, ri->reason, ri->reason_len);
    if (ri->held) cat_held(t, ri);
    cat(t, "\n");
  }
}

/* The message's block: its line, its quarantine, a line per recipient. */
static void message_text(stralloc *t, const struct queue_env *e, const char *qid,
                         const struct rinfo *r, int fresh)
{
  size_t line = t->len;
  size_t i;

  cat(t, qid);
  pad_to(t, line, ID_COLUMN);
  cat(t, " ");
  catnum(t, e->msglen);
  pad_to(t, line, ID_COLUMN + 10);
  cat(t, " ");
  cat_time(t, e->arrival);
  cat(t, "  ");
  cat_span(t, e->arrival < (unsigned long long)now ? (unsigned long long)now - e->arrival : 0);
  cat(t, "  <");
  cat(t, queue_env_str(e, e->sender));
  cat(t, ">");
  if (fresh) cat(t, "  (new)");
  cat(t, "\n");
  if (e->quarantine != (size_t)-1) {
    cat(t, "    quarantine: ");
    cat(t, queue_env_str(e, e->quarantine));
    cat(t, "\n");
  }
  for (i = 0; i < e->rcpt_count; i++) rcpt_text(t, e, i, &r[i]);
}

/* One queue file: filters, counts, and its block of text. */
static void do_message(const char *path, unsigned long id, int fresh)
{
  struct queue_env e = {0};
  stralloc info = {0};
  struct rinfo *r;
  struct item *it;
  size_t i;
  int fd;
  char qid[QUEUE_ID_MAX];

  if (opt.have_id && opt.id != id) return;
  fd = qread_open(path);
  if (fd == -1) {
    if (errno != ENOENT) qwarn_sys("unable to open ", path); /* ENOENT: qsend moved it */
    return;
  }
  if (queue_env_read(&e, fd) == -1) {
    if (errno == EINVAL) qwarn("malformed queue file ", path);
    else qwarn_sys("unable to read ", path);
    close(fd);
    queue_env_free(&e);
    return;
  }
  close(fd);
  queue_env_id(&e, id, qid);
  /* -i with a full id: the inode alone could be a later message's */
  if ((opt.have_id && strlen(opt.qid) > QUEUE_ID_TIMELEN && strcmp(opt.qid, qid) != 0) ||
      !message_wanted(&e)) {
    queue_env_free(&e);
    return;
  }

  r = calloc(e.rcpt_count + 1, sizeof *r);
  if (r == NULL) qdie_nomem();
  if (!fresh && qread_info(id, &info, INFO_MAX) == -1)
    qwarn_sys("unable to read the state log of ", path);
  for (i = 0; i < e.rcpt_count; i++) r[i].on_hold = e.quarantine != (size_t)-1; /* Q: held */
  apply_info(&info, r, e.rcpt_count);
  message_count(&e, r, fresh);

  it = item_new(e.arrival, id);
  if (!opt.counts_only) message_text(&it->text, &e, qid, r, fresh);
  free(r);
  stralloc_free(&info);
  queue_env_free(&e);
}

static int all_digits(const char *s)
{
  if (*s == 0) return 0;
  for (; *s != 0; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static void scan_dir(const char *dir, int fresh)
{
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); /* see qread_open */
  DIR *d = dfd != -1 ? fdopendir(dfd) : NULL;
  struct dirent *de;
  stralloc path = {0};

  if (d == NULL) {
    if (dfd != -1) close(dfd);
    if (errno == ENOENT && !fresh) return;
    qdie_sys(111, "unable to open ", dir);
  }
  while ((errno = 0, de = readdir(d)) != NULL) {
    unsigned long long id;

    if (!all_digits(de->d_name)) continue;
    if (!scan_num(de->d_name, strlen(de->d_name), &id) || id > (unsigned long)-1) continue;
    if (!stralloc_copys(&path, dir) || !stralloc_cats(&path, "/") ||
        !stralloc_cats(&path, de->d_name) || !stralloc_0(&path))
      qdie_nomem();
    do_message(path.s, (unsigned long)id, fresh);
  }
  if (errno != 0) qdie_sys(111, "unable to read ", dir);
  closedir(d);
  stralloc_free(&path);
}

static struct item *item_new(unsigned long long arrival, unsigned long id)
{
  struct item *it;

  if (item_count == item_alloc) {
    size_t n = item_alloc ? 2 * item_alloc : 64;
    struct item *grown = realloc(items, n * sizeof *items);
    if (grown == NULL) qdie_nomem();
    items = grown;
    item_alloc = n;
  }
  it = &items[item_count++];
  it->arrival = arrival;
  it->id = id;
  it->bad = 0;
  it->text.s = NULL;
  it->text.len = it->text.a = 0;
  return it;
}

/*
 * queue/bad: damaged queue files that qsend set aside (named ID, or ID.N
 * when that name was taken). They have no envelope to show: one line
 * each, with the file's size and the time it was last written. Filters
 * by sender or recipient leave them out; -i, -o and -n apply.
 */
static void scan_bad(void)
{
  DIR *d = opendir("queue/bad");
  struct dirent *de;
  stralloc path = {0};

  if (d == NULL) {
    if (errno != ENOENT) qwarn_sys("unable to open queue/bad");
    return;
  }
  while ((errno = 0, de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    size_t n = 0;
    unsigned long long id;
    unsigned long long t;
    struct item *it;
    struct stat st;
    size_t line;

    while (name[n] >= '0' && name[n] <= '9') n++;
    if (n == 0 || (name[n] != '\0' && name[n] != '.')) continue;
    if (!scan_num(name, n, &id) || id > (unsigned long)-1) continue;
    if (!stralloc_copys(&path, "queue/bad/") || !stralloc_cats(&path, name) || !stralloc_0(&path))
      qdie_nomem();
    if (lstat(path.s, &st) == -1) continue;
    t = st.st_mtime > 0 ? (unsigned long long)st.st_mtime : 0;
    if (opt.sender != NULL || opt.rcpt != NULL) continue;
    if (opt.have_id && opt.id != id) continue;
    if (opt.have_older && !(t + opt.older <= (unsigned long long)now)) continue;
    if (opt.have_newer && !(t + opt.newer > (unsigned long long)now)) continue;
    total.bad++;
    if (opt.counts_only) continue;
    it = item_new(t, (unsigned long)id);
    it->bad = 1;
    line = it->text.len;
    cat(&it->text, name);
    pad_to(&it->text, line, ID_COLUMN);
    cat(&it->text, " ");
    catnum(&it->text, (unsigned long long)st.st_size);
    pad_to(&it->text, line, ID_COLUMN + 10);
    cat(&it->text, " ");
    cat_time(&it->text, t);
    cat(&it->text, "  ");
    cat_span(&it->text, t < (unsigned long long)now ? (unsigned long long)now - t : 0);
    cat(&it->text, "  set aside in queue/bad: damaged, never delivered\n");
  }
  if (errno != 0) qwarn_sys("unable to read queue/bad");
  closedir(d);
  stralloc_free(&path);
}

/* queue/pool: how many files it keeps, and their space (for -s) */
static void count_pool(void)
{
  int dfd = open("queue/pool", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = dfd != -1 ? fdopendir(dfd) : NULL;
  struct dirent *de;

  if (d == NULL) {
    if (dfd != -1) close(dfd);
    return;
  }
  while ((de = readdir(d)) != NULL) {
    struct stat st;

    if (de->d_name[0] == '.') continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
      continue;
    total.pool++;
    total.pool_bytes += (unsigned long long)st.st_blocks * 512ULL;
  }
  closedir(d);
}

static int cmp_item(const void *a, const void *b)
{
  const struct item *x = a;
  const struct item *y = b;

  if (x->arrival != y->arrival) return x->arrival < y->arrival ? -1 : 1;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return 0;
}

static void out(const char *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) == -1) qdie_sys(111, "unable to write output");
}

static void outs(const char *s)
{
  out(s, strlen(s));
}

static void outnum(unsigned long long n)
{
  char num[FMT_ULONG];
  out(num, fmt_ulonglong(num, n));
}

static void print_counts(void)
{
  outs("messages ");
  outnum(total.messages);
  outs("\nbytes ");
  outnum(total.bytes);
  outs("\nnew ");
  outnum(total.fresh);
  outs("\nrecipients ");
  outnum(total.rcpts);
  outs("\npending ");
  outnum(total.by_state[ST_PENDING]);
  outs("\ndeferred ");
  outnum(total.by_state[ST_DEFERRED]);
  outs("\nfailed ");
  outnum(total.by_state[ST_FAILED]);
  outs("\ndelivered ");
  outnum(total.by_state[ST_DELIVERED]);
  outs("\nheld ");
  outnum(total.on_hold);
  outs("\nbad ");
  outnum(total.bad);
  outs("\npool ");
  outnum(total.pool);
  outs("\npoolbytes ");
  outnum(total.pool_bytes);
  outs("\n");
}

static void parse_args(int argc, char **argv, const char **dir)
{
  int i;

  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *val;
    unsigned long long n;

    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-s")) {
      opt.counts_only = 1;
      continue;
    }
    if (a[1] == 0 || a[2] != 0 || strchr("frion", a[1]) == NULL) qdie_usage(USAGE);
    if (i + 1 >= argc) qdie_usage(USAGE);
    val = argv[++i];
    switch (a[1]) {
      case 'f': opt.sender = val; break;
      case 'r': opt.rcpt = val; break;
      case 'i':
        if (queue_id_scan(val, &n) == -1 || n > (unsigned long)-1) qdie_usage(USAGE);
        opt.have_id = 1;
        opt.id = (unsigned long)n;
        opt.qid = val;
        break;
      case 'o':
        if (!scan_age(val, &opt.older)) qdie_usage(USAGE);
        opt.have_older = 1;
        break;
      case 'n':
        if (!scan_age(val, &opt.newer)) qdie_usage(USAGE);
        opt.have_newer = 1;
        break;
    }
  }
  if (i < argc) *dir = argv[i++];
  if (i < argc) qdie_usage(USAGE);
}

/* Run set-id (the qmta-admin copy): enters the instance the program lies
 * in (DIR/bin/qstat) and becomes qmta-send for good, before anything
 * else is read. Returns 1 if so (the caller must not chdir again). */
static int admin_enter(const char *dir)
{
  static char exe[4096];
  struct sysacct send;
  ssize_t n;
  char *slash;

  if (getauxval(AT_SECURE) == 0) return 0;
  if (dir != NULL || getenv("QHOME") != NULL)
    qdie(100, "this copy lists its own instance only: no DIR, no QHOME");
  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0 || (size_t)n >= sizeof exe - 1) qdie_sys(111, "unable to find my instance");
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  if (slash == NULL || slash - exe < 4 || memcmp(slash - 4, "/bin", 4) != 0)
    qdie(111, "unable to find my instance: not in DIR/bin: ", exe);
  slash[-4] = '\0';
  if (chdir(exe[0] != '\0' ? exe : "/") == -1) qdie_sys(111, "unable to enter ", exe);
  if (sysacct_find(&send, ACCT_SEND) != 1) qdie_sys(111, "unable to find the account " ACCT_SEND);
  if (sysacct_become(&send) == -1 || setuid(0) != -1)
    qdie_sys(111, "unable to become " ACCT_SEND);
  return 1;
}

int main(int argc, char **argv)
{
  const char *dir = NULL;
  char sub[QUEUE_PATH_MAX];
  size_t i;

  qlog_prog = "qstat";
  parse_args(argc, argv, &dir);
  if (admin_enter(dir)) {
    /* in the instance, as its reader */
  } else if (dir != NULL ? chdir(dir) == -1 : qhome_chdir() == -1)
    qdie_sys(111, "unable to enter ", dir != NULL ? dir : qhome());
  now = time(NULL);

  scan_dir("queue/new", 1);
  for (i = 0; i < QUEUE_SPLIT; i++) {
    size_t n = 0;
    memcpy(sub, "queue/mess/", 11);
    n = 11 + fmt_ulonglong(sub + 11, (unsigned long long)i);
    sub[n] = 0;
    scan_dir(sub, 0);
  }
  scan_bad();

  if (opt.counts_only) {
    count_pool();
    print_counts();
  } else {
    if (item_count > 1) qsort(items, item_count, sizeof *items, cmp_item);
    for (i = 0; i < item_count; i++) {
      /* the same id twice: qsend moved it from new/ to mess/ while we read */
      if (i > 0 && items[i].id == items[i - 1].id && !items[i].bad && !items[i - 1].bad) continue;
      out(items[i].text.s, items[i].text.len);
    }
    if (total.messages == 0 && filtered()) {
      outs("no message in the queue matches\n");
    } else if (total.messages == 0) {
      outs("queue is empty\n");
    } else {
      outnum(total.messages);
      outs(total.messages == 1 ? " message, " : " messages, ");
      outnum(total.bytes);
      outs(" bytes, ");
      outnum(total.rcpts);
      outs(total.rcpts == 1 ? " recipient: " : " recipients: ");
      outnum(total.by_state[ST_PENDING]);
      outs(" pending, ");
      outnum(total.by_state[ST_DEFERRED]);
      outs(" deferred, ");
      outnum(total.by_state[ST_FAILED]);
      outs(" failed, ");
      outnum(total.by_state[ST_DELIVERED]);
      outs(" delivered");
      if (total.on_hold > 0) {
        outs(" (");
        outnum(total.on_hold);
        outs(" of them held)");
      }
      outs("\n");
    }
    if (total.bad > 0) {
      outnum(total.bad);
      outs(total.bad == 1 ? " damaged file" : " damaged files");
      outs(" set aside in queue/bad (see qstat(8))\n");
    }
  }
  if (bflush(buffer_1) == -1) qdie_sys(111, "unable to write output");
  for (i = 0; i < item_count; i++) stralloc_free(&items[i].text);
  free(items);
  return 0;
}
