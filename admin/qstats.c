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
 *   qsend: new ID from <S> size N ...    a message taken into the queue
 *   qsend: delivery ID.IDX local|remote RCPT ok|deferred|failed: TEXT
 * Messages from "local" are those queued by other means than SMTP
 * (sendmail, qinject), counted as queued minus accepted by SMTP minus the
 * bounces qsend made (null sender), so their bytes are approximate.
 * Bytes to a mailer are the size of the message (from its "new" line)
 * for each successful delivery.
 * -n age: only lines newer than age; -o age: only lines older than age
 * (age: seconds, or a number with s m h d w); lines without a timestamp
 * are counted only without these options. DIR defaults to $QHOME.
 * -H (--html): the same as one self-contained HTML page, with a chart
 * of the messages queued and delivered by hour of the day (inline SVG,
 * nothing fetched from elsewhere): the html_ functions before main.
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
#include <fmt.h>
#include <stralloc.h>

#include "bflush.h"
#include "ctl.h"
#include "datefmt.h"
#include "line.h"
#include "logline.h"
#include "logstamp.h"
#include "qlog.h"
#include "queue.h"

#define USAGE "qstats [-H] [-n age] [-o age] [DIR]"
#define LINE_MAX_BYTES 4096 /* longer than any qlog line (QLOG_MAX) plus the timestamp */

enum { M_LOCAL, M_ESMTP, M_COUNT };

struct mailer_stats {
  unsigned long long msgs_from;
  unsigned long long bytes_from;
  unsigned long long msgs_to;
  unsigned long long bytes_to;
  unsigned long long deferred;
  unsigned long long failed;
  unsigned long long rejected;
  unsigned long long discarded;
};

static struct mailer_stats stats[M_COUNT];
static unsigned long long queued_msgs;
static unsigned long long queued_bytes;
static unsigned long long bounce_msgs;
static unsigned long long bounce_bytes;
static unsigned long long first_time;
static unsigned long long last_time;
static unsigned long long lines_counted;

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
static int starts(const char *s, size_t len, const char *word)
{
  size_t n = strlen(word);
  return len >= n && !memcmp(s, word, n);
}

/* the verdicts of mail authentication (qsmtpd_dkim.c, qdkimd(8)) */
static const char *const auth_methods[] = {"spf", "dkim", "dmarc", "dkimsign"};
static const char *const auth_words[] = {"pass", "fail", "softfail", "neutral", "none",
                                         "policy", "temperror", "permerror", "unavailable",
                                         "yes"};
#define AUTH_METHODS (sizeof auth_methods / sizeof auth_methods[0])
#define AUTH_WORDS (sizeof auth_words / sizeof auth_words[0])
static unsigned long long auth_counts[AUTH_METHODS][AUTH_WORDS];
static int auth_seen;

/* " method=word" anywhere in the line: counted */
static void auth_verdicts(const char *s, size_t len)
{
  for (size_t m = 0; m < AUTH_METHODS; m++) {
    size_t klen = strlen(auth_methods[m]);

    for (size_t i = 1; i + klen + 1 < len; i++) {
      size_t wlen = 0;

      if (s[i - 1] != ' ' || memcmp(s + i, auth_methods[m], klen) != 0 || s[i + klen] != '=')
        continue;
      while (i + klen + 1 + wlen < len && s[i + klen + 1 + wlen] != ' ') wlen++;
      for (size_t w = 0; w < AUTH_WORDS; w++)
        if (strlen(auth_words[w]) == wlen && !memcmp(s + i + klen + 1, auth_words[w], wlen)) {
          auth_counts[m][w]++;
          auth_seen = 1;
        }
      break;
    }
  }
}

/* "qsmtpd: accept|reject|discard ..." */
static void line_qsmtpd(const char *s, size_t len)
{
  unsigned long long size = 0;

  if (starts(s, len, "accept ") || starts(s, len, "reject ")) auth_verdicts(s, len);

  if (starts(s, len, "accept ")) {
    key_num(s, len, "size=", &size);
    stats[M_ESMTP].msgs_from++;
    stats[M_ESMTP].bytes_from += size;
  } else if (starts(s, len, "reject ")) {
    stats[M_ESMTP].rejected++;
  } else if (starts(s, len, "discard ")) {
    stats[M_ESMTP].discarded++;
  } else {
    return;
  }
  lines_counted++;
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

static unsigned long long tls_deferred; /* deferrals by the outbound TLS policy */

/* "qsend: new ID from <S> size N ..." and "qsend: delivery ID.IDX ..." */
static void line_qsend(const char *s, size_t len)
{
  unsigned long long id;
  unsigned long long size = 0;
  size_t i;

  if (starts(s, len, "new ")) {
    const char *from;
    const char *p;

    i = 4 + scan_qid(s + 4, len - 4, &id);
    if (i == 4 || i >= len || s[i] != ' ') return;
    from = memmem(s + i, len - i, " from <", 7);
    p = memmem(s + i, len - i, " size ", 6);
    if (p != NULL) scan_dec(p + 6, len - (size_t)(p + 6 - s), &size);
    size_put(id, size);
    queued_msgs++;
    queued_bytes += size;
    if (from != NULL && (from[7] == '>' || !memcmp(from + 7, "#@[]>", 5))) { /* a bounce */
      bounce_msgs++;
      bounce_bytes += size;
    }
    lines_counted++;
    return;
  }
  if (starts(s, len, "delivery ")) {
    struct logline_delivery d;
    int which;
    int mailer;

    if (logline_delivery(s + 9, len - 9, &d) != 1) return;
    scan_qid(s + 9, d.id_len, &id);
    mailer = d.remote ? M_ESMTP : M_LOCAL;
    which = (int)d.status;
    switch (which) {
      case 0:
        stats[mailer].msgs_to++;
        stats[mailer].bytes_to += size_get(id);
        break;
      case 1:
        stats[mailer].deferred++;
        /* qremote's reasons name the outbound TLS policy that refused a host */
        if (memmem(s + 9 + d.text, len - 9 - d.text, "(tls policy ", 12) != NULL) tls_deferred++;
        break;
      case 2: stats[mailer].failed++; break;
      default: return;
    }
    lines_counted++;
  }
}

static void html_hour(unsigned long long t);

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
  if (starts(line, len, "qsmtpd: ")) line_qsmtpd(line + 8, len - 8);
  else if (starts(line, len, "qsend: ")) line_qsend(line + 7, len - 7);
  else return;
  if (t != 0) {
    if (first_time == 0 || t < first_time) first_time = t;
    if (t > last_time) last_time = t;
  }
  html_hour(t);
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

static void out(const char *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) == -1) qdie_sys(111, "unable to write output");
}

static void outs(const char *s)
{
  out(s, strlen(s));
}

/* A number right-aligned in width columns, after one blank. */
static void outcol(unsigned long long n, size_t width)
{
  char num[FMT_ULONG];
  size_t len = fmt_ulonglong(num, n);

  out(" ", 1);
  while (width-- > len) out(" ", 1);
  out(num, len);
}

static void outtime(unsigned long long t)
{
  char buf[DATETIME_MAX];

  out(buf, datetime_fmt(buf, (time_t)t));
}

static void outrow(const char *name, const struct mailer_stats *m)
{
  outs(name);
  outcol(m->msgs_from, 8);
  outcol(m->bytes_from, 12);
  outcol(m->msgs_to, 8);
  outcol(m->bytes_to, 12);
  outcol(m->deferred, 8);
  outcol(m->failed, 8);
  outcol(m->rejected, 8);
  outcol(m->discarded, 9);
  outs("\n");
}

static void report(void)
{
  struct mailer_stats sum = {0};
  struct mailer_stats *local = &stats[M_LOCAL];
  int k;

  /* queued by other means than SMTP: by difference */
  if (queued_msgs > stats[M_ESMTP].msgs_from + bounce_msgs)
    local->msgs_from = queued_msgs - stats[M_ESMTP].msgs_from - bounce_msgs;
  if (queued_bytes > stats[M_ESMTP].bytes_from + bounce_bytes)
    local->bytes_from = queued_bytes - stats[M_ESMTP].bytes_from - bounce_bytes;
  for (k = 0; k < M_COUNT; k++) {
    sum.msgs_from += stats[k].msgs_from;
    sum.bytes_from += stats[k].bytes_from;
    sum.msgs_to += stats[k].msgs_to;
    sum.bytes_to += stats[k].bytes_to;
    sum.deferred += stats[k].deferred;
    sum.failed += stats[k].failed;
    sum.rejected += stats[k].rejected;
    sum.discarded += stats[k].discarded;
  }

  outs("Statistics from ");
  if (first_time != 0) {
    outtime(first_time);
    outs(" to ");
    outtime(last_time);
  } else {
    outs("the logs");
  }
  outs("\n");
  outs("mailer  msgsfr   bytes_from   msgsto     bytes_to deferred  bounced rejected discarded\n");
  outrow("local ", &stats[M_LOCAL]);
  outrow("esmtp ", &stats[M_ESMTP]);
  outs("======================================================================================\n");
  outrow("total ", &sum);
  outs("queued ");
  {
    char num[FMT_ULONG];
    out(num, fmt_ulonglong(num, queued_msgs));
    outs(" messages (");
    out(num, fmt_ulonglong(num, queued_bytes));
    outs(" bytes), of them ");
    out(num, fmt_ulonglong(num, bounce_msgs));
    outs(" bounces made here\n");
  }
  if (tls_deferred > 0) {
    char num[FMT_ULONG];
    outs("deferred by the outbound TLS policy (DANE, MTA-STS, tlspolicy): ");
    out(num, fmt_ulonglong(num, tls_deferred));
    outs("\n");
  }
  if (!auth_seen) return;
  outs("authentication (messages by verdict)\n");
  for (size_t m = 0; m < AUTH_METHODS; m++) {
    int any = 0;

    for (size_t w = 0; w < AUTH_WORDS; w++) {
      char num[FMT_ULONG];

      if (auth_counts[m][w] == 0) continue;
      outs(any ? " " : auth_methods[m]);
      if (!any) outs(":");
      outs(any ? "" : " ");
      outs(auth_words[w]);
      outs("=");
      out(num, fmt_ulonglong(num, auth_counts[m][w]));
      any = 1;
    }
    if (any) outs("\n");
  }
}

/* ---- -H: the report as one HTML page ---- */

static int html_mode;
static unsigned long long hour_in[24];  /* messages queued (qsend new) by hour of the day */
static unsigned long long hour_out[24]; /* deliveries that succeeded, by hour of the day */

/* Called after each counted line: what the line added to the totals goes
 * to the hour of its time (lines without a time to none). */
static void html_hour(unsigned long long t)
{
  static unsigned long long seen_in;
  static unsigned long long seen_out;
  unsigned long long now_in = queued_msgs;
  unsigned long long now_out = stats[M_LOCAL].msgs_to + stats[M_ESMTP].msgs_to;
  time_t tt = (time_t)t;
  struct tm tm;

  if (html_mode && t != 0 && localtime_r(&tt, &tm) != NULL && tm.tm_hour >= 0 && tm.tm_hour < 24) {
    hour_in[tm.tm_hour] += now_in - seen_in;
    hour_out[tm.tm_hour] += now_out - seen_out;
  }
  seen_in = now_in;
  seen_out = now_out;
}

/* s (len bytes) with & < > " ' escaped */
static void html_text(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++) {
    switch (s[i]) {
      case '&': outs("&amp;"); break;
      case '<': outs("&lt;"); break;
      case '>': outs("&gt;"); break;
      case '"': outs("&quot;"); break;
      case '\'': outs("&#39;"); break;
      default: out(s + i, 1);
    }
  }
}

static void html_num(unsigned long long n)
{
  char num[FMT_ULONG];
  out(num, fmt_ulonglong(num, n));
}

/* report()'s text, caught by a buffer op in place of the output */
static stralloc html_captured;

static ssize_t html_capture(int fd, char *buf, size_t len, void *cookie)
{
  (void)fd;
  (void)cookie;
  if (!stralloc_catb(&html_captured, buf, len)) qdie_nomem();
  return (ssize_t)len;
}

/* The chart: for each hour two bars (queued, delivered), scaled to the
 * largest; each bar carries its figure as a tooltip and data-hour. */
static void html_chart(void)
{
  static const char *const kind[2] = {"queued", "delivered"};
  unsigned long long top = 1;
  int h;
  int k;

  for (h = 0; h < 24; h++) {
    if (hour_in[h] > top) top = hour_in[h];
    if (hour_out[h] > top) top = hour_out[h];
  }
  outs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"240\" "
       "viewBox=\"0 0 760 240\" role=\"img\" aria-label=\"messages by hour\">\n");
  outs("<line x1=\"30\" y1=\"200\" x2=\"750\" y2=\"200\" stroke=\"#444\"/>\n");
  outs("<text x=\"30\" y=\"14\" font-size=\"11\">most in one hour: ");
  html_num(top);
  outs("</text>\n");
  for (h = 0; h < 24; h++) {
    for (k = 0; k < 2; k++) {
      unsigned long long n = k == 0 ? hour_in[h] : hour_out[h];
      unsigned long long height = n * 170 / top;

      outs("<rect class=\"");
      outs(kind[k]);
      outs("\" data-hour=\"");
      html_num((unsigned long long)h);
      outs("\" x=\"");
      html_num(32 + (unsigned long long)h * 30 + (unsigned long long)k * 13);
      outs("\" y=\"");
      html_num(200 - height);
      outs("\" width=\"12\" height=\"");
      html_num(height);
      outs(k == 0 ? "\" fill=\"#4a7ab5\"><title>" : "\" fill=\"#5aa55a\"><title>");
      html_num((unsigned long long)h);
      outs(":00 ");
      outs(kind[k]);
      outs(" ");
      html_num(n);
      outs("</title></rect>\n");
    }
    outs("<text x=\"");
    html_num(38 + (unsigned long long)h * 30);
    outs("\" y=\"215\" font-size=\"10\" text-anchor=\"middle\">");
    html_num((unsigned long long)h);
    outs("</text>\n");
  }
  outs("<rect x=\"560\" y=\"225\" width=\"10\" height=\"10\" fill=\"#4a7ab5\"/>"
       "<text x=\"574\" y=\"234\" font-size=\"11\">queued</text>\n"
       "<rect x=\"640\" y=\"225\" width=\"10\" height=\"10\" fill=\"#5aa55a\"/>"
       "<text x=\"654\" y=\"234\" font-size=\"11\">delivered</text>\n</svg>\n");
}

/* One line of report()'s text: a row of blank-separated cells, the
 * first line of a table its header (th). */
static void html_row(const char *s, size_t len, int header)
{
  size_t i = 0;

  outs("<tr>");
  while (i < len) {
    size_t start;

    while (i < len && s[i] == ' ') i++;
    if (i == len) break;
    start = i;
    while (i < len && s[i] != ' ') i++;
    outs(header ? "<th>" : "<td>");
    html_text(s + start, i - start);
    outs(header ? "</th>" : "</td>");
  }
  outs("</tr>\n");
}

/* The page: the title (control/me), the chart, then report()'s text:
 * its table as a table, its other lines as paragraphs. */
static void html_report(void)
{
  stralloc *text = &html_captured;
  stralloc me = {0};
  char space[4096];
  buffer capture;
  buffer *saved = buffer_1;
  size_t pos = 0;
  int in_table = 0;

  buffer_init(&capture, html_capture, -1, space, sizeof space);
  buffer_1 = &capture;
  report();
  if (buffer_flush(&capture) == -1) qdie_nomem();
  buffer_1 = saved;
  if (ctl_readline(&me, "control/me", "qmta") == -1) qwarn_sys("unable to read control/me");

  outs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Mail report: ");
  html_text(me.s, me.len);
  outs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em}"
       "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px;"
       "text-align:right}th{background:#eee}\n</style>\n</head>\n<body>\n<h1>Mail report: ");
  html_text(me.s, me.len);
  outs("</h1>\n<h2>Traffic by hour of the day</h2>\n");
  html_chart();
  outs("<h2>Statistics</h2>\n");
  while (pos < text->len) {
    const char *line = text->s + pos;
    const char *end = memchr(line, '\n', text->len - pos);
    size_t len = end != NULL ? (size_t)(end - line) : text->len - pos;
    int row = len > 0 && line[0] != '=' && memchr(line, ' ', len) != NULL &&
              (starts(line, len, "mailer ") || starts(line, len, "local ") ||
               starts(line, len, "esmtp ") || starts(line, len, "total "));

    pos += len + 1;
    if (len > 0 && line[0] == '=') continue; /* the rule above the total */
    if (row && !in_table) outs("<table>\n");
    if (!row && in_table) outs("</table>\n");
    if (row) html_row(line, len, !in_table);
    in_table = row;
    if (!row && len > 0) {
      outs("<p>");
      html_text(line, len);
      outs("</p>\n");
    }
  }
  if (in_table) outs("</table>\n");
  outs("</body>\n</html>\n");
  stralloc_free(text);
  stralloc_free(&me);
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
      html_mode = 1;
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

  if (html_mode) html_report();
  else report();
  if (bflush(buffer_1) == -1) qdie_sys(111, "unable to write output");
  free(sizes);
  return 0;
}
