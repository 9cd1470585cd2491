#ifndef UNIXSOCK_H
#define UNIXSOCK_H
/*
 * unixsock: the listening Unix socket of a service (qauthd, qdkimd).
 * libc only, so that programs of either licence family may link it.
 * Library code: it never exits and never prints.
 */
#include <sys/types.h>

/* Binds path afresh (an old socket there is removed) as a socket of type
 * (SOCK_STREAM or SOCK_SEQPACKET, close-on-exec), owned by uid and gid
 * ((uid_t)-1 or (gid_t)-1: unchanged), mode 0660 when gid is given, else
 * 0600, and listens with backlog. The socket, or -1 + errno with *step
 * naming what failed ("create a socket", "remove", "bind", "set the owner
 * of", "set the mode of", "listen on"; ENAMETOOLONG: path too long). */
int unixsock_bind(const char *path, int type, uid_t uid, gid_t gid, int backlog, const char **step);

#endif
