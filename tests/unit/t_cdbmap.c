/* tests/unit/t_cdbmap.c: write maps durably, read them back. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "tap.h"
#include "tmpdir.h"
#include "cdbmap.h"

static int sa_is(const stralloc *sa, const char *s, size_t len)
{
  return sa->len == len && memcmp(sa->s, s, len) == 0;
}

/* "cdb -q map key" from tinycdb, when it is installed: -1 if not */
static int cdb_q(const char *map, const char *key, char *out, size_t outsize)
{
  int p[2];
  pid_t pid;
  size_t got = 0;
  int status;

  if (access("/usr/bin/cdb", X_OK) != 0) return -1;
  if (pipe(p) == -1) return -1;
  pid = fork();
  if (pid == -1) return -1;
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl("/usr/bin/cdb", "cdb", "-q", map, key, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    ssize_t r = read(p[0], out + got, outsize - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  out[got] = '\0';
  close(p[0]);
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
  struct cdbmap_writer w;
  struct cdbmap m;
  stralloc val = {0};
  struct stat st;
  char out[256];
  int r = 0;
  int k;

  plan(33);
  if (chdir(tmpdir_make()) == -1) return 1;
  mkdir("control", 0755);

  ok(cdbmap_lookup("control/none.cdb", "a", 1, &val) == 0, "lookup: no map is not found");
  ok(cdbmap_open(&m, "control/none.cdb") == 0, "open: no map");

  ok(cdbmap_start(&w, "control/t.cdb", 0640) == 0, "start");
  ok(stat("control/t.cdb.tmp", &st) == 0 && (st.st_mode & 07777) == 0640, "temp file, mode 0640");
  ok(cdbmap_add(&w, "alpha", 5, "one", 3) == 0, "add");
  ok(cdbmap_add(&w, "beta", 4, "t\0w\0o", 5) == 0, "add a value with NULs");
  ok(cdbmap_add(&w, "", 0, "empty key", 9) == 0, "add an empty key");
  ok(cdbmap_add(&w, "novalue", 7, "", 0) == 0, "add an empty value");
  ok(cdbmap_add(&w, "dup", 3, "first", 5) == 0 && cdbmap_add(&w, "dup", 3, "second", 6) == 0,
     "add a key twice");
  for (k = 0; k < 3000 && r != -1; k++) {
    char key[32];
    char v[32];
    int kl = snprintf(key, sizeof key, "key%d", k);
    int vl = snprintf(v, sizeof v, "value%d", k * 7);
    r = cdbmap_add(&w, key, (size_t)kl, v, (size_t)vl);
  }
  ok(r == 0, "add 3000 keys (more than one cdb_make list)");
  ok(stat("control/t.cdb", &st) == -1, "final name absent before finish");
  ok(cdbmap_finish(&w) == 0, "finish");
  ok(stat("control/t.cdb.tmp", &st) == -1 && errno == ENOENT, "temp file gone");
  ok(stat("control/t.cdb", &st) == 0 && (st.st_mode & 07777) == 0640, "map in place, mode kept");

  ok(cdbmap_lookup("control/t.cdb", "alpha", 5, &val) == 1 && sa_is(&val, "one", 3), "lookup");
  ok(cdbmap_lookup("control/t.cdb", "beta", 4, &val) == 1 && sa_is(&val, "t\0w\0o", 5),
     "lookup a value with NULs");
  ok(cdbmap_lookup("control/t.cdb", "", 0, &val) == 1 && sa_is(&val, "empty key", 9),
     "lookup the empty key");
  ok(cdbmap_lookup("control/t.cdb", "novalue", 7, &val) == 1 && val.len == 0,
     "lookup an empty value");
  ok(cdbmap_lookup("control/t.cdb", "dup", 3, &val) == 1 && sa_is(&val, "first", 5),
     "the first of two records wins");
  ok(cdbmap_lookup("control/t.cdb", "ALPHA", 5, &val) == 0, "keys are exact");
  ok(cdbmap_lookup("control/t.cdb", "alph", 4, &val) == 0, "no prefix match");

  ok(cdbmap_open(&m, "control/t.cdb") == 1, "open");
  r = 1;
  for (k = 0; k < 3000; k++) {
    char key[32];
    char v[32];
    int kl = snprintf(key, sizeof key, "key%d", k);
    int vl = snprintf(v, sizeof v, "value%d", k * 7);
    if (cdbmap_find(&m, key, (size_t)kl, &val) != 1 || !sa_is(&val, v, (size_t)vl)) r = 0;
  }
  ok(r, "find 3000 keys in one open map");
  ok(cdbmap_find(&m, "key3000", 7, &val) == 0, "find: missing key");
  cdbmap_close(&m);

  /* a second writer replaces the map atomically; abort keeps the old one */
  ok(cdbmap_start(&w, "control/t.cdb", 0644) == 0 && cdbmap_add(&w, "alpha", 5, "uno", 3) == 0,
     "second writer");
  cdbmap_abort(&w);
  ok(stat("control/t.cdb.tmp", &st) == -1 &&
     cdbmap_lookup("control/t.cdb", "alpha", 5, &val) == 1 && sa_is(&val, "one", 3),
     "abort: temp file gone, old map kept");
  tmpdir_put("control/t.cdb.tmp", "stale", 5);
  ok(cdbmap_start(&w, "control/t.cdb", 0644) == 0 && cdbmap_add(&w, "alpha", 5, "uno", 3) == 0 &&
     cdbmap_finish(&w) == 0 && cdbmap_lookup("control/t.cdb", "alpha", 5, &val) == 1 &&
     sa_is(&val, "uno", 3), "a stale temp file is replaced; new map in place");

  ok(cdbmap_start(&w, "nodir/t.cdb", 0644) == -1 && errno == ENOENT, "start in a missing directory");

  /* the admin's tool reads what we write */
  r = cdb_q("control/t.cdb", "alpha", out, sizeof out);
  if (r == -1) ok(1, "cdb -q (tinycdb not installed: skipped)");
  else ok(r == 0 && strcmp(out, "uno") == 0, "cdb -q reads our map");

  /* the kept map follows the file: removed, then written again */
  ok(unlink("control/t.cdb") == 0 && cdbmap_lookup("control/t.cdb", "alpha", 5, &val) == 0,
     "kept map: a removed map is no map");
  ok(cdbmap_start(&w, "control/t.cdb", 0644) == 0 && cdbmap_add(&w, "alpha", 5, "eins", 4) == 0 &&
     cdbmap_finish(&w) == 0 && cdbmap_lookup("control/t.cdb", "alpha", 5, &val) == 1 &&
     sa_is(&val, "eins", 4), "kept map: a new map is read at once");
  {
    struct cdbmap *k1;
    struct cdbmap *k2;

    ok(cdbmap_get(&k1, "control/t.cdb") == 1 && cdbmap_get(&k2, "control/t.cdb") == 1 && k1 == k2,
       "kept map: the same map for the same unchanged file");
  }

  /* a file that is not a CDB: lookups fail or find nothing, never crash */
  tmpdir_put("control/bad.cdb", "garbage", 7);
  r = cdbmap_lookup("control/bad.cdb", "alpha", 5, &val);
  ok(r == 0 || r == -1, "a short garbage file is not a crash");

  stralloc_free(&val);
  tmpdir_remove();
  return done_testing();
}
