#ifndef UNIXSOCK_H
#define UNIXSOCK_H
/*
 * unixsock: the listening Unix socket of a service (qauthd, qdkimd), and
 * its loop of a child process per connection.
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

/* Serves the connections of the listening socket lfd for ever, each in a
 * child process of its own: the child closes lfd and calls serve(fd),
 * which must end the child (_exit); at most max children at once (the
 * next connection waits). warn(what, errno) hears of a failed accept or
 * fork (the loop goes on). Never returns. */
void unixsock_serve(int lfd, unsigned long max, void (*serve)(int fd),
                    void (*warn)(const char *what, int err)) __attribute__((noreturn));

#endif
