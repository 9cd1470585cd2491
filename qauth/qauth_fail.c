/*
 * qauth_fail: the failure table of qauth, counted per client address and
 * per user name (see qauth.h).
 * File layout, native byte order (the file never leaves the machine):
 *   slot 0, the header: bytes 0-7 TABLE_MAGIC, bytes 8-15 the salt of the
 *     hash, the rest zero
 *   then bucket b (0 <= b < QAUTH_FAIL_BUCKETS) at slot 1 + b * WAYS,
 *   each slot:
 *     bytes 0-7    salted FNV-1a hash of kind and key (0: a free slot)
 *     bytes 8-15   failures counted since the count last lapsed
 *     bytes 16-23  time of the last failure (or refused attempt of a
 *                  locked-out key), seconds since the epoch
 *     bytes 24-31  locked out until then (0: never locked)
 * The kind is 'a' for an address key, 'u' for a user name, so that a user
 * name that looks like an address never shares a count with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qauth.h"

#define TABLE_MAGIC "qauthF2\n" /* 8 bytes; "F2": the per-address-and-user layout */
#define KIND_IP 'a'
#define KIND_USER 'u'
#define BUCKET_LEN (QAUTH_FAIL_WAYS * QAUTH_FAIL_SLOTLEN)

struct entry {
  uint64_t hash;
  uint64_t count;
  uint64_t last;
  uint64_t until;
};

/* FNV-1a over the salt, the kind and the key: not a keyed PRF, but with
 * a secret salt nobody can aim names at one bucket. */
static uint64_t key_hash(uint64_t salt, char kind, const char *key)
{
  uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
  size_t i;

  for (i = 0; i < 8; i++) {
    h ^= (unsigned char)(salt >> (8 * i));
    h *= 1099511628211ULL;
  }
  h ^= (unsigned char)kind;
  h *= 1099511628211ULL;
  while (*key != '\0') {
    h ^= (unsigned char)*key++;
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : h; /* 0 marks a free slot */
}

static void entry_get(struct entry *e, const unsigned char *s)
{
  memcpy(&e->hash, s, 8);
  memcpy(&e->count, s + 8, 8);
  memcpy(&e->last, s + 16, 8);
  memcpy(&e->until, s + 24, 8);
}

static void entry_put(unsigned char *s, const struct entry *e)
{
  memcpy(s, &e->hash, 8);
  memcpy(s + 8, &e->count, 8);
  memcpy(s + 16, &e->last, 8);
  memcpy(s + 24, &e->until, 8);
}

/* The count that still holds at now: 0 once the window has passed since
 * the last failure, or if the clock went back. */
static uint64_t entry_count(const struct entry *e, uint64_t now, uint64_t window)
{
  if (e->last > now || now - e->last > window) return 0;
  return e->count;
}

/* The end of a lockout in force at now, 0 if none. A lockout never lasts
 * longer than lock_time from now (a clock that went back, or a shorter
 * setting), and lock_time 0 turns lockouts off. */
static uint64_t entry_until(const struct entry *e, uint64_t now, uint64_t lock_time)
{
  if (lock_time == 0 || e->until <= now) return 0;
  if (e->until - now > lock_time) return now + lock_time;
  return e->until;
}

/* Reads the salt from the header, or starts a new table (empty, with a
 * new salt) when the header is missing or not ours. 0, -1 + errno. */
static int table_salt(int fd, uint64_t *salt)
{
  unsigned char h[QAUTH_FAIL_SLOTLEN];
  ssize_t r;
  ssize_t w;

  r = pread(fd, h, sizeof h, 0);
  if (r == -1) return -1;
  if (r == (ssize_t)sizeof h && memcmp(h, TABLE_MAGIC, 8) == 0) {
    memcpy(salt, h + 8, 8);
    return 0;
  }

  /* the salt keeps buckets unpredictable, so that nobody can pick names
   * that share a bucket with an address to push its count out */
  if (getrandom(salt, sizeof *salt, GRND_NONBLOCK) != (ssize_t)sizeof *salt)
    *salt = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
  if (ftruncate(fd, 0) == -1) return -1;
  memset(h, 0, sizeof h);
  memcpy(h, TABLE_MAGIC, 8);
  memcpy(h + 8, salt, 8);
  w = pwrite(fd, h, sizeof h, 0);
  if (w == -1) return -1;
  if (w != (ssize_t)sizeof h) {
    errno = EIO;
    return -1;
  }
  return 0;
}

/* Opens (creating it if needed) and locks the table, and reads its salt;
 * -1 + errno. A table created by root is given to the owner of its
 * directory, so that qauth run by an unprivileged daemon can go on
 * updating it. */
static int table_open(const char *fn, uint64_t *salt)
{
  int fd;
  int e;
  struct stat st;
  char dir[256];
  const char *slash;
  size_t len;

  fd = open(fn, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd != -1 && geteuid() == 0) {
    slash = strrchr(fn, '/');
    len = slash == NULL ? 0 : (size_t)(slash - fn);
    if (len == 0) {
      dir[0] = '.';
      len = 1;
    } else if (len >= sizeof dir) {
      len = 0;
    } else {
      memcpy(dir, fn, len);
    }
    if (len != 0) {
      dir[len] = '\0';
      if (stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) == -1) {
        close(fd);
        unlink(fn);
        return -1;
      }
    }
  }
  if (fd == -1 && errno == EEXIST)
    fd = open(fn, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd == -1) return -1;
  if (flock(fd, LOCK_EX) == -1 || table_salt(fd, salt) == -1) {
    e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static off_t bucket_offset(uint64_t hash)
{
  return (off_t)QAUTH_FAIL_SLOTLEN * (1 + (off_t)(hash % QAUTH_FAIL_BUCKETS) * QAUTH_FAIL_WAYS);
}

/* Reads the bucket of hash into b (a missing or short bucket reads as
 * free slots). 0, -1 + errno. */
static int bucket_read(int fd, uint64_t hash, unsigned char b[BUCKET_LEN])
{
  ssize_t r;

  memset(b, 0, BUCKET_LEN);
  r = pread(fd, b, BUCKET_LEN, bucket_offset(hash));
  if (r == -1) return -1;
  if (r != BUCKET_LEN) memset(b + r, 0, BUCKET_LEN - (size_t)r);
  return 0;
}

static int slot_write(int fd, uint64_t hash, size_t way, const struct entry *e)
{
  unsigned char s[QAUTH_FAIL_SLOTLEN];
  ssize_t w;

  entry_put(s, e);
  w = pwrite(fd, s, sizeof s, bucket_offset(hash) + (off_t)(way * QAUTH_FAIL_SLOTLEN));
  if (w == -1) return -1;
  if (w != (ssize_t)sizeof s) {
    errno = EIO;
    return -1;
  }
  return 0;
}

/* The way of hash in bucket b, or -1. */
static int bucket_find(const unsigned char b[BUCKET_LEN], uint64_t hash, struct entry *e)
{
  size_t way;

  for (way = 0; way < QAUTH_FAIL_WAYS; way++) {
    entry_get(e, b + way * QAUTH_FAIL_SLOTLEN);
    if (e->hash == hash) return (int)way;
  }
  return -1;
}

/* The way a new key takes in bucket b: a free slot, else one whose count
 * has lapsed and that is not locked out, else the one with the fewest
 * failures (one not locked out first, then the oldest). */
static size_t bucket_victim(const unsigned char b[BUCKET_LEN], uint64_t now,
                            const struct qauth_fail_conf *c)
{
  struct entry e;
  size_t way;
  size_t best = 0;
  uint64_t best_count = 0;
  uint64_t best_last = 0;
  int best_locked = 1;
  int have = 0;

  for (way = 0; way < QAUTH_FAIL_WAYS; way++) {
    uint64_t n;
    int locked;

    entry_get(&e, b + way * QAUTH_FAIL_SLOTLEN);
    if (e.hash == 0) return way;
    n = entry_count(&e, now, c->window);
    locked = entry_until(&e, now, c->lock_time) != 0;
    if (n == 0 && !locked) return way;
    if (!have || (best_locked && !locked) ||
        (best_locked == locked && (n < best_count || (n == best_count && e.last < best_last)))) {
      best = way;
      best_count = n;
      best_last = e.last;
      best_locked = locked;
      have = 1;
    }
  }
  return best;
}

size_t qauth_fail_ipkey(char *dest, size_t size, const char *ip)
{
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  unsigned char bin[16];
  char text[INET6_ADDRSTRLEN];
  size_t len;
  int net64 = 0;

  if (size == 0) return 0;
  if (inet_pton(AF_INET, ip, bin) == 1) {
    if (inet_ntop(AF_INET, bin, text, sizeof text) == NULL) text[0] = '\0';
  } else if (inet_pton(AF_INET6, ip, bin) == 1) {
    if (memcmp(bin, mapped, sizeof mapped) == 0) {
      /* a dual-stack listener's IPv4 client: the same key as plain IPv4 */
      if (inet_ntop(AF_INET, bin + 12, text, sizeof text) == NULL) text[0] = '\0';
    } else {
      /* one site gets a whole /64 (RFC 6177): count the /64 */
      if (memcmp(bin, loop6, sizeof loop6) != 0) {
        memset(bin + 8, 0, 8);
        net64 = 1;
      }
      if (inet_ntop(AF_INET6, bin, text, sizeof text) == NULL) text[0] = '\0';
    }
  } else {
    /* not an address ("local", or a listener's own form): as given */
    len = strnlen(ip, size - 1);
    memcpy(dest, ip, len);
    dest[len] = '\0';
    return len;
  }
  len = strlen(text);
  if (len + (net64 ? 3 : 0) >= size) {
    dest[0] = '\0';
    return 0;
  }
  memcpy(dest, text, len);
  if (net64) {
    memcpy(dest + len, "/64", 3);
    len += 3;
  }
  dest[len] = '\0';
  return len;
}

size_t qauth_fail_userkey(char *dest, size_t size, const char *user, size_t len)
{
  size_t i;

  if (len == 0 || len >= size) {
    if (size != 0) dest[0] = '\0';
    return 0;
  }
  for (i = 0; i < len; i++) {
    char ch = user[i];
    dest[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
  }
  dest[len] = '\0';
  return len;
}

/* Looks key up for qauth_fail_locked: its count into *count, the end of
 * its lockout into *until (0: none, or threshold 0); a locked key's last
 * failure is moved to now if its count still holds. 0, -1 + errno. */
static int key_locked(int fd, uint64_t salt, char kind, const char *key, unsigned long threshold,
                      uint64_t now, const struct qauth_fail_conf *c, unsigned long *count,
                      unsigned long *until)
{
  unsigned char b[BUCKET_LEN];
  struct entry e;
  uint64_t hash = key_hash(salt, kind, key);
  uint64_t n;
  uint64_t end;
  int way;

  *count = 0;
  *until = 0;
  if (bucket_read(fd, hash, b) == -1) return -1;
  way = bucket_find(b, hash, &e);
  if (way == -1) return 0;
  n = entry_count(&e, now, c->window);
  end = threshold == 0 ? 0 : entry_until(&e, now, c->lock_time);
  *count = (unsigned long)n;
  *until = (unsigned long)end;
  if (end != 0 && n != 0) {
    e.last = now;
    if (slot_write(fd, hash, (size_t)way, &e) == -1) return -1;
  }
  return 0;
}

int qauth_fail_locked(const char *fn, const char *ipkey, const char *userkey,
                      unsigned long now, const struct qauth_fail_conf *c,
                      struct qauth_fail_state *st)
{
  uint64_t salt;
  int fd;
  int e;

  memset(st, 0, sizeof *st);
  fd = table_open(fn, &salt);
  if (fd == -1) return -1;
  if (key_locked(fd, salt, KIND_IP, ipkey, c->lock_ip, now, c, &st->ip_count, &st->ip_until) ==
      -1)
    goto fail;
  if (userkey != NULL &&
      key_locked(fd, salt, KIND_USER, userkey, c->lock_user, now, c, &st->user_count,
                 &st->user_until) == -1)
    goto fail;
  if (close(fd) == -1) return -1;
  return st->ip_until != 0 || st->user_until != 0;

fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* Counts one failure of key: *count, *until and *new_lock as in struct
 * qauth_fail_state. 0, -1 + errno. */
static int key_add(int fd, uint64_t salt, char kind, const char *key, unsigned long threshold,
                   uint64_t now, const struct qauth_fail_conf *c, unsigned long *count,
                   unsigned long *until, int *new_lock)
{
  unsigned char b[BUCKET_LEN];
  struct entry e;
  uint64_t hash = key_hash(salt, kind, key);
  uint64_t n;
  int way;

  if (bucket_read(fd, hash, b) == -1) return -1;
  way = bucket_find(b, hash, &e);
  if (way == -1) {
    way = (int)bucket_victim(b, now, c);
    memset(&e, 0, sizeof e);
    e.hash = hash;
  }
  n = entry_count(&e, now, c->window);
  if (n < QAUTH_FAIL_COUNT_MAX) n++;
  e.count = n;
  e.last = now;
  e.until = entry_until(&e, now, c->lock_time);
  if (threshold != 0 && c->lock_time != 0 && n >= threshold && e.until == 0) {
    e.until = now + c->lock_time;
    *new_lock = 1;
  }
  if (slot_write(fd, hash, (size_t)way, &e) == -1) return -1;
  *count = (unsigned long)n;
  *until = threshold == 0 ? 0 : (unsigned long)e.until;
  return 0;
}

int qauth_fail_add(const char *fn, const char *ipkey, const char *userkey,
                   unsigned long now, const struct qauth_fail_conf *c,
                   struct qauth_fail_state *st)
{
  uint64_t salt;
  int fd;
  int e;

  memset(st, 0, sizeof *st);
  st->ip_count = 1;
  st->user_count = userkey != NULL ? 1 : 0;
  fd = table_open(fn, &salt);
  if (fd == -1) return -1;
  if (key_add(fd, salt, KIND_IP, ipkey, c->lock_ip, now, c, &st->ip_count, &st->ip_until,
              &st->ip_new_lock) == -1)
    goto fail;
  if (userkey != NULL &&
      key_add(fd, salt, KIND_USER, userkey, c->lock_user, now, c, &st->user_count,
              &st->user_until, &st->user_new_lock) == -1)
    goto fail;
  if (close(fd) == -1) return -1;
  return 0;

fail:
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

int qauth_fail_forget(const char *fn, const char *userkey)
{
  unsigned char b[BUCKET_LEN];
  struct entry e;
  uint64_t salt;
  uint64_t hash;
  int way;
  int fd;
  int err;

  fd = table_open(fn, &salt);
  if (fd == -1) return -1;
  hash = key_hash(salt, KIND_USER, userkey);
  if (bucket_read(fd, hash, b) == -1) goto fail;
  way = bucket_find(b, hash, &e);
  if (way != -1) {
    e.count = 0;
    e.last = 0;
    if (e.until == 0) e.hash = 0; /* nothing left to keep: a free slot */
    if (slot_write(fd, hash, (size_t)way, &e) == -1) goto fail;
  }
  if (close(fd) == -1) return -1;
  return 0;

fail:
  err = errno;
  close(fd);
  errno = err;
  return -1;
}

unsigned long qauth_fail_delay(unsigned long count, unsigned long base, unsigned long max)
{
  unsigned long d = base;
  unsigned long i;

  for (i = 1; i < count && d < max; i++) {
    if (__builtin_mul_overflow(d, 2UL, &d)) return max;
  }
  return d > max ? max : d;
}
