#ifndef FDPASS_H
#define FDPASS_H
/*
 * fdpass: one message with one descriptor attached (SCM_RIGHTS) over a
 * SOCK_SEQPACKET socket, as qlspawn hands queue files to its workers (and
 * over stream sockets: qlisten's connections to its pool, a client to
 * qtlsd, qpop3d's session to its monitor).
 */
#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes of buf with fd. 0, or -1 + errno (EPIPE: the peer is gone). */
int fdpass_send(int sock, const char *buf, size_t len, int fd);
/* The same with sendmsg's flags added (MSG_DONTWAIT) to MSG_NOSIGNAL, for a
 * stream socket too: sendmsg's result (EINTR retried), which may be short
 * of len; the descriptor goes with the first byte. */
ssize_t fdpass_sendmsg(int sock, const char *buf, size_t len, int fd, int flags);
/* Receives one message (at most size bytes) and its descriptor (close-on-exec)
 * into *fd. Its length; 0 the peer is gone; -1 + errno (EPROTO: no
 * descriptor, a message cut short, or more than one descriptor). */
ssize_t fdpass_recv(int sock, char *buf, size_t size, int *fd);
/* One recvmsg (EINTR retried) with flags added to MSG_CMSG_CLOEXEC (a
 * stream socket: MSG_WAITALL): its result, and in *fd the descriptor that
 * came with it, -1 if none (the message may carry none). -1 + EPROTO when
 * the message or its descriptors were cut short (none kept). */
ssize_t fdpass_recvmsg(int sock, char *buf, size_t size, int *fd, int flags);

#endif
