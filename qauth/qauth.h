#ifndef QAUTH_H
#define QAUTH_H
/*
 * qauth's internals, split out of qauth.c so that unit tests link them.
 *
 * The failure table (qauth_fail.c): QHOME/auth/failures counts recent
 * failed logins under two kinds of keys, each client address (an IPv4
 * address whole, an IPv6 address by its /64, loopback whole: see
 * qauth_fail_ipkey) and each user name as typed (lowercased). It is a
 * file of a header slot and QAUTH_FAIL_BUCKETS buckets of QAUTH_FAIL_WAYS
 * slots of QAUTH_FAIL_SLOTLEN bytes (128 KiB and 32 bytes in all), so it
 * never grows. A key is hashed, with a random salt kept in the header, to
 * a bucket; a new key takes a free or lapsed slot there, else the slot
 * with the fewest failures (so a flood of one-off names cannot push out
 * the count of an address that keeps guessing). A count lapses once its
 * last failure is older than the window. A key whose count reaches its
 * threshold is locked out for lock_time seconds: qauth then refuses it
 * without checking a password. Updates happen under flock(2) with
 * pwrite(2) of whole slots, so concurrent qauth processes never lose or
 * tear an update. The table is a cache, not a log: a damaged or foreign
 * header makes a new, empty table.
 */
#include <stddef.h>

#define QAUTH_FAIL_FILE "auth/failures"
#define QAUTH_FAIL_DIR "auth"
#define QAUTH_FAIL_SLOTLEN 32
#define QAUTH_FAIL_WAYS 8          /* slots per bucket */
#define QAUTH_FAIL_BUCKETS 512
#define QAUTH_FAIL_SIZE (QAUTH_FAIL_SLOTLEN * (1 + QAUTH_FAIL_WAYS * QAUTH_FAIL_BUCKETS))
#define QAUTH_FAIL_COUNT_MAX 1000000UL /* counts are clipped here */
#define QAUTH_FAIL_IPKEY_MAX 64    /* an address key with its NUL (IPv6 text + "/64") */

/* The settings of the table (control/authwindow, authlockip,
 * authlockuser, authlocktime). */
struct qauth_fail_conf {
  unsigned long window;    /* s: a count lapses this long after its last failure */
  unsigned long lock_ip;   /* failures that lock an address out; 0: never */
  unsigned long lock_user; /* failures that lock a user name out; 0: never */
  unsigned long lock_time; /* s a lockout lasts; 0: no lockouts */
};

/* What the table says about the two keys of one login. */
struct qauth_fail_state {
  unsigned long ip_count;   /* recent failures of the address */
  unsigned long user_count; /* recent failures of the user name */
  unsigned long ip_until;   /* the address is locked out until then; 0: not */
  unsigned long user_until; /* the same for the user name */
  int ip_new_lock;          /* qauth_fail_add: this failure locked the address out */
  int user_new_lock;        /* ... the user name */
};

/* The key of a client address into dest (size bytes, at least
 * QAUTH_FAIL_IPKEY_MAX): an IPv4 address (also one mapped into IPv6) and
 * ::1 whole, any other IPv6 address as its /64 ("2001:db8:1:2::/64"),
 * anything else as given, cut to fit. Length, without the NUL. */
size_t qauth_fail_ipkey(char *dest, size_t size, const char *ip);
/* The key of a user name (len bytes) into dest (size bytes): ASCII
 * lowercased, NUL-terminated. Length; 0 if empty or if it does not fit. */
size_t qauth_fail_userkey(char *dest, size_t size, const char *user, size_t len);

/* Before a password is checked: 1 if ipkey (with c->lock_ip set) or
 * userkey (NULL for none; with c->lock_user set) is locked out at time
 * now, 0 if not, -1 + errno. Fills st. A refused attempt keeps the
 * count of a locked key from lapsing, so that a client that goes on
 * guessing is locked out again by its next failure. */
int qauth_fail_locked(const char *fn, const char *ipkey, const char *userkey,
                      unsigned long now, const struct qauth_fail_conf *c,
                      struct qauth_fail_state *st);
/* Records one failed login of ipkey and userkey (NULL for none) at time
 * now; fills st with the counts, this failure included, and says whether
 * it started a lockout. 0, -1 + errno (then the counts are 1). */
int qauth_fail_add(const char *fn, const char *ipkey, const char *userkey,
                   unsigned long now, const struct qauth_fail_conf *c,
                   struct qauth_fail_state *st);
/* After a good login: forgets the count of userkey (a lockout in force
 * stays). The address's count is never forgotten: one good account must
 * not buy an attacker a fresh start. 0, -1 + errno. */
int qauth_fail_forget(const char *fn, const char *userkey);

/* The delay in milliseconds after the count-th recent failure: base
 * doubled for each earlier failure, at most max. */
unsigned long qauth_fail_delay(unsigned long count, unsigned long base, unsigned long max);

/* The password check (qauth_check.c) and the password service (qauthd):
 * the hashes (control/passwords.cdb, and /etc/shadow for the system
 * accounts of control/authsystem) are read by root, the instance's owner
 * and qmta-auth only. qauth checks a password itself when it can read
 * the hash, and otherwise (run by qsmtpd as qmta-smtpd) asks qauthd over
 * the Unix socket QHOME/run/authd. One request a connection:
 *   client: KIND NAME "\0" PASSWORD "\0"   (at most QAUTHD_REQUEST_MAX bytes)
 *   qauthd: one byte, ANSWER
 * KIND 'v': NAME is a virtual user's key ("user@domain", lowercase);
 * 's': a system account's login name. ANSWER: 'Y' the password matches,
 * 'N' it does not (or no such user: the time of a check is spent all the
 * same), 'L' the account has no password ("!", "*"), 'T' a temporary
 * failure (a damaged or unreadable map; qauthd logs why). Failure counts,
 * delays and the log lines of a login stay with qauth. */
#define QAUTH_KIND_VIRTUAL 'v'
#define QAUTH_KIND_SYSTEM 's'
#define QAUTH_YES 'Y'
#define QAUTH_NO 'N'
#define QAUTH_NOPASS 'L'
#define QAUTH_TEMP 'T'
#define QAUTHD_SOCKET "run/authd"
#define QAUTHD_REQUEST_MAX 1024
/* The check in this process: an ANSWER; after QAUTH_TEMP, errno. */
int qauth_check(char kind, const char *name, const char *password);

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
