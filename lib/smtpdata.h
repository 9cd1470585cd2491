#ifndef SMTPDATA_H
#define SMTPDATA_H
/*
 * smtpdata_put: a message from the queue file onto an SMTP or LMTP
 * connection after 354 (RFC 5321 4.5.2, RFC 2033): LF line ends become
 * CRLF, a line starting with '.' gets one more, a last line without LF is
 * ended, and the final ".\r\n" follows. Used by qremote and by qlspawn's
 * LMTP workers.
 *
 * With wrap > 0 no line goes out longer than wrap octets (without its
 * CRLF; RFC 5321 4.5.3.1.6: 998 for SMTP): a longer one is broken there,
 * in the header into a continuation line (CRLF SP, as Postfix does), in
 * the body into two lines. qremote wraps; the LMTP workers hand the
 * message to the local store as it is (wrap 0).
 */
#include <sys/types.h>

#include <buffer.h>

/* Writes len bytes of fd from offset start to out, lines cut at wrap. 0; -1 a local read
 * error or a file shorter than len (errno; the connection must be
 * dropped without the final dot); -2 buffer_put failed (the connection
 * is broken). */
#define SMTPDATA_LINE_MAX 998 /* RFC 5321 4.5.3.1.6: 1000 with CRLF */

int smtpdata_put(buffer *out, int fd, off_t start, unsigned long long len, size_t wrap);

#endif
