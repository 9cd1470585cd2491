/*
 * fuzz_maps: libFuzzer target for the map compilers of qnewmaps and
 * qpasswd (lib/maps_users.c, maps_aliases.c, maps_access.c,
 * maps_generics.c, maps_common.c, users_parseline.c): the text maps an
 * admin (or a tool writing for one) puts into control/. The first byte
 * chooses the map; the rest becomes its text file in a scratch instance
 * (a temp directory under $TMPDIR, else /dev/shm when there is one: the
 * compilers fsync), which the compiler turns into a CDB as qnewmaps does.
 * Each run enters that directory and goes back to where the fuzzer writes
 * its corpus and findings.
 * Checks beyond the sanitizers: a compiler answers 0 (compiled) or 1
 * (syntax errors, each reported with a line number within the file), never
 * a system error; a compiled users map holds every user line as
 * users_parseline reads it, and nothing is left behind but the maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stralloc.h>

#include "access.h"
#include "aliases.h"
#include "cdbmap.h"
#include "maps.h"
#include "users.h"

static char workdir[256];
static int homefd = -1;         /* where libFuzzer was started */
static unsigned long lines_in;  /* lines in the text given to the compiler */
static unsigned long reported;  /* errors reported by it */

static void report(const char *fn, unsigned long lineno, const char *what, const char *what2)
{
  (void)what2;
  if (fn == NULL || what == NULL || lineno == 0 || lineno > lines_in) abort();
  ++reported;
}

static int rm1(const char *p, const struct stat *st, int flag, struct FTW *f)
{
  (void)st;
  (void)flag;
  (void)f;
  return remove(p);
}

static void cleanup(void)
{
  if (workdir[0] != '\0') nftw(workdir, rm1, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *fn, const uint8_t *s, size_t len)
{
  int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd == -1 || (len > 0 && write(fd, s, len) != (ssize_t)len) || close(fd) == -1) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  struct stat st;
  const char *base = getenv("TMPDIR");

  (void)argc;
  (void)argv;
  if ((base == NULL || *base == '\0') && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
      access("/dev/shm", W_OK) == 0)
    base = "/dev/shm";
  if (base == NULL || *base == '\0') base = "/tmp";
  snprintf(workdir, sizeof workdir, "%s/qmta-fuzz-maps.XXXXXX", base);
  homefd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (homefd == -1 || mkdtemp(workdir) == NULL) abort();
  atexit(cleanup);
  if (chdir(workdir) == -1 || mkdir("control", 0755) == -1) abort();
  put("control/me", (const uint8_t *)"mx.example.org\n", 15);
  if (fchdir(homefd) == -1) abort();
  maps_report = report;
  return 0;
}

/* Every users line that parses is in users.cdb as MAILBOX\0 and in
 * passwords.cdb as HASH\0. */
static void check_users(const char *s, size_t len)
{
  struct cdbmap m = {.fd = -1};
  struct cdbmap pm = {.fd = -1};
  struct user u = {0};
  stralloc val = {0};
  size_t pos = 0;

  if (cdbmap_open(&m, USERS_CDB) != 1 || cdbmap_open(&pm, PASSWORDS_CDB) != 1) abort();
  while (pos < len) {
    const char *nl = memchr(s + pos, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - (s + pos)) : len - pos;
    size_t l = n;

    if (l > 0 && s[pos + l - 1] == '\r') --l;
    if (users_parseline(&u, s + pos, l) == 1) {
      if (cdbmap_find(&m, u.key.s, u.key.len, &val) != 1) abort();
      if (val.len != u.mailbox.len + 1 || memcmp(val.s, u.mailbox.s, u.mailbox.len + 1) != 0)
        abort();
      if (cdbmap_find(&pm, u.key.s, u.key.len, &val) != 1 || val.len != u.hash.len + 1 ||
          memcmp(val.s, u.hash.s, u.hash.len + 1) != 0)
        abort();
    }
    pos += n + 1;
  }
  cdbmap_close(&m);
  cdbmap_close(&pm);
  users_free(&u);
  stralloc_free(&val);
}

/* Nothing but the text maps, their CDBs and control/me in control/. */
static void check_leftovers(void)
{
  DIR *d = opendir("control");
  struct dirent *de;

  if (d == NULL) abort();
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);

    if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) abort();
  }
  closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text;
  int r;

  if (size < 1 || size > 65536) return 0;
  text = (const char *)data + 1;
  lines_in = 0;
  for (size_t k = 1; k < size; ++k)
    if (data[k] == '\n') ++lines_in;
  if (size > 1 && data[size - 1] != '\n') ++lines_in;
  reported = 0;

  if (chdir(workdir) == -1) abort();
  switch (data[0] % 4) {
    case 0:
      put(USERS_TEXT, data + 1, size - 1);
      r = maps_users();
      if (r == 0) check_users(text, size - 1);
      break;
    case 1:
      put(ALIASES_TEXT, data + 1, size - 1);
      r = maps_aliases();
      break;
    case 2:
      put(ACCESS_TEXT, data + 1, size - 1);
      r = maps_access();
      break;
    default:
      put(GENERICS_TEXT, data + 1, size - 1);
      r = maps_generics();
      break;
  }
  if (r == -1) abort(); /* a system error: there must be none here */
  if (r != 0 && r != 1) abort();
  if ((r == 1) != (reported > 0)) abort();
  check_leftovers();
  if (fchdir(homefd) == -1) abort();
  return 0;
}
