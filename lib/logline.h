#ifndef LOGLINE_H
#define LOGLINE_H
/*
 * logline: qsend's delivery lines as the log readers (qstats, qmetrics)
 * take them apart. After "qsend: delivery ":
 *   ID.IDX local|remote RECIPIENT ok|deferred|failed: TEXT
 * The recipient may hold blanks (a quoted local part): the first of
 * " ok:", " deferred:", " failed:" after the channel is the status.
 */
#include <stddef.h>

enum logline_status { LOGLINE_OK, LOGLINE_DEFERRED, LOGLINE_FAILED };

struct logline_delivery {
  size_t id_len;              /* the queue id: s[0 .. id_len) (queue.h: 0-9 A-Z) */
  int remote;                 /* 1 remote, 0 local */
  enum logline_status status;
  size_t text;                /* offset of TEXT in s (after ": "; len if none) */
};

/* 1 if s (len bytes) is such a line (*d filled in), else 0. */
int logline_delivery(const char *s, size_t len, struct logline_delivery *d);

#endif
