/*
 * qstats: mail statistics from the logs, like sendmail's mailstats.
 * Run by the admin; reads DIR/log/NAME/ (s6-log's archives "@*.s" in
 * name order, then "current") for every NAME, and never writes.
 *
 *   qstats [-H] [-n age] [-o age] [DIR]
 *
 * Lines it counts (anything else is skipped; an s6-log timestamp in
 * front, TAI64N "@4000..." or ISO "YYYY-MM-DD HH:MM:SS.n", is read first):
 *   qsmtpd: accept ... size=N ...        a message accepted by SMTP
 *   qsmtpd: reject ...                   a connection, command or message refused
 *   qsmtpd: discard ... size=N ...       a message accepted and dropped (DISCARD)
 *     an accept or reject of a message may end in the verdicts of mail
 *     authentication, " spf=W dkim=W dmarc=W" (qdkimd -v) or
 *     " dkimsign=yes|none|..." (signed or not): counted per method and word
 *   qinject: message ID verified|refused: spf=W dkim=W dmarc=W
 *                                        the verdicts behind a QINJECT chain
 *   qsend: new ID from <S> size N ...    a message taken into the queue
 *   qsend: delivery ID.IDX local|remote RCPT ok|deferred|failed: TEXT
 * Messages from "local" are those queued by other means than SMTP
 * (sendmail, qinject), counted as queued minus accepted by SMTP minus the
 * bounces qsend made (null sender) minus the copies that aliases and
 * .forward files made (parent=), so their bytes are approximate.
 * Bytes to a mailer are the size of the message (from its "new" line)
 * for each successful delivery.
 * -n age: only lines newer than age; -o age: only lines older than age
 * (age: seconds, or a number with s m h d w); lines without a timestamp
 * are counted only without these options. DIR defaults to $QHOME.
 * -H (--html): the same as one self-contained HTML page, with a chart
 * of the messages queued and delivered by hour of the day (inline SVG,
 * nothing fetched from elsewhere).
 * This file reads the lines into the totals (qstats.h); the report, text
 * or HTML, is qstats_report.c.
 * Exit 0; 100 usage; 111 the logs are unreadable.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <stralloc.h>

#include "bflush.h"
#include "ctl.h"
#include "line.h"
#include "logline.h"
#include "logstamp.h"
#include "qlog.h"
#include "qstats.h"
#include "queue.h"

#define USAGE "qstats [-H] [-n age] [-o age] [DIR]"
#define LINE_MAX_BYTES 4096 /* longer than any qlog line (QLOG_MAX) plus the timestamp */

struct qstats_totals totals;

static int have_newer;
static unsigned long long newer;
static int have_older;
static unsigned long long older;
static unsigned long long now;

/* queue id -> message size, from the "new" lines: an open hash table */
struct size_slot {
  unsigned long long id; /* id + 1; 0: empty */
  unsigned long long size;
};
static struct size_slot *sizes;
static size_t sizes_cap;
static size_t sizes_used;

static size_t slot_of(unsigned long long id, size_t cap)
{
  return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static void size_put(unsigned long long id, unsigned long long size)
{
  size_t i;

  if (2 * (sizes_used + 1) > sizes_cap) {
    size_t cap = sizes_cap ? 2 * sizes_cap : 1024;
    struct size_slot *grown = calloc(cap, sizeof *grown);
    size_t k;

    if (grown == NULL) qdie_nomem();
    for (k = 0; k < sizes_cap; k++) {
      if (sizes[k].id == 0) continue;
      for (i = slot_of(sizes[k].id, cap); grown[i].id != 0; i = (i + 1) & (cap - 1)) {}
      grown[i] = sizes[k];
    }
    free(sizes);
    sizes = grown;
    sizes_cap = cap;
  }
  for (i = slot_of(id + 1, sizes_cap); sizes[i].id != 0; i = (i + 1) & (sizes_cap - 1))
    if (sizes[i].id == id + 1) {
      sizes[i].size = size;
      return;
    }
  sizes[i].id = id + 1;
  sizes[i].size = size;
  sizes_used++;
}

static unsigned long long size_get(unsigned long long id)
{
  size_t i;

  if (sizes_cap == 0) return 0;
  for (i = slot_of(id + 1, sizes_cap); sizes[i].id != 0; i = (i + 1) & (sizes_cap - 1))
    if (sizes[i].id == id + 1) return sizes[i].size;
  return 0;
}

/* Decimal digits at s (at most len bytes) into *n; returns the digits used. */
static size_t scan_dec(const char *s, size_t len, unsigned long long *n)
{
  size_t i = 0;

  *n = 0;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (__builtin_mul_overflow(*n, 10, n) || __builtin_add_overflow(*n, (unsigned)(s[i] - '0'), n))
      return 0;
    i++;
  }
  return i;
}

static int scan_age(const char *s, unsigned long long *age)
{
  unsigned long long n;
  unsigned long long unit = 1;
  size_t len = strlen(s);
  size_t i = scan_dec(s, len, &n);

  if (i == 0) return 0;
  if (i < len) {
    switch (s[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 604800; break;
      default: return 0;
    }
    if (i + 1 != len) return 0;
  }
  return !__builtin_mul_overflow(n, unit, age);
}

/*
 * Strips s6-log's timestamps from the front of the line: "@" + 24 hex
 * digits (TAI64N) and/or "YYYY-MM-DD HH:MM:SS.nnnnnnnnn" (local time).
 * *t = the time, 0 if there was none. Returns the bytes to skip.
 */
static size_t strip_stamp(const char *s, size_t len, unsigned long long *t)
{
  unsigned long long us;
  size_t skip = logstamp_scan(s, len, &us);

  *t = us / 1000000ULL;
  return skip;
}

/* The value of " key=" in s (len bytes) as a number; 1 found, 0 not. */
static int key_num(const char *s, size_t len, const char *key, unsigned long long *n)
{
  size_t klen = strlen(key);
  size_t i;

  for (i = 0; i + klen < len; i++) {
    if ((i == 0 || s[i - 1] == ' ') && !memcmp(s + i, key, klen))
      return scan_dec(s + i + klen, len - i - klen, n) > 0;
  }
  return 0;
}

/* s starts with word (len bytes available)? */
int qstats_starts(const char *s, size_t len, const char *word)
{
  size_t n = strlen(word);
  return len >= n && !memcmp(s, word, n);
}

const char *const qstats_auth_methods[AUTH_METHODS] = {"spf", "dkim", "dmarc", "dkimsign"};
const char *const qstats_auth_words[AUTH_WORDS] = {"pass", "fail", "softfail", "neutral",
                                                   "none", "policy", "temperror", "permerror",
                                                   "unavailable", "yes"};

/* " method=word" anywhere in the line: counted */
static void auth_verdicts(const char *s, size_t len)
{
  for (size_t m = 0; m < AUTH_METHODS; m++) {
    size_t klen = strlen(qstats_auth_methods[m]);

    for (size_t i = 1; i + klen + 1 < len; i++) {
      size_t wlen = 0;

      if (s[i - 1] != ' ' || memcmp(s + i, qstats_auth_methods[m], klen) != 0 ||
          s[i + klen] != '=')
        continue;
      while (i + klen + 1 + wlen < len && s[i + klen + 1 + wlen] != ' ') wlen++;
      for (size_t w = 0; w < AUTH_WORDS; w++)
        if (strlen(qstats_auth_words[w]) == wlen &&
            !memcmp(s + i + klen + 1, qstats_auth_words[w], wlen)) {
          totals.auth_counts[m][w]++;
          totals.auth_seen = 1;
        }
      break;
    }
  }
}

/* "qsmtpd: accept|reject|discard ..." */
static void line_qsmtpd(const char *s, size_t len)
{
  unsigned long long size = 0;

  if (qstats_starts(s, len, "accept ") || qstats_starts(s, len, "reject ")) auth_verdicts(s, len);

  if (qstats_starts(s, len, "accept ")) {
    key_num(s, len, "size=", &size);
    totals.stats[M_ESMTP].msgs_from++;
    totals.stats[M_ESMTP].bytes_from += size;
  } else if (qstats_starts(s, len, "reject ")) {
    totals.stats[M_ESMTP].rejected++;
  } else if (qstats_starts(s, len, "discard ")) {
    totals.stats[M_ESMTP].discarded++;
  } else {
    return;
  }
  totals.lines_counted++;
}

/* "qinject: message ID verified|refused: spf=W dkim=W dmarc=W ...": the
 * verdicts of a message behind a QINJECT filter chain (qinject(8)) */
static void line_qinject(const char *s, size_t len)
{
  const char *sp = memchr(s, ' ', len);
  size_t rest;

  if (sp == NULL) return;
  rest = len - (size_t)(sp + 1 - s);
  if (qstats_starts(sp + 1, rest, "verified: ") || qstats_starts(sp + 1, rest, "refused: "))
    auth_verdicts(s, len);
}

/* A queue id (queue.h: digits and capitals; an old one is decimal) at s:
 * its length, 0 if none; *h its 64-bit FNV-1a hash, the key of sizes. */
static size_t scan_qid(const char *s, size_t len, unsigned long long *h)
{
  size_t i = 0;

  *h = 0xcbf29ce484222325ULL;
  while (i < len && i < QUEUE_ID_MAX &&
         ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z'))) {
    *h = (*h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    i++;
  }
  if (*h == ~0ULL) *h = 0; /* the table keeps id + 1 */
  return i;
}

/* "qsend: new ID from <S> size N ..." and "qsend: delivery ID.IDX ..." */
static void line_qsend(const char *s, size_t len)
{
  unsigned long long id;
  unsigned long long size = 0;
  size_t i;

  if (qstats_starts(s, len, "new ")) {
    const char *from;
    const char *p;

    i = 4 + scan_qid(s + 4, len - 4, &id);
    if (i == 4 || i >= len || s[i] != ' ') return;
    from = memmem(s + i, len - i, " from <", 7);
    p = memmem(s + i, len - i, " size ", 6);
    if (p != NULL) scan_dec(p + 6, len - (size_t)(p + 6 - s), &size);
    size_put(id, size);
    totals.queued_msgs++;
    totals.queued_bytes += size;
    if (from != NULL && (from[7] == '>' || !memcmp(from + 7, "#@[]>", 5))) { /* a bounce */
      totals.bounce_msgs++;
      totals.bounce_bytes += size;
    } else if (memmem(s + i, (size_t)(from != NULL ? from - (s + i) : 0), " parent=", 8) != NULL) {
      /* the copy an alias or a .forward made of a message counted already */
      totals.copy_msgs++;
      totals.copy_bytes += size;
    }
    totals.lines_counted++;
    return;
  }
  if (qstats_starts(s, len, "delivery ")) {
    struct logline_delivery d;
    int which;
    int mailer;

    if (logline_delivery(s + 9, len - 9, &d) != 1) return;
    scan_qid(s + 9, d.id_len, &id);
    mailer = d.remote ? M_ESMTP : M_LOCAL;
    which = (int)d.status;
    switch (which) {
      case 0:
        totals.stats[mailer].msgs_to++;
        totals.stats[mailer].bytes_to += size_get(id);
        break;
      case 1:
        totals.stats[mailer].deferred++;
        /* qremote's reasons name the outbound TLS policy that refused a host */
        if (memmem(s + 9 + d.text, len - 9 - d.text, "(tls policy ", 12) != NULL)
          totals.tls_deferred++;
        break;
      case 2: totals.stats[mailer].failed++; break;
      default: return;
    }
    totals.lines_counted++;
  }
}

/* -H: called after each counted line: what the line added to the totals
 * goes to the hour of its time (lines without a time to none). */
static void hour_count(unsigned long long t)
{
  static unsigned long long seen_in;
  static unsigned long long seen_out;
  unsigned long long now_in = totals.queued_msgs;
  unsigned long long now_out = totals.stats[M_LOCAL].msgs_to + totals.stats[M_ESMTP].msgs_to;
  time_t tt = (time_t)t;
  struct tm tm;

  if (totals.by_hour && t != 0 && localtime_r(&tt, &tm) != NULL && tm.tm_hour >= 0 &&
      tm.tm_hour < 24) {
    totals.hour_in[tm.tm_hour] += now_in - seen_in;
    totals.hour_out[tm.tm_hour] += now_out - seen_out;
  }
  seen_in = now_in;
  seen_out = now_out;
}

static void do_line(const char *line, size_t len)
{
  unsigned long long t;
  size_t skip;

  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  skip = strip_stamp(line, len, &t);
  line += skip;
  len -= skip;
  if (have_newer || have_older) {
    if (t == 0) return;
    if (have_newer && t + newer <= now) return;
    if (have_older && t + older > now) return;
  }
  if (qstats_starts(line, len, "qsmtpd: ")) line_qsmtpd(line + 8, len - 8);
  else if (qstats_starts(line, len, "qinject: message ")) line_qinject(line + 17, len - 17);
  else if (qstats_starts(line, len, "qsend: ")) line_qsend(line + 7, len - 7);
  else return;
  if (t != 0) {
    if (totals.first_time == 0 || t < totals.first_time) totals.first_time = t;
    if (t > totals.last_time) totals.last_time = t;
  }
  hour_count(t);
}

static ssize_t read_op(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  do r = read(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

static void do_file(const char *fn)
{
  static char space[65536];
  static char line[LINE_MAX_BYTES];
  buffer b;
  size_t len;
  int fd = open(fn, O_RDONLY | O_CLOEXEC);

  if (fd == -1) {
    if (errno != ENOENT) qwarn_sys("unable to open ", fn);
    return;
  }
  buffer_init(&b, read_op, fd, space, sizeof space);
  for (;;) {
    int r = line_get(&b, line, sizeof line, &len);
    if (r == 0) break;
    if (r == -1) {
      qwarn_sys("unable to read ", fn);
      break;
    }
    if (r == -2) continue; /* too long to be ours */
    do_line(line, len);
  }
  close(fd);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One log directory: its archives in name (= time) order, then current. */
static void do_logdir(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t count = 0;
  size_t alloc = 0;
  size_t i;
  stralloc fn = {0};

  if (d == NULL) return;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (de->d_name[0] != '@' || n < 3 || strcmp(de->d_name + n - 2, ".s") != 0) continue;
    if (count == alloc) {
      size_t a = alloc ? 2 * alloc : 16;
      char **grown = realloc(names, a * sizeof *names);
      if (grown == NULL) qdie_nomem();
      names = grown;
      alloc = a;
    }
    names[count] = strdup(de->d_name);
    if (names[count] == NULL) qdie_nomem();
    count++;
  }
  closedir(d);
  if (count > 1) qsort(names, count, sizeof *names, cmp_str);
  for (i = 0; i <= count; i++) {
    if (!stralloc_copys(&fn, dir) || !stralloc_cats(&fn, "/") ||
        !stralloc_cats(&fn, i < count ? names[i] : "current") || !stralloc_0(&fn))
      qdie_nomem();
    do_file(fn.s);
    if (i < count) free(names[i]);
  }
  free(names);
  stralloc_free(&fn);
}


int main(int argc, char **argv)
{
  const char *dir = NULL;
  DIR *d;
  struct dirent *de;
  stralloc path = {0};
  char **names = NULL;
  size_t count = 0;
  size_t alloc = 0;
  size_t i;
  int a;

  qlog_prog = "qstats";
  for (a = 1; a < argc && argv[a][0] == '-'; a++) {
    if (!strcmp(argv[a], "--")) {
      a++;
      break;
    }
    if (!strcmp(argv[a], "-H") || !strcmp(argv[a], "--html")) {
      totals.by_hour = 1;
      continue;
    }
    if (a + 1 >= argc) qdie_usage(USAGE);
    if (!strcmp(argv[a], "-n")) {
      if (!scan_age(argv[++a], &newer)) qdie_usage(USAGE);
      have_newer = 1;
    } else if (!strcmp(argv[a], "-o")) {
      if (!scan_age(argv[++a], &older)) qdie_usage(USAGE);
      have_older = 1;
    } else {
      qdie_usage(USAGE);
    }
  }
  if (a < argc) dir = argv[a++];
  if (a < argc) qdie_usage(USAGE);
  if (dir != NULL ? chdir(dir) == -1 : qhome_chdir() == -1)
    qdie_sys(111, "unable to enter ", dir != NULL ? dir : qhome());
  now = (unsigned long long)time(NULL);

  d = opendir("log");
  if (d == NULL) qdie_sys(111, "unable to open log");
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    if (count == alloc) {
      size_t n = alloc ? 2 * alloc : 16;
      char **grown = realloc(names, n * sizeof *names);
      if (grown == NULL) qdie_nomem();
      names = grown;
      alloc = n;
    }
    names[count] = strdup(de->d_name);
    if (names[count] == NULL) qdie_nomem();
    count++;
  }
  closedir(d);
  /* qsend's log after the others does not matter: sizes come from "new" lines,
   * which precede their deliveries within qsend's own log */
  if (count > 1) qsort(names, count, sizeof *names, cmp_str);
  for (i = 0; i < count; i++) {
    if (!stralloc_copys(&path, "log/") || !stralloc_cats(&path, names[i]) || !stralloc_0(&path))
      qdie_nomem();
    do_logdir(path.s);
    free(names[i]);
  }
  free(names);
  stralloc_free(&path);

  if (totals.by_hour) report_html(); /* qstats_report.c */
  else report_text();
  if (bflush(buffer_1) == -1) qdie_sys(111, "unable to write output");
  free(sizes);
  return 0;
}

