#ifndef FDPASS_H
#define FDPASS_H
/*
 * fdpass: one message with one descriptor attached (SCM_RIGHTS) over a
 * SOCK_SEQPACKET socket, as qlspawn hands queue files to its workers.
 */
#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes of buf with fd. 0, or -1 + errno (EPIPE: the peer is gone). */
int fdpass_send(int sock, const char *buf, size_t len, int fd);
/* Receives one message (at most size bytes) and its descriptor (close-on-exec)
 * into *fd. Its length; 0 the peer is gone; -1 + errno (EPROTO: no
 * descriptor, a message cut short, or more than one descriptor). */
ssize_t fdpass_recv(int sock, char *buf, size_t size, int *fd);

#endif
