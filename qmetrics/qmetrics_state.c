/*
 * qmetrics_state: the counters, the latency histograms and the read
 * positions in the logs, and the state file that keeps them between runs
 * (qmetrics -t from cron, or the service after a restart), so that no
 * counter goes back and no log line is counted twice.
 *
 * The state file is text, one record a line, written beside and renamed
 * over the old one (durable_writefile):
 *   "qmetrics-state 1"
 *   "c FAMILY LABELS VALUE"       a counter; LABELS "-" for none
 *   "h CLASS COUNT SUM_US OVER B0 ... B15"   a latency histogram
 *   "l NAME INODE OFFSET ARCHIVE" a log's position; ARCHIVE "-" for none
 * Labels hold no blank (listener names are checked, the rest are words).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <buffer.h>

#include "durable.h"
#include "line.h"
#include "qmetrics.h"

#define STATE_LINE_MAX 1024
#define STATE_MAGIC "qmetrics-state 1"

const struct family_desc families[F_COUNT] = {
  {"qmta_messages_received_total", "Messages accepted by SMTP, by listener (qsmtpd accept)."},
  {"qmta_smtp_rejects_total", "Connections, commands or messages refused by qsmtpd, by listener."},
  {"qmta_smtp_sessions_total", "SMTP sessions ended, by listener."},
  {"qmta_messages_queued_total", "Messages taken into the queue by qsend (sender null: bounces)."},
  {"qmta_deliveries_total",
   "Delivery attempts by the listener that took the message in (none: injected here), "
   "destination class and result (delivered, deferred, bounced)."},
  {"qmta_tls_total", "TLS handshakes of the listeners by mode (starttls, implicit) and result."},
  {"qmta_auth_total", "SMTP AUTH attempts by listener and result (ok, bad, temp)."},
  {"qmta_connections_refused_total",
   "Connections refused or ended by qlisten, by listener and reason (deny, perip, full, evict)."},
  {"qmta_metrics_log_lines_total", "Log lines qmetrics has read."},
};

const char *const class_names[C_COUNT] = {"local", "remote", "lmtp"};

/* 50 ms to a day: local deliveries take milliseconds, deferred mail hours */
const unsigned long long bucket_us[BUCKETS] = {
  50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL, 5000000ULL, 10000000ULL,
  30000000ULL, 60000000ULL, 300000000ULL, 900000000ULL, 3600000000ULL, 14400000000ULL,
  43200000000ULL, 86400000000ULL,
};

struct counter {
  enum family family;
  char labels[LABELS_MAX];
  unsigned long long value;
};

static struct counter counters[COUNTERS_MAX];
static size_t counter_count;
struct histogram latency[C_COUNT];
struct logpos logpos[LOGDIRS_MAX];
size_t logpos_count;

int counter_add(enum family f, const char *labels, unsigned long long n)
{
  size_t len = strlen(labels);
  size_t i;

  if (len >= LABELS_MAX) return -1;
  for (i = 0; i < counter_count; i++)
    if (counters[i].family == f && !strcmp(counters[i].labels, labels)) {
      counters[i].value += n;
      return 0;
    }
  if (counter_count == COUNTERS_MAX) return -1;
  counters[counter_count].family = f;
  memcpy(counters[counter_count].labels, labels, len + 1);
  counters[counter_count].value = n;
  counter_count++;
  return 0;
}

void counter_each(enum family f, void (*fn)(const char *labels, unsigned long long value))
{
  size_t i;

  for (i = 0; i < counter_count; i++)
    if (counters[i].family == f) fn(counters[i].labels, counters[i].value);
}

void latency_add(enum dclass c, unsigned long long us)
{
  struct histogram *h = &latency[c];
  size_t i;

  for (i = 0; i < BUCKETS && us > bucket_us[i]; i++) {}
  if (i < BUCKETS) h->bucket[i]++;
  else h->over++;
  h->count++;
  h->sum_us += us;
}

struct logpos *logpos_get(const char *name)
{
  size_t len = strlen(name);
  size_t i;

  if (len > NAME_MAX_LEN) return NULL;
  for (i = 0; i < logpos_count; i++)
    if (!strcmp(logpos[i].name, name)) return &logpos[i];
  if (logpos_count == LOGDIRS_MAX) return NULL;
  memset(&logpos[logpos_count], 0, sizeof logpos[0]);
  memcpy(logpos[logpos_count].name, name, len + 1);
  return &logpos[logpos_count++];
}

/* ---- the file ---- */

/* The next blank-separated word of s (len) from *pos, NUL-terminated in
 * place; NULL at the end. */
static char *word(char *s, size_t len, size_t *pos)
{
  size_t start;

  while (*pos < len && s[*pos] == ' ') (*pos)++;
  if (*pos >= len) return NULL;
  start = *pos;
  while (*pos < len && s[*pos] != ' ') (*pos)++;
  s[*pos] = '\0';
  if (*pos < len) (*pos)++;
  return s + start;
}

static int number(const char *s, unsigned long long *n)
{
  char *end;

  if (s == NULL || *s < '0' || *s > '9') return -1;
  errno = 0;
  *n = strtoull(s, &end, 10);
  return errno != 0 || *end != '\0' ? -1 : 0;
}

static int family_of(const char *name)
{
  int f;

  for (f = 0; f < F_COUNT; f++)
    if (!strcmp(families[f].name, name)) return f;
  return -1;
}

static int class_of(const char *name)
{
  int c;

  for (c = 0; c < C_COUNT; c++)
    if (!strcmp(class_names[c], name)) return c;
  return -1;
}

/* One record (NUL-terminated line without '\n'): 0, -1 malformed. */
static int state_record(char *s, size_t len)
{
  size_t pos = 0;
  char *tag = word(s, len, &pos);
  unsigned long long n[3 + BUCKETS];
  size_t i;

  if (tag == NULL || tag[1] != '\0') return -1;
  if (tag[0] == 'c') {
    char *name = word(s, len, &pos);
    int f = name != NULL ? family_of(name) : -1;
    char *labels = word(s, len, &pos);

    if (f < 0 || labels == NULL || number(word(s, len, &pos), &n[0]) == -1) return -1;
    return counter_add((enum family)f, strcmp(labels, "-") ? labels : "", n[0]);
  }
  if (tag[0] == 'h') {
    char *name = word(s, len, &pos);
    int c = name != NULL ? class_of(name) : -1;

    if (c < 0) return -1;
    for (i = 0; i < 3 + BUCKETS; i++)
      if (number(word(s, len, &pos), &n[i]) == -1) return -1;
    latency[c].count = n[0];
    latency[c].sum_us = n[1];
    latency[c].over = n[2];
    for (i = 0; i < BUCKETS; i++) latency[c].bucket[i] = n[3 + i];
    return 0;
  }
  if (tag[0] == 'l') {
    char *name = word(s, len, &pos);
    struct logpos *lp;
    char *archive;

    if (name == NULL || number(word(s, len, &pos), &n[0]) == -1 ||
        number(word(s, len, &pos), &n[1]) == -1)
      return -1;
    archive = word(s, len, &pos);
    if (archive == NULL || strlen(archive) >= sizeof lp->archive) return -1;
    lp = logpos_get(name);
    if (lp == NULL) return -1;
    lp->inode = n[0];
    lp->offset = n[1];
    strcpy(lp->archive, strcmp(archive, "-") ? archive : "");
    return 0;
  }
  return -1;
}

static ssize_t read_op(int fd, char *buf, size_t len, void *cookie)
{
  ssize_t r;

  (void)cookie;
  do r = read(fd, buf, len); while (r == -1 && errno == EINTR);
  return r;
}

int state_load(const char *fn)
{
  static char space[16384];
  char line[STATE_LINE_MAX];
  buffer b;
  size_t len;
  int fd = open(fn, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int first = 1;
  int r;

  if (fd == -1) return errno == ENOENT ? 0 : -1;
  buffer_init(&b, read_op, fd, space, sizeof space);
  while ((r = line_get(&b, line, sizeof line - 1, &len)) == 1) {
    if (len == 0 || line[len - 1] != '\n') break; /* cut short: not ours */
    line[--len] = '\0';
    if (first) {
      if (strcmp(line, STATE_MAGIC) != 0) break;
      first = 0;
      continue;
    }
    if (state_record(line, len) == -1) break;
  }
  close(fd);
  if (r != 0) {
    /* damaged: start again from nothing rather than from half of it */
    memset(latency, 0, sizeof latency);
    counter_count = 0;
    logpos_count = 0;
    errno = r == -1 ? errno : EPROTO;
    return -1;
  }
  return 1;
}

int state_save(const char *fn)
{
  stralloc s = {0};
  size_t i;
  size_t k;
  int r;

  cat(&s, STATE_MAGIC "\n");
  for (i = 0; i < counter_count; i++) {
    cat(&s, "c ");
    cat(&s, families[counters[i].family].name);
    cat(&s, " ");
    cat(&s, counters[i].labels[0] != '\0' ? counters[i].labels : "-");
    cat(&s, " ");
    catnum(&s, counters[i].value);
    cat(&s, "\n");
  }
  for (i = 0; i < C_COUNT; i++) {
    cat(&s, "h ");
    cat(&s, class_names[i]);
    cat(&s, " ");
    catnum(&s, latency[i].count);
    cat(&s, " ");
    catnum(&s, latency[i].sum_us);
    cat(&s, " ");
    catnum(&s, latency[i].over);
    for (k = 0; k < BUCKETS; k++) {
      cat(&s, " ");
      catnum(&s, latency[i].bucket[k]);
    }
    cat(&s, "\n");
  }
  for (i = 0; i < logpos_count; i++) {
    cat(&s, "l ");
    cat(&s, logpos[i].name);
    cat(&s, " ");
    catnum(&s, logpos[i].inode);
    cat(&s, " ");
    catnum(&s, logpos[i].offset);
    cat(&s, " ");
    cat(&s, logpos[i].archive[0] != '\0' ? logpos[i].archive : "-");
    cat(&s, "\n");
  }
  r = durable_writefile(fn, s.s, s.len, 0600);
  stralloc_free(&s);
  return r;
}
