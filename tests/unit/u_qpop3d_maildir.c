/* tests/unit/u_qpop3d_maildir.c: qpop3d's view of a Maildir, sizes,
 * UIDLs, and the byte-exact RETR/TOP encoding. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tap.h"
#include "qpop3d.h"

static void put_file(const char *fn, const char *data, time_t mtime)
{
  int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  struct timeval tv[2];

  if (fd == -1 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) exit(1);
  close(fd);
  tv[0].tv_sec = tv[1].tv_sec = mtime;
  tv[0].tv_usec = tv[1].tv_usec = 0;
  utimes(fn, tv);
}

/* Encodes data through pop_send_message into a pipe and returns it. */
static char *encode(const char *data, long long lines, unsigned long long *sent)
{
  static char out[8192];
  int in[2];
  int res[2];
  ssize_t n;
  size_t got = 0;

  if (pipe(in) == -1 || pipe(res) == -1) exit(1);
  if (write(in[1], data, strlen(data)) == -1) exit(1);
  close(in[1]);
  pop_out.fd = res[1];
  pop_send_message(in[0], lines, sent);
  pop_flush();
  close(res[1]);
  close(in[0]);
  while ((n = read(res[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)n;
  out[got] = '\0';
  close(res[0]);
  return out;
}

int main(void)
{
  char dir[] = "/tmp/u_qpop3d.XXXXXX";
  struct pop_box box;
  char uid[POP_UIDL_MAX + 1];
  unsigned long long size = 0;
  unsigned long long sent = 0;
  unsigned long n = 0;
  int fd;

  plan(26);
  memset(&box, 0, sizeof box);
  if (mkdtemp(dir) == NULL || chdir(dir) == -1) return 1;
  mkdir("new", 0700);
  mkdir("cur", 0700);
  mkdir("tmp", 0700);
  put_file("new/200.M1P1.host", "Subject: b\n\nbody\n", 200);
  put_file("new/100.M1P1.host", "Subject: a\n\n.dot\r\nx", 100);
  put_file("cur/300.M1P1.host,S=5,W=99:2,S", "abc\n\n", 300);
  put_file("tmp/50.M1P1.host", "partial", 50);
  put_file("new/.hidden", "x", 10);

  ok(popbox_scan(&box, 1) == 0, "scan");
  ok(box.count == 3, "three messages (tmp and dot files ignored)");
  ok(access("new/100.M1P1.host", F_OK) == -1 && access("cur/100.M1P1.host:2,", F_OK) == 0,
     "new moved to cur with :2,");
  ok(strcmp(box.names.s + box.msg[0].name, "100.M1P1.host:2,") == 0 &&
     strcmp(box.names.s + box.msg[2].name, "300.M1P1.host,S=5,W=99:2,S") == 0,
     "oldest first");
  ok(box.msg[0].size == strlen("Subject: a\n\n.dot\r\nx") + 2 + 2, "size: LF counted as CRLF, "
     "CRLF kept, last line ended");
  ok(box.msg[1].size == strlen("Subject: b\n\nbody\n") + 3, "size with three LFs");
  ok(box.msg[2].size == 99, "size from ,W= in the name");
  popbox_uidl(&box, 0, uid);
  ok(strcmp(uid, "100.M1P1.host") == 0, "UIDL is the unique part");
  popbox_uidl(&box, 2, uid);
  ok(strcmp(uid, "300.M1P1.host,S=5,W=99") == 0, "UIDL without the flags");

  /* another reader changes the flags: the message is still found */
  rename("cur/200.M1P1.host:2,", "cur/200.M1P1.host:2,S");
  fd = popbox_open(&box, 1);
  ok(fd != -1, "open follows a flag change");
  if (fd != -1) close(fd);
  popbox_uidl(&box, 1, uid);
  ok(strcmp(uid, "200.M1P1.host") == 0, "UIDL stable across the flag change");
  unlink("cur/200.M1P1.host:2,S");
  ok(popbox_open(&box, 1) == -1, "a removed message cannot be opened");
  ok(popbox_remove(&box, 1) == 0, "removing a message already gone is fine");
  ok(popbox_remove(&box, 0) == 0 && access("cur/100.M1P1.host:2,", F_OK) == -1, "remove");

  fd = open("cur/x", O_WRONLY | O_CREAT, 0600);
  close(fd);
  fd = open("cur/x", O_RDONLY);
  ok(popbox_filesize(fd, &size) == 0 && size == 0, "empty file: size 0");
  close(fd);

  ok(strcmp(encode("a\nb\n", -1, &sent), "a\r\nb\r\n.\r\n") == 0, "RETR: LF to CRLF");
  ok(sent == 6, "octets sent");
  ok(strcmp(encode("a\r\n.b\n..\n", -1, &sent), "a\r\n..b\r\n...\r\n.\r\n") == 0,
     "RETR: CRLF kept, dots stuffed");
  ok(strcmp(encode("a\nlast", -1, &sent), "a\r\nlast\r\n.\r\n") == 0, "RETR: last line ended");
  ok(strcmp(encode("", -1, &sent), ".\r\n") == 0, "RETR: empty message");
  ok(strcmp(encode("H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, &sent), "H: 1\r\nH: 2\r\n\r\n.\r\n") == 0,
     "TOP 0: header and blank line");
  ok(strcmp(encode("H: 1\n\nb1\n.b2\nb3\n", 2, &sent), "H: 1\r\n\r\nb1\r\n..b2\r\n.\r\n") == 0,
     "TOP 2");
  ok(strcmp(encode("H: 1\r\n\r\nb1\r\n", 5, &sent), "H: 1\r\n\r\nb1\r\n.\r\n") == 0,
     "TOP past the end, CRLF blank line");

  ok(pop_scan_number("12", &n) == 1 && n == 12, "number");
  ok(pop_scan_number("1x", &n) == 0 && pop_scan_number("", &n) == 0 &&
     pop_scan_number("-1", &n) == 0, "not numbers");
  ok(pop_scan_number("99999999999999999999999", &n) == 0, "overflow refused");

  popbox_free(&box);
  {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (chdir("/") == -1 || system(cmd) != 0) return 1;
  }
  return done_testing();
}
