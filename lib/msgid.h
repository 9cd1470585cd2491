#ifndef MSGID_H
#define MSGID_H
/*
 * msgid_local: the left part of a Message-ID made here when a message has
 * none (qsmtpd for submissions behind a QINJECT filter, sendmail for local
 * mail): "SEC.NSEC.PID", the time ts (CLOCK_REALTIME, nanoseconds as nine
 * digits) and this process. No two made on one host are the same while
 * the clock does not go back.
 */
#include <stddef.h>
#include <time.h>

#include <fmt.h>

#define MSGID_LOCAL_MAX (3 * FMT_ULONG + 2)

/* Writes it into buf (MSGID_LOCAL_MAX bytes, no NUL); returns its length. */
size_t msgid_local(char *buf, const struct timespec *ts);

#endif
