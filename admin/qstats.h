#ifndef QSTATS_H
#define QSTATS_H
/*
 * qstats' totals: qstats.c reads the log lines into them, and
 * qstats_report.c prints them (the text report, or the HTML page of -H).
 */
#include <stddef.h>

enum { M_LOCAL, M_ESMTP, M_COUNT }; /* the mailers: by other means than SMTP, SMTP */

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

/* the verdicts of mail authentication (qsmtpd_dkim.c, qdkimd(8)) */
#define AUTH_METHODS 4 /* spf dkim dmarc dkimsign */
#define AUTH_WORDS 10  /* pass fail ... yes */
extern const char *const qstats_auth_methods[AUTH_METHODS];
extern const char *const qstats_auth_words[AUTH_WORDS];

struct qstats_totals {
  struct mailer_stats stats[M_COUNT]; /* M_LOCAL's from: left to the report */
  unsigned long long queued_msgs;     /* "new" lines of qsend */
  unsigned long long queued_bytes;
  unsigned long long bounce_msgs;     /* of them, from the null sender: made here */
  unsigned long long bounce_bytes;
  unsigned long long copy_msgs;       /* of them, copies that aliases and .forward made (parent=) */
  unsigned long long copy_bytes;
  unsigned long long first_time;      /* of the lines counted; 0: none had a time */
  unsigned long long last_time;
  unsigned long long lines_counted;
  unsigned long long tls_deferred;    /* deferrals by the outbound TLS policy */
  unsigned long long auth_counts[AUTH_METHODS][AUTH_WORDS];
  int auth_seen;
  int by_hour;                        /* count hour_in and hour_out (-H) */
  unsigned long long hour_in[24];     /* messages queued (qsend new) by hour of the day */
  unsigned long long hour_out[24];    /* deliveries that succeeded, by hour of the day */
};

extern struct qstats_totals totals;

/* s starts with word (len bytes available)? (qstats.c) */
int qstats_starts(const char *s, size_t len, const char *word);

/* qstats_report.c: to fd 1 (dies 111 when it cannot write) */
void report_text(void);
void report_html(void);

#endif
