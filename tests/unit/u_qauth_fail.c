/* tests/unit/u_qauth_fail.c: qauth's failure table, per address and per
 * user name, with its lockouts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "qauth.h"

static char fn[64];

static int ipkey_is(const char *ip, const char *want)
{
  char k[QAUTH_FAIL_IPKEY_MAX];
  size_t n = qauth_fail_ipkey(k, sizeof k, ip);

  return n == strlen(want) && strcmp(k, want) == 0;
}

/* one failure of ip (as its key) and user (a key, or NULL) at now */
static int add(const char *ip, const char *user, unsigned long now,
               const struct qauth_fail_conf *c, struct qauth_fail_state *st)
{
  char k[QAUTH_FAIL_IPKEY_MAX];

  qauth_fail_ipkey(k, sizeof k, ip);
  return qauth_fail_add(fn, k, user, now, c, st);
}

static int locked(const char *ip, const char *user, unsigned long now,
                  const struct qauth_fail_conf *c, struct qauth_fail_state *st)
{
  char k[QAUTH_FAIL_IPKEY_MAX];

  qauth_fail_ipkey(k, sizeof k, ip);
  return qauth_fail_locked(fn, k, user, now, c, st);
}

int main(void)
{
  char dir[] = "/tmp/u_qauth_fail.XXXXXX";
  char k[QAUTH_FAIL_IPKEY_MAX];
  char u[16];
  char name[64];
  char junk[4096];
  struct qauth_fail_conf c = {600, 5, 0, 300};
  struct qauth_fail_state st;
  struct stat sb;
  unsigned long t;
  int i;
  int good;
  int fd;

  plan(45);
  if (mkdtemp(dir) == NULL) return 1;
  strcpy(fn, dir);
  strcat(fn, "/failures");

  /* the keys */
  ok(ipkey_is("192.0.2.1", "192.0.2.1"), "IPv4: the whole address");
  ok(ipkey_is("::ffff:192.0.2.1", "192.0.2.1"), "IPv4 mapped into IPv6: as IPv4");
  ok(ipkey_is("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"), "IPv6: its /64");
  ok(ipkey_is("2001:DB8:1:2::99", "2001:db8:1:2::/64"), "IPv6 in any spelling: the same /64");
  ok(ipkey_is("::1", "::1"), "IPv6 loopback: whole");
  ok(ipkey_is("127.0.0.2", "127.0.0.2"), "IPv4 loopback: whole");
  ok(ipkey_is("local", "local"), "not an address: as given");
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  ok(qauth_fail_ipkey(k, sizeof k, name) == sizeof k - 1 && strlen(k) == sizeof k - 1,
     "a long non-address is cut to fit");
  ok(qauth_fail_userkey(u, sizeof u, "Bob@Test.EX", 11) == 11 && strcmp(u, "bob@test.ex") == 0,
     "user key: lowercased");
  ok(qauth_fail_userkey(u, sizeof u, "x", 0) == 0, "user key: empty refused");
  ok(qauth_fail_userkey(u, sizeof u, "0123456789abcdef", 16) == 0 && u[0] == '\0',
     "user key: too long refused");

  /* counts per address and per user name, apart */
  ok(add("192.0.2.1", "bob@x", 1000, &c, &st) == 0 && st.ip_count == 1 && st.user_count == 1,
     "first failure: 1 for the address, 1 for the user");
  ok(add("192.0.2.1", "ann@x", 1010, &c, &st) == 0 && st.ip_count == 2 && st.user_count == 1,
     "another user from the address: address 2, that user 1");
  ok(add("192.0.2.2", "bob@x", 1010, &c, &st) == 0 && st.ip_count == 1 && st.user_count == 2,
     "the user from another address: address 1, user 2");
  ok(add("2001:db8:1:2::1", "bob@x", 1010, &c, &st) == 0 && st.ip_count == 1 &&
     add("2001:db8:1:2::2", "bob@x", 1011, &c, &st) == 0 && st.ip_count == 2 &&
     st.user_count == 4, "two addresses of one /64 count together; the user counts all");
  ok(add("192.0.2.1", NULL, 1020, &c, &st) == 0 && st.ip_count == 3 && st.user_count == 0,
     "no user key: only the address counts");

  /* a good login forgets the user's count, never the address's */
  ok(qauth_fail_forget(fn, "ann@x") == 0, "forget ann after her good login");
  ok(add("192.0.2.1", "ann@x", 1030, &c, &st) == 0 && st.user_count == 1 && st.ip_count == 4,
     "ann starts again at 1; the address goes on at 4");
  ok(qauth_fail_forget(fn, "nobody@x") == 0, "forgetting an unknown key is fine");

  /* the window */
  ok(add("192.0.2.1", "bob@x", 2000, &c, &st) == 0 && st.ip_count == 1 && st.user_count == 1,
     "window passed: both counts start again");
  ok(add("192.0.2.1", "bob@x", 1500, &c, &st) == 0 && st.ip_count == 1,
     "a clock that went back starts the count again");

  /* lockout of an address: c.lock_ip = 5 within the window, 300 s */
  for (i = 0, t = 3000; i < 4; i++, t++) add("198.51.100.7", "u1@x", t, &c, &st);
  ok(st.ip_count == 4 && !st.ip_new_lock && st.ip_until == 0, "4 failures: no lockout yet");
  ok(locked("198.51.100.7", "u1@x", 3004, &c, &st) == 0, "not locked out before the 5th");
  ok(add("198.51.100.7", "u2@x", 3004, &c, &st) == 0 && st.ip_new_lock &&
     st.ip_until == 3304 && !st.user_new_lock, "the 5th failure locks the address out for 300 s");
  ok(locked("198.51.100.7", "u9@x", 3100, &c, &st) == 1 && st.ip_until == 3304 &&
     st.ip_count == 5, "locked out, whatever user it tries");
  ok(locked("198.51.100.8", "u1@x", 3100, &c, &st) == 0, "another address is not");
  ok(locked("198.51.100.7", "u1@x", 3304, &c, &st) == 0, "free again when the lockout ends");
  ok(add("198.51.100.7", "u1@x", 3305, &c, &st) == 0 && st.ip_new_lock && st.ip_count == 6,
     "kept guessing through the lockout: the next failure locks it out again");
  ok(locked("198.51.100.7", NULL, 3305 + 299, &c, &st) == 1, "second lockout in force");
  ok(locked("198.51.100.7", NULL, 3305 + 300 + 601, &c, &st) == 0 &&
     add("198.51.100.7", NULL, 3305 + 300 + 601, &c, &st) == 0 && st.ip_count == 1 &&
     !st.ip_new_lock, "quiet for a window after the lockout: a fresh start");
  c.lock_time = 0;
  for (i = 0, t = 5000; i < 6; i++, t++) add("198.51.100.9", NULL, t, &c, &st);
  ok(st.ip_count == 6 && !st.ip_new_lock && locked("198.51.100.9", NULL, t, &c, &st) == 0,
     "authlocktime 0: no lockouts");
  c.lock_time = 300;

  /* user names: only delayed by default, locked out with lock_user */
  for (i = 0, t = 6000; i < 8; i++, t++) {
    snprintf(name, sizeof name, "203.0.113.%d", i + 1);
    add(name, "carol@x", t, &c, &st);
  }
  ok(st.user_count == 8 && !st.user_new_lock && locked("203.0.113.99", "carol@x", t, &c, &st) == 0,
     "lock_user 0: a user name is counted but never locked out");
  c.lock_user = 10;
  add("203.0.113.9", "carol@x", t, &c, &st);
  ok(!st.user_new_lock && st.user_count == 9, "lock_user 10: 9 failures, no lockout");
  add("203.0.113.10", "carol@x", t, &c, &st);
  ok(st.user_new_lock && st.user_until == t + 300 && !st.ip_new_lock,
     "the 10th failure from anywhere locks the user name out");
  qauth_fail_userkey(u, sizeof u, "Carol@X", 7);
  ok(locked("203.0.113.99", u, t + 1, &c, &st) == 1 && st.user_until == t + 300 &&
     st.ip_until == 0, "locked out from every address, in any case");
  ok(qauth_fail_forget(fn, "carol@x") == 0 &&
     locked("203.0.113.99", "carol@x", t + 2, &c, &st) == 1,
     "forgetting the count leaves the lockout in force");
  c.lock_user = 0;
  ok(locked("203.0.113.99", "carol@x", t + 2, &c, &st) == 0, "lock_user 0 lifts it");

  /* a flood of one-off names and addresses never pushes out a count that
   * keeps growing, and the table never grows */
  for (i = 0, t = 8000; i < 8; i++) add("192.0.2.200", NULL, t, &c, &st);
  for (i = 0; i < 6000; i++) {
    snprintf(name, sizeof name, "flood%d@x", i);
    snprintf(k, sizeof k, "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
    add(k, name, t, &c, &st);
  }
  ok(add("192.0.2.200", NULL, t, &c, &st) == 0 && st.ip_count == 9,
     "after 6000 one-off failures the guessing address still counts 9");
  ok(stat(fn, &sb) == 0 && sb.st_size <= QAUTH_FAIL_SIZE, "the table never grows past its size");
  ok((sb.st_mode & 077) == 0, "table not readable by others");

  /* a table in another format (an older qauth's) starts afresh */
  unlink(fn);
  fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  memset(junk, 0xff, sizeof junk);
  good = fd != -1;
  for (i = 0; good && i < 8; i++) good = write(fd, junk, sizeof junk) == (ssize_t)sizeof junk;
  if (fd != -1) close(fd);
  ok(good && add("192.0.2.1", "bob@x", 9000, &c, &st) == 0 && st.ip_count == 1 &&
     st.user_count == 1 && locked("192.0.2.1", "bob@x", 9000, &c, &st) == 0,
     "a foreign table is replaced by an empty one");

  ok(qauth_fail_delay(1, 1000, 16000) == 1000, "delay after one failure: base");
  ok(qauth_fail_delay(3, 1000, 16000) == 4000, "delay doubles");
  ok(qauth_fail_delay(50, 1000, 16000) == 16000, "delay capped");
  ok(qauth_fail_delay((unsigned long)-1, 1000, (unsigned long)-1) == (unsigned long)-1,
     "no overflow");

  unlink(fn);
  rmdir(dir);
  return done_testing();
}
