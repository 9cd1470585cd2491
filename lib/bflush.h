#ifndef BFLUSH_H
#define BFLUSH_H
/*
 * bflush: buffer_flush that reports a failed write. libowfat 0.32 as
 * Debian builds it returns 0 from buffer_flush even when the write failed
 * (buffer_stubborn's int -1 is tested as a 64-bit value, which is
 * positive), so a peer that is gone goes unnoticed. bflush writes the
 * pending output through the buffer's own write function.
 */
#include <buffer.h>

int bflush(buffer *b); /* 0, or -1 + errno (the pending output is dropped) */

#endif
