#ifndef TLSD_H
#define TLSD_H
/*
 * tlsd: the session programs' side of qtlsd, the TLS service (qtlsd.8).
 * qsmtpd and qpop3d never link a TLS library and never see the key: for
 * TLS they hand the client's socket to qtlsd, which runs as its own
 * account, and go on talking plaintext through qtlsd.
 *
 * The session connects to qtlsd's Unix socket ($QTLSD) and sends one
 * request line with the client's socket attached (SCM_RIGHTS):
 *   "P 192.0.2.7\n"   STARTTLS/STLS: qtlsd answers "R\n" when it can start
 *                     TLS or "N reason\n" (no usable certificate: the
 *                     session goes on in plaintext). After R the session
 *                     tells the client to go ahead (220, +OK), sends "S",
 *                     and qtlsd does the handshake.
 *   "I 192.0.2.7\n"   implicit TLS (ports 465 and 995): the handshake at once.
 * The handshake's answer: "Y TLSv1.3 TLS_AES_256_GCM_SHA384\n", or
 * "N reason\n" (then the session ends: the client is gone or speaks no
 * TLS). After Y this connection carries the session's plaintext: the
 * session drops its own copies of the client's socket and reads and
 * writes this connection instead; qtlsd relays. Closing it ends TLS.
 * CVE-2011-0411: the session throws away whatever it had read before.
 */
#include <stddef.h>
#include <sys/types.h>

#define TLSD_LINE_MAX 256  /* an answer line */
#define TLSD_NAME_MAX 64   /* proto or cipher name */

/* Connects to path and sends the request kind ('P' or 'I') for client,
 * from ip. The connection, or -1 + errno. A connection that qtlsd closed
 * before the request went out is returned too: read its answer ("N busy"
 * when it has too many sessions; end of file otherwise). */
int tlsd_request(const char *path, int client, char kind, const char *ip);
/* One answer line from fd into line (size bytes, NUL-ended, without the
 * newline), waiting at most timeout seconds. Its length, or -1 (error,
 * end of file, timeout, too long). */
ssize_t tlsd_line(int fd, char *line, size_t size, unsigned int timeout);
/* From "Y proto cipher": the two names, cleaned (printable, no blanks,
 * no parentheses), cut to size. */
void tlsd_names(const char *line, char *proto, size_t psize, char *cipher, size_t csize);

#endif
