#ifndef QINJECT_MSG_H
#define QINJECT_MSG_H
/*
 * qinject_msg: the message half of the qmail-queue protocol, as it goes
 * into a queue file. Shared by qinject and by qsmtpd, which writes the
 * queue itself with the same code when no QINJECT program is set, so that
 * a queue file is the same byte for byte either way.
 */
#include <stddef.h>
#include <time.h>

#include <fmt.h>

#include "datefmt.h"


/* "Received: (qmta PID invoked by uid UID id ID); DATE\n" (DATE in UTC)
 * into line, which holds RECEIVED_LINE_MAX bytes: the length, or 0 if the
 * date cannot be formatted. It is the first line of every queued message.
 * id is the queue id (shorter than QUEUE_ID_MAX), or NULL or "" (then no
 * " id ID"). */
#define RECEIVED_LINE_MAX (80 + 2 * FMT_ULONG + DATE822_MAX)
size_t received_line(char *line, unsigned long pid, unsigned long uid, time_t now,
                     const char *id);

/* The queue holds LF line ends: CRLF becomes LF, a lone CR stays.
 * Converts buf (len bytes) in place and returns its new length. *cr
 * carries a CR that ended the previous chunk (start with 0): on return
 * *lead is 1 when that CR turned out to be lone and must be put before
 * buf. A CR still in *cr after the last chunk is a lone one. */
size_t crlf_strip(char *buf, size_t len, int *cr, int *lead);

#endif
