#ifndef QAUTH_H
#define QAUTH_H
/*
 * qauth's internals, split out of qauth.c so that unit tests link them.
 *
 * The failure table (qauth_fail.c): QHOME/auth/failures is a file of
 * QAUTH_FAIL_SLOTS fixed slots of QAUTH_FAIL_SLOTLEN bytes (32 KiB in all,
 * so it never grows). A client address is hashed to a slot; the slot holds
 * the address hash, the count of recent failures and the time of the last
 * one. Updates happen under flock(2) with one pwrite(2) of one slot, so
 * concurrent qauth processes never lose or tear an update. A slot whose
 * last failure is older than the window counts as zero; a slot taken by
 * another address is simply overwritten (the table is a cache, not a log).
 */
#include <stddef.h>

#define QAUTH_FAIL_FILE "auth/failures"
#define QAUTH_FAIL_DIR "auth"
#define QAUTH_FAIL_SLOTS 1024
#define QAUTH_FAIL_SLOTLEN 32
#define QAUTH_FAIL_COUNT_MAX 1000000UL /* counts are clipped here */

/* Records one failed login from ip at time now: *count = failures within
 * window seconds, this one included. 0, -1 + errno (then *count = 1). */
int qauth_fail_add(const char *fn, const char *ip, unsigned long now,
                   unsigned long window, unsigned long *count);
/* Forgets the failures of ip (after a good login). 0, -1 + errno. */
int qauth_fail_clear(const char *fn, const char *ip);

/* The delay in milliseconds after the count-th recent failure: base
 * doubled for each earlier failure, at most max. */
unsigned long qauth_fail_delay(unsigned long count, unsigned long base, unsigned long max);

/* qauth_verify.c: 1 if password matches the crypt(3) hash, 0 if not (also
 * for a hash that is not a usable crypt hash: "!", "*", empty). The final
 * comparison takes the same time wherever the strings differ. */
int qauth_verify(const char *password, const char *hash);
/* Spends the time of one check against a hash of the default kind, for
 * unknown users and locked accounts. Always returns 0. */
int qauth_verify_dummy(const char *password);
/* 1 if a and b (NUL-terminated) are equal, compared in constant time for
 * a given length of b. */
int qauth_streq_ct(const char *a, const char *b);

#endif
