#ifndef QMETRICS_H
#define QMETRICS_H
/*
 * qmetrics internals, shared by qmetrics.c and its qmetrics_*.c siblings.
 * Counters come from the logs (qmetrics_logs.c), kept with the read
 * position of every log in a state file (qmetrics_state.c); gauges from
 * qstat -s and the listeners' files run/NAME.conns (qmetrics_gauge.c);
 * all of it is printed in Prometheus' text format 0.0.4
 * (qmetrics_expo.c), into a file or over HTTP (qmetrics_http.c).
 */
#include <stddef.h>

#include <stralloc.h>

/* ---- counters (qmetrics_state.c) ---- */

enum family {
  F_RECEIVED,   /* qmta_messages_received_total{listener}: qsmtpd accept */
  F_REJECTED,   /* qmta_smtp_rejects_total{listener}: qsmtpd reject */
  F_SESSIONS,   /* qmta_smtp_sessions_total{listener}: qsmtpd session (its end) */
  F_QUEUED,     /* qmta_messages_queued_total{sender}: qsend new, sender null|other */
  F_DELIVERIES, /* qmta_deliveries_total{listener,class,result} */
  F_TLS,        /* qmta_tls_total{listener,mode,result} */
  F_AUTH,       /* qmta_auth_total{listener,result} */
  F_REFUSED,    /* qmta_connections_refused_total{listener,reason}: qlisten */
  F_LINES,      /* qmta_metrics_log_lines_total: lines read from the logs */
  F_COUNT
};

struct family_desc {
  const char *name;
  const char *help;
};
extern const struct family_desc families[F_COUNT];

#define LABELS_MAX 160   /* bytes of one label set, as printed: a="x",b="y" */
#define COUNTERS_MAX 2048
#define NAME_MAX_LEN 32  /* a log directory's (listener's) name */

/* Adds n to the counter of family f with labels (printed form, "" none).
 * A label set over LABELS_MAX or a full table: dropped (returns -1). */
int counter_add(enum family f, const char *labels, unsigned long long n);
/* The counters of family f in the order they were made: calls fn. */
void counter_each(enum family f, void (*fn)(const char *labels, unsigned long long value));

/* The delivery latency histogram, by destination class. */
enum dclass { C_LOCAL, C_REMOTE, C_LMTP, C_COUNT };
extern const char *const class_names[C_COUNT];
#define BUCKETS 16
extern const unsigned long long bucket_us[BUCKETS]; /* upper bounds, microseconds */
struct histogram {
  unsigned long long bucket[BUCKETS]; /* not cumulative: in (bound[i-1], bound[i]] */
  unsigned long long over;            /* above the last bound */
  unsigned long long count;
  unsigned long long sum_us;
};
extern struct histogram latency[C_COUNT];
void latency_add(enum dclass c, unsigned long long us);

/* The read position in one log directory (log/NAME/). */
struct logpos {
  char name[NAME_MAX_LEN + 1];
  unsigned long long inode;  /* of "current" when last read; 0 none */
  unsigned long long offset; /* bytes of it read (whole lines) */
  char archive[64];          /* the newest archive "@....s" read, "" none */
};
#define LOGDIRS_MAX 64
extern struct logpos logpos[LOGDIRS_MAX];
extern size_t logpos_count;
/* The entry of log/name, made if new; NULL if the table is full. */
struct logpos *logpos_get(const char *name);

/* State file: counters, histograms and log positions (text, see
 * qmetrics_state.c). load: 1 loaded, 0 none there, -1 unreadable or
 * damaged (errno; nothing loaded). save: 0, -1 + errno. */
int state_load(const char *fn);
int state_save(const char *fn);

/* ---- the logs (qmetrics_logs.c) ---- */

/* Reads what is new in every log/NAME/ (archives s6-log made since the
 * last pass, then current) and counts it. Paths relative to the instance. */
void logs_update(void);
/* 1 if s is a name we take for a log directory or listener: [A-Za-z0-9_.-],
 * not starting with '.', at most NAME_MAX_LEN bytes. */
int name_ok(const char *s);

/* ---- gauges (qmetrics_gauge.c) ---- */

/* Runs qstat -s for the queue counts (at most timeout_ms); 0, -1 failed
 * (the queue gauges are then left out). */
int gauge_queue(unsigned int timeout_ms);
/* Appends the gauges (queue and listeners) to out. */
void gauge_print(stralloc *out);

/* ---- the exposition (qmetrics_expo.c) ---- */

/* Everything, in Prometheus' text format 0.0.4, into out (emptied first). */
void expo_build(stralloc *out);
void cat(stralloc *sa, const char *s);
void catnum(stralloc *sa, unsigned long long n);

/* ---- HTTP (qmetrics_http.c) ---- */

/* Serves GET /metrics on listen_fd until SIGTERM (sig_fd readable): before
 * each answer calls refresh(); every tick_ms calls tick(). */
void http_serve(int listen_fd, int sig_fd, unsigned int tick_ms,
                void (*refresh)(void), void (*tick)(void));
/* 200, 400, 404 or 405: the status a request (head: its bytes up to the
 * blank line) gets; *head_ok 0 if the request is malformed. */
int http_status(const char *head, size_t len);

#endif
