#ifndef SMTPDATA_H
#define SMTPDATA_H
/*
 * smtpdata_put: a message from the queue file onto an SMTP or LMTP
 * connection after 354 (RFC 5321 4.5.2, RFC 2033): LF line ends become
 * CRLF, a line starting with '.' gets one more, a last line without LF is
 * ended, and the final ".\r\n" follows. Used by qremote and by qlspawn's
 * LMTP workers.
 */
#include <sys/types.h>

#include <buffer.h>

/* Writes len bytes of fd from offset start to out. 0; -1 a local read
 * error or a file shorter than len (errno; the connection must be
 * dropped without the final dot); -2 buffer_put failed (the connection
 * is broken). */
int smtpdata_put(buffer *out, int fd, off_t start, unsigned long long len);

#endif
