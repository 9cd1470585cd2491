#ifndef QREAD_H
#define QREAD_H
/*
 * qread: reading the queue as root-run tools do (qstat, qqueue), treating
 * every directory a writer can write as hostile (queue.h).
 */
#include <stddef.h>

#include <stralloc.h>

/* Opens path (DIR/NAME) for reading: DIR must not be a link, NAME must be
 * a plain file (no link; a FIFO does not block). fd, or -1 + errno
 * (EINVAL: not a plain file). */
int qread_open(const char *path);
/* Reads queue/info/NN/ID into info, at most max bytes (empty if there is
 * none). 0, -1 + errno; ENOMEM is fatal to the caller. */
int qread_info(unsigned long id, stralloc *info, size_t max);
/* 1 if s contains sub, ASCII case ignored; else 0. */
int qread_contains(const char *s, const char *sub);

#endif
