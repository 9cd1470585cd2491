#ifndef QSEND_DSN_H
#define QSEND_DSN_H
/*
 * Delivery status notifications (RFC 3464 multipart/report), built by
 * qsend as new queue messages from MAILER-DAEMON@me.
 *
 * dsn_send is called by qsend with the queue file of the original message
 * open on fd, its parsed envelope e, and the recipients to report (all of
 * one kind: DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED or
 * DSN_EXPANDED; the last three are what NOTIFY=SUCCESS asks for). It decides whether
 * anything is sent at all (null sender, NOTIFY=NEVER or a NOTIFY list
 * without the kind), builds the report
 * (the reasons; RET=HDRS/FULL: headers only or the whole message up to a
 * size limit), and commits it with queue_open/queue_put/queue_envelope/
 * queue_commit. A failure report about a message whose sender is null goes
 * to control/doublebounceto (default postmaster) instead; a double bounce
 * that fails is dropped (its sender is DSN_DOUBLE_SENDER, never bounced).
 * Returns 0 (committed, or nothing to send), -1 + errno (temporary: qsend
 * retries later and keeps the recipients as they were). newid (QUEUE_ID_MAX
 * bytes) gets the report's queue id, "" when nothing was sent. The report
 * names the original's queue id (X-Qmta-Queue-ID, and in its text), and
 * its envelope has it as parent (P record).
 */
#include <stddef.h>
#include <time.h>

#include <stralloc.h>

#include "queue.h"

#define DSN_FAILED 'F'
#define DSN_DELAYED 'W'
#define DSN_DELIVERED 'K'
#define DSN_RELAYED 'R'   /* success: handed to a server without DSN */
#define DSN_EXPANDED 'E'  /* success: an alias here sent it on to addresses */
#define DSN_DOUBLE_SENDER "#@[]"

struct dsn_rcpt {
  size_t idx;           /* the recipient's index in e */
  const char *reason;   /* one line: the remote reply or the local reason */
};

int dsn_send(int fd, const struct queue_env *e, int kind, const struct dsn_rcpt *r, size_t n,
             char *newid);

/* The pieces of dsn_send that read what others wrote (a server's reply, the
 * original header): pure functions, for the tests and the fuzz target. */
#define DSN_STATUS_MAX 16 /* "5.123.123" and some */

struct dsn_reason {
  char status[DSN_STATUS_MAX]; /* RFC 3463 status of the report's class, NUL-terminated */
  const char *remote;          /* the server's reply in the reason ("550 5.1.1 text"), or NULL */
  size_t hostlen;              /* the host name at the start of the reason, or 0 */
};
/* Reads a reason of either shape (see qsend_dsn.c) for a report of kind. */
void dsn_reason_parse(struct dsn_reason *p, const char *reason, int kind);
/* Appends "name: value\n" with control bytes of value as '?', folded
 * before blanks (RFC 5322 2.2.3) to keep lines short. 1, 0 out of memory. */
int dsn_cat_field(stralloc *sa, const char *name, const char *value);
/* The length of the header section at the start of a message of len
 * bytes (LF line ends): up to and with the line before the empty line,
 * or else every complete line. */
size_t dsn_header_len(const char *s, size_t len);
/* A MIME boundary (RFC 2046 5.1.1) found nowhere in orig, into b. 1, 0
 * out of memory. */
int dsn_boundary(stralloc *b, const stralloc *orig, unsigned long id, time_t now);

#endif
