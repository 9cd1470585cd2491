/* tests/unit/t_durable.c: durable writes, renames, directory syncs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include "tap.h"
#include "tmpdir.h"
#include "durable.h"

static int file_is(const char *fn, const char *s, size_t len)
{
  char buf[70000];
  int fd = open(fn, O_RDONLY);
  ssize_t r;

  if (fd == -1) return 0;
  r = read(fd, buf, sizeof buf);
  close(fd);
  return r == (ssize_t)len && memcmp(buf, s, len) == 0;
}

int main(void)
{
  static char big[65536];
  struct stat st;
  int fd;
  int p[2];

  plan(20);
  if (chdir(tmpdir_make()) == -1) return 1;
  mkdir("d", 0755);

  ok(durable_dirsync("d") == 0, "dirsync");
  ok(durable_dirsync(".") == 0, "dirsync .");
  ok(durable_dirsync("missing") == -1 && errno == ENOENT, "dirsync: missing directory");
  tmpdir_put("d/file", "x", 1);
  ok(durable_dirsync("d/file") == -1 && errno == ENOTDIR, "dirsync: not a directory");

  ok(durable_writefile("d/f", "hello\n", 6, 0640) == 0, "writefile");
  ok(file_is("d/f", "hello\n", 6), "writefile: content");
  ok(stat("d/f", &st) == 0 && (st.st_mode & 07777) == 0640, "writefile: mode");
  ok(stat("d/f.tmp", &st) == -1 && errno == ENOENT, "writefile: no temp left");
  umask(077);
  ok(durable_writefile("d/f", "bye", 3, 0644) == 0 && file_is("d/f", "bye", 3) &&
     stat("d/f", &st) == 0 && (st.st_mode & 07777) == 0644, "writefile: replace, mode despite umask");
  ok(durable_writefile("d/empty", "", 0, 0600) == 0 && file_is("d/empty", "", 0), "writefile: empty");
  memset(big, 'b', sizeof big);
  ok(durable_writefile("d/big", big, sizeof big, 0600) == 0 && file_is("d/big", big, sizeof big),
     "writefile: 64 kB");
  tmpdir_put("d/g.tmp", "stale", 5);
  ok(durable_writefile("d/g", "new", 3, 0600) == 0 && file_is("d/g", "new", 3), "writefile: stale temp");
  ok(durable_writefile("nodir/f", "x", 1, 0600) == -1 && errno == ENOENT,
     "writefile: missing directory");
  ok(durable_writefile("plain", "top", 3, 0600) == 0 && file_is("plain", "top", 3),
     "writefile: name without a directory");

  tmpdir_put("d/t1", "one", 3);
  ok(durable_replace("d", "d/t1", "d/final") == 0 && file_is("d/final", "one", 3), "replace");
  tmpdir_put("d/t2", "two", 3);
  ok(durable_rename("d/t2", "d/final") == 0 && file_is("d/final", "two", 3) &&
     stat("d/t2", &st) == -1, "rename: directory taken from the name");
  ok(durable_rename("d/nothing", "d/final") == -1 && errno == ENOENT && file_is("d/final", "two", 3),
     "rename: missing source");

  fd = open("d/w", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ok(fd != -1 && durable_writeall(fd, big, sizeof big) == 0 && close(fd) == 0 &&
     file_is("d/w", big, sizeof big), "writeall");
  ok(durable_writeall(-1, "x", 1) == -1 && errno == EBADF, "writeall: bad fd");
  if (pipe(p) == 0) {
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    ok(durable_writeall(p[1], "x", 1) == -1 && errno == EPIPE, "writeall: EPIPE reported");
    close(p[1]);
  } else {
    ok(0, "pipe");
  }

  tmpdir_remove();
  return done_testing();
}
