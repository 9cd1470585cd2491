#ifndef QLOG_H
#define QLOG_H
/*
 * qlog: one-line diagnostics and log lines on fd 2, each written in one
 * write(2) so that lines from concurrent processes never interleave.
 * s6-log (or the test harness) captures fd 2 of every service.
 *
 *   qlog("delivery 17: ", "ok ", text)          ->  "qsend: delivery 17: ok ...\n"
 *   qwarn("unable to read ", fn)                ->  "qsend: warning: unable to read ...\n"
 *   qwarn_sys("unable to read ", fn)            ->  "...: No such file or directory\n"
 *   qdie(111, "unable to open ", fn)            ->  "qsend: fatal: unable to open ...\n", exit 111
 *   qdie_sys(111, "unable to open ", fn)        ->  the same with ": strerror(errno)"
 *
 * Arguments are strings; the macros add the NULL sentinel. Lines are cut
 * at QLOG_MAX bytes and any byte below 0x20 (or 0x7f) in an argument is
 * shown as '?', so input that reaches a log line can never forge a line.
 * Library code never calls qdie; programs do.
 */
#include <stdarg.h>
#include <stddef.h>

#define QLOG_MAX 2000 /* bytes of one log line, newline included */

extern const char *qlog_prog; /* set by main; default "qmta" */
/* Bytes written as they are in front of every qlog line (not of warnings
 * and fatal errors); NULL by default. qauth -d sets Dovecot's mark for
 * its info level ("\001\002"), or Dovecot logs each line as an error. */
extern const char *qlog_tag;

void qlog_(const char *s, ...);
void qwarn_(const char *s, ...);
void qwarn_sys_(const char *s, ...);
void qdie_(int code, const char *s, ...) __attribute__((noreturn));
void qdie_sys_(int code, const char *s, ...) __attribute__((noreturn));

#define qlog(...) qlog_(__VA_ARGS__, (const char *)0)
#define qwarn(...) qwarn_(__VA_ARGS__, (const char *)0)
#define qwarn_sys(...) qwarn_sys_(__VA_ARGS__, (const char *)0)
#define qdie(code, ...) qdie_(code, __VA_ARGS__, (const char *)0)
#define qdie_sys(code, ...) qdie_sys_(code, __VA_ARGS__, (const char *)0)

/* The two deaths every program shares:
 *   qdie_usage(USAGE)  ->  "PROG: fatal: usage: " USAGE, exit 100
 *   qdie_nomem()       ->  "PROG: fatal: out of memory", exit 111 */
void qdie_usage(const char *usage) __attribute__((noreturn));
void qdie_nomem(void) __attribute__((noreturn));

/* The common back end: "PROG: " kind (NULL for none, else e.g.
 * "warning: "), the strings of ap up to a NULL, ": strerror(err)" if err
 * is not 0, '\n'; one write(2) to fd 2. errno is preserved. */
void qlog_v(const char *kind, int err, const char *s, va_list ap);

/* 1 if errno value e is worth a retry (EINTR, EAGAIN, ENOMEM, ENOSPC, EIO,
 * EDQUOT, ENFILE, EMFILE, ETIMEDOUT, ...), 0 if it is permanent. */
int errno_is_temp(int e);

/* Formats an unsigned number into buf (at least FMT_ULONG bytes), NUL-ended;
 * returns buf. For building log lines without stdio. */
char *qlog_ulong(char *buf, unsigned long n);

/* s as one word of a log line into dest (size bytes, NUL-ended, cut at
 * size - 1): every blank as '?' (qlog's own mapping takes the other
 * control bytes). For addresses and other client text that a log reader
 * splits at blanks; returns dest. QLOG_WORD_MAX fits any address. */
#define QLOG_WORD_MAX 1024
char *qlog_word(char *dest, size_t size, const char *s);

#endif
