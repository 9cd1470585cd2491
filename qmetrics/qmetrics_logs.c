/*
 * qmetrics_logs: counting from the logs. Every directory log/NAME/ is
 * s6-log's: "current", and archives "@<TAI64N>.s" made by renaming
 * "current" when it rotates (so an archive keeps the inode it had as
 * "current", and archive names sort in time order). For each directory
 * the state keeps the inode of "current" and how far it was read, and the
 * newest archive read. A pass reads the archives newer than that one (the
 * one with the kept inode from the kept offset: the rest of the file that
 * was "current"; the others whole), then "current" (from the kept offset
 * if it is still the same file, else from its start) up to its last
 * complete line. No line is counted twice, none is lost while s6-log
 * keeps the archive, and no counter goes down across a rotation.
 *
 * Lines counted (after s6-log's timestamp, TAI64N "@4000..." and/or ISO
 * "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"); NAME is the listener for the first two:
 *   qsmtpd: accept|reject|session ...; auth ... result=ok|bad|temp;
 *           starttls ... result=ok|failed|unavailable; tls ... result=failed
 *   qlisten: deny ...; refuse ... reason=perip|full; evict ...
 *   qsend: new ID ... from <S> ...
 *   qsend: delivery ID.IDX local|remote RCPT ok|deferred|failed: TEXT
 * A delivery counts for the listener that accepted its message: the
 * accept line's id= (qsmtpd wrote the queue file itself) gives a queue id
 * its listener, kept in a table of ORIGINS slots by hash (a collision
 * forgets the older one, "end ID" frees it; not kept in the state), so
 * the listeners' logs are read before qsend's in each pass. Messages of
 * no known listener (injected here, reports, a QINJECT filter, accepted
 * before qmetrics started with no state) count as listener "none".
 * A local delivery whose TEXT holds " said: " went to an LMTP server
 * (qlspawn_lmtp: "unix:/path said: 250 ..."): class lmtp. The latency of
 * a delivery is its line's time minus the time in its queue id (queue.h:
 * the microsecond queue_open took the file, i.e. arrival).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logline.h"
#include "logstamp.h"
#include "qlog.h"
#include "qmetrics.h"
#include "queue.h"

#define LOG_LINE_MAX 4096   /* longer than any qlog line (QLOG_MAX) and its timestamp */
#define ARCHIVES_MAX 1024   /* archives looked at in one directory per pass */
#define ORIGINS 65536       /* queue ids whose listener is known: a power of 2 */
#define QSEND_LOG "qsend"   /* the log directory read last */

/* queue id -> the logpos index of its listener's log, direct-mapped */
struct origin {
  unsigned long long key; /* FNV-1a of the id, never 0; 0: empty */
  size_t who;
};
static struct origin origins[ORIGINS];

static int starts(const char *s, size_t len, const char *w)
{
  size_t n = strlen(w);
  return len >= n && !memcmp(s, w, n);
}

/* The arrival time in a queue id (queue.h: 10 base-36 digits of
 * microseconds, then the inode); 0 for an id without one */
static unsigned long long id_time(const char *s, size_t len)
{
  unsigned long long us = 0;
  size_t i;

  if (len <= QUEUE_ID_TIMELEN) return 0;
  for (i = 0; i < QUEUE_ID_TIMELEN; i++) {
    char c = s[i];
    unsigned long long v = c >= '0' && c <= '9' ? (unsigned long long)(c - '0')
                                                 : (unsigned long long)(c - 'A' + 10);
    us = us * 36 + v;
  }
  return us;
}

static unsigned long long id_key(const char *s, size_t len)
{
  unsigned long long h = 0xcbf29ce484222325ULL;
  size_t i;

  for (i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h != 0 ? h : 1;
}

/* The queue id at s (0-9 A-Z, queue.h): its length, 0 if none */
static size_t id_span(const char *s, size_t len)
{
  size_t i = 0;

  while (i < len && i < QUEUE_ID_MAX - 1 &&
         ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
    i++;
  return i;
}

/* accept ... size=N id=ID to=...: the id's listener is the log's (the
 * first " id=" that is followed by an id and " to=": the sender before
 * it is the client's, so this is a best guess, as is the table) */
static void origin_put(const struct logpos *lp, const char *s, size_t len)
{
  const char *p = s;

  while ((p = memmem(p, len - (size_t)(p - s), " id=", 4)) != NULL) {
    size_t n;

    p += 4;
    n = id_span(p, len - (size_t)(p - s));
    if (n > 0 && starts(p + n, len - (size_t)(p + n - s), " to=")) {
      unsigned long long key = id_key(p, n);
      struct origin *o = &origins[key & (ORIGINS - 1)];

      o->key = key;
      o->who = (size_t)(lp - logpos);
      return;
    }
  }
}

/* The listener of the message with id s (len): its name, or "none" */
static const char *origin_get(const char *s, size_t len, int forget)
{
  unsigned long long key = id_key(s, len);
  struct origin *o = &origins[key & (ORIGINS - 1)];
  const char *name = "none";

  if (o->key == key && o->who < logpos_count) {
    name = logpos[o->who].name;
    if (forget) o->key = 0;
  }
  return name;
}

/* The word after key (e.g. " result=") in s, copied into dest (size),
 * only [a-z0-9_-]; first: the first occurrence, else the last. 1 found. */
static int key_word(const char *s, size_t len, const char *key, int first, char *dest,
                    size_t size)
{
  size_t klen = strlen(key);
  const char *at = NULL;
  const char *p = s;
  size_t n = 0;

  while ((p = memmem(p, len - (size_t)(p - s), key, klen)) != NULL) {
    at = p;
    p += klen;
    if (first) break;
  }
  if (at == NULL) return 0;
  at += klen;
  while (at + n < s + len && n + 1 < size &&
         ((at[n] >= 'a' && at[n] <= 'z') || (at[n] >= '0' && at[n] <= '9') || at[n] == '_' ||
          at[n] == '-'))
    n++;
  if (n == 0 || (at + n < s + len && at[n] != ' ')) return 0;
  memcpy(dest, at, n);
  dest[n] = '\0';
  return 1;
}

/* labels: name="value",... from pairs (NULL-ended); -1 too long */
static int labels_fmt(char *dest, size_t size, const char *const *pairs)
{
  size_t n = 0;
  size_t i;

  dest[0] = '\0';
  for (i = 0; pairs[i] != NULL; i += 2) {
    size_t need = strlen(pairs[i]) + strlen(pairs[i + 1]) + 4;
    if (n + need >= size) return -1;
    if (n > 0) dest[n++] = ',';
    n += (size_t)(stpcpy(dest + n, pairs[i]) - (dest + n));
    dest[n++] = '=';
    dest[n++] = '"';
    n += (size_t)(stpcpy(dest + n, pairs[i + 1]) - (dest + n));
    dest[n++] = '"';
    dest[n] = '\0';
  }
  return 0;
}

static void count(enum family f, const char *const *pairs)
{
  char labels[LABELS_MAX];

  if (labels_fmt(labels, sizeof labels, pairs) == 0) counter_add(f, labels, 1);
}

static void line_qsmtpd(const struct logpos *lp, const char *s, size_t len)
{
  char result[24];
  const char *pairs[7] = {"listener", lp->name, NULL, NULL, NULL, NULL, NULL};

  if (starts(s, len, "accept ")) {
    count(F_RECEIVED, pairs);
    origin_put(lp, s, len);
  } else if (starts(s, len, "reject ")) {
    count(F_REJECTED, pairs);
  } else if (starts(s, len, "session ")) {
    count(F_SESSIONS, pairs);
  } else if (starts(s, len, "auth ")) {
    /* the user name comes first and is the client's: the last result= */
    if (!key_word(s, len, " result=", 0, result, sizeof result)) return;
    pairs[2] = "result";
    pairs[3] = result;
    count(F_AUTH, pairs);
  } else if (starts(s, len, "starttls ") || starts(s, len, "tls ")) {
    /* the reason comes after result= */
    if (!key_word(s, len, " result=", 1, result, sizeof result)) return;
    pairs[2] = "mode";
    pairs[3] = s[0] == 's' ? "starttls" : "implicit";
    pairs[4] = "result";
    pairs[5] = result;
    count(F_TLS, pairs);
  }
}

static void line_qlisten(const char *name, const char *s, size_t len)
{
  char reason[24];
  const char *pairs[5] = {"listener", name, "reason", NULL, NULL};

  if (starts(s, len, "deny ")) {
    pairs[3] = "deny";
  } else if (starts(s, len, "evict ")) {
    pairs[3] = "evict";
  } else if (starts(s, len, "refuse ")) {
    if (!key_word(s, len, " reason=", 1, reason, sizeof reason)) return;
    pairs[3] = reason;
  } else {
    return;
  }
  count(F_REFUSED, pairs);
}

static void line_delivery(const char *s, size_t len, unsigned long long t_us)
{
  static const char *const results[3] = {"delivered", "deferred", "bounced"};
  const char *pairs[7] = {"listener", NULL, "class", NULL, "result", NULL, NULL};
  struct logline_delivery d;
  enum dclass c;

  if (logline_delivery(s, len, &d) != 1) return;
  pairs[1] = origin_get(s, d.id_len, 0);
  c = d.remote ? C_REMOTE : C_LOCAL;
  if (c == C_LOCAL && memmem(s + d.text, len - d.text, " said: ", 7) != NULL) c = C_LMTP;
  pairs[3] = class_names[c];
  pairs[5] = results[d.status];
  count(F_DELIVERIES, pairs);
  if (d.status == LOGLINE_OK && t_us != 0) {
    unsigned long long arrival = id_time(s, d.id_len);
    if (arrival != 0) latency_add(c, t_us > arrival ? t_us - arrival : 0);
  }
}

static void line_qsend(const char *s, size_t len, unsigned long long t_us)
{
  if (starts(s, len, "new ")) {
    const char *from = memmem(s, len, " from <", 7);
    const char *pairs[3] = {"sender", "other", NULL};

    if (from == NULL) return;
    from += 7;
    if ((size_t)(s + len - from) >= 1 && from[0] == '>') pairs[1] = "null";
    if ((size_t)(s + len - from) >= 5 && !memcmp(from, "#@[]>", 5)) pairs[1] = "null";
    count(F_QUEUED, pairs);
  } else if (starts(s, len, "delivery ")) {
    line_delivery(s + 9, len - 9, t_us);
  } else if (starts(s, len, "end ")) {
    origin_get(s + 4, id_span(s + 4, len - 4), 1);
  }
}

static void logs_line(const struct logpos *lp, const char *s, size_t len)
{
  unsigned long long t_us = 0;
  size_t skip;

  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
  counter_add(F_LINES, "", 1);
  skip = logstamp_scan(s, len, &t_us);
  s += skip;
  len -= skip;
  if (starts(s, len, "qsmtpd: ")) line_qsmtpd(lp, s + 8, len - 8);
  else if (starts(s, len, "qlisten: ")) line_qlisten(lp->name, s + 9, len - 9);
  else if (starts(s, len, "qsend: ")) line_qsend(s + 7, len - 7, t_us);
}

/*
 * Reads path and counts its lines: from offset if it is the file with
 * inode want (read before), else from its start; whole: the file is done
 * (an archive), so a last line without '\n' counts too. *inode: the
 * file's (0 if it cannot be opened). Returns the offset after the last
 * line counted.
 */
static unsigned long long file_read(const struct logpos *lp, const char *path, unsigned long long want,
                                    unsigned long long offset, int whole,
                                    unsigned long long *inode)
{
  static char chunk[65536];
  static char line[LOG_LINE_MAX];
  size_t line_len = 0;
  int too_long = 0;
  unsigned long long pos = offset;
  unsigned long long done = offset;
  struct stat st;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  *inode = 0;
  if (fd == -1) {
    if (errno != ENOENT) qwarn_sys("unable to open ", path);
    return 0;
  }
  if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
    close(fd);
    return 0;
  }
  *inode = (unsigned long long)st.st_ino;
  /* another file, or shorter than what we read of it: from its start */
  if (*inode != want || (unsigned long long)st.st_size < offset) pos = done = offset = 0;
  if (lseek(fd, (off_t)offset, SEEK_SET) == -1) {
    close(fd);
    return offset;
  }
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    ssize_t i;

    if (r == -1 && errno == EINTR) continue;
    if (r == -1) {
      qwarn_sys("unable to read ", path);
      break;
    }
    if (r == 0) break;
    for (i = 0; i < r; i++) {
      char c = chunk[i];

      pos++;
      if (c == '\n') {
        if (!too_long) logs_line(lp, line, line_len);
        line_len = 0;
        too_long = 0;
        done = pos;
      } else if (line_len < sizeof line) {
        line[line_len++] = c;
      } else {
        too_long = 1;
      }
    }
  }
  if (whole && pos > done) {
    if (!too_long) logs_line(lp, line, line_len);
    done = pos;
  }
  close(fd);
  return done;
}

static int cmp_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int name_ok(const char *s)
{
  size_t n = 0;

  if (s[0] == '.' || s[0] == '\0') return 0;
  for (; s[n] != '\0'; n++)
    if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
          (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-' || s[n] == '.'))
      return 0;
  return n <= NAME_MAX_LEN;
}

/* log/NAME/ from where the last pass left it */
static void dir_update(struct logpos *lp)
{
  char dir[NAME_MAX_LEN + 8];
  char path[NAME_MAX_LEN + 8 + 72];
  char *names[ARCHIVES_MAX];
  size_t count_names = 0;
  struct dirent *de;
  DIR *d;
  size_t i;
  unsigned long long inode = 0;
  unsigned long long offset;

  memcpy(dir, "log/", 4);
  strcpy(dir + 4, lp->name);
  d = opendir(dir);
  if (d == NULL) return;
  while ((de = readdir(d)) != NULL && count_names < ARCHIVES_MAX) {
    size_t n = strlen(de->d_name);

    if (de->d_name[0] != '@' || n < 3 || n >= sizeof lp->archive ||
        strcmp(de->d_name + n - 2, ".s") != 0 || strcmp(de->d_name, lp->archive) <= 0)
      continue;
    names[count_names] = strdup(de->d_name);
    if (names[count_names] == NULL) qdie_nomem();
    count_names++;
  }
  closedir(d);
  if (count_names > 1) qsort(names, count_names, sizeof names[0], cmp_name);

  for (i = 0; i < count_names; i++) {
    strcpy(path, dir);
    strcat(path, "/");
    strcat(path, names[i]);
    /* the one that was "current": its rest */
    file_read(lp, path, lp->inode, lp->offset, 1, &inode);
    if (inode != 0 && inode == lp->inode) {
      lp->inode = 0;
      lp->offset = 0;
    }
    strcpy(lp->archive, names[i]);
    free(names[i]);
  }

  strcpy(path, dir);
  strcat(path, "/current");
  offset = file_read(lp, path, lp->inode, lp->offset, 0, &inode);
  if (inode == 0) return;
  lp->inode = inode;
  lp->offset = offset;
}

/* The listeners' logs first, then qsend's (see origin_put) */
void logs_update(void)
{
  DIR *d = opendir("log");
  struct dirent *de;
  struct logpos *qsend = NULL;

  if (d == NULL) {
    qwarn_sys("unable to open log");
    return;
  }
  while ((de = readdir(d)) != NULL) {
    struct logpos *lp;

    if (!name_ok(de->d_name)) continue;
    lp = logpos_get(de->d_name);
    if (lp == NULL) continue;
    if (!strcmp(de->d_name, QSEND_LOG)) qsend = lp;
    else dir_update(lp);
  }
  closedir(d);
  if (qsend != NULL) dir_update(qsend);
}
