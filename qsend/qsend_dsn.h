#ifndef QSEND_DSN_H
#define QSEND_DSN_H
/*
 * Delivery status notifications (RFC 3464 multipart/report), built by
 * qsend as new queue messages from MAILER-DAEMON@me.
 *
 * dsn_send is called by qsend with the queue file of the original message
 * open on fd, its parsed envelope e, and the recipients to report (all of
 * one kind). It decides whether anything is sent at all (null sender,
 * NOTIFY=NEVER or a NOTIFY list without the kind), builds the report
 * (the reasons; RET=HDRS/FULL: headers only or the whole message up to a
 * size limit), and commits it with queue_open/queue_put/queue_envelope/
 * queue_commit. A failure report about a message whose sender is null goes
 * to control/doublebounceto (default postmaster) instead; a double bounce
 * that fails is dropped (its sender is DSN_DOUBLE_SENDER, never bounced).
 * Returns 0 (committed, or nothing to send), -1 + errno (temporary: qsend
 * retries later and keeps the recipients as they were).
 */
#include <stddef.h>
#include "queue.h"

#define DSN_FAILED 'F'
#define DSN_DELAYED 'W'
#define DSN_DELIVERED 'K'
#define DSN_DOUBLE_SENDER "#@[]"

struct dsn_rcpt {
  size_t idx;           /* the recipient's index in e */
  const char *reason;   /* one line: the remote reply or the local reason */
};

int dsn_send(int fd, const struct queue_env *e, int kind, const struct dsn_rcpt *r, size_t n);

#endif
