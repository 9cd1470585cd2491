/* tests/unit/u_qlocal_parse.c: qlocal's arguments read as getopt(3) with
 * "+l:s:r:i:h:A" would, without getopt's state (qlocal_parse). */
#include <string.h>

#include "tap.h"
#include "qlocal.h"

static struct qlocal_job job;

/* Parses the arguments after "qlocal" (NULL-terminated list). */
static int parse(const char *const *args)
{
  static char *argv[16]; /* job.args points into it */
  int argc = 0;

  argv[argc++] = (char *)"qlocal";
  while (*args != NULL && argc < 15) argv[argc++] = (char *)*args++;
  argv[argc] = NULL;
  return qlocal_parse(argc, argv, &job);
}

int main(void)
{
  static const char *const plain[] = {"-l", "12", "-s", "a@x", "-r", "b@y", "./Maildir/", NULL};
  static const char *const joined[] = {"-l12", "-sa@x", "-rb@y", "-i", "Q1", "-h", "/home/b",
                                       "box", NULL};
  static const char *const alias[] = {"-Al", "3", "-s", "", "-r", "c@y", "t1", "|cmd", NULL};
  static const char *const dashdash[] = {"-l", "1", "-s", "a", "-r", "b", "--", "-box", NULL};
  static const char *const after[] = {"-l", "1", "-s", "a", "-r", "b", "box", "-A", NULL};
  static const char *const unknown[] = {"-l", "1", "-s", "a", "-r", "b", "-x", "box", NULL};
  static const char *const novalue[] = {"-s", "a", "-r", "b", "box", "-l", NULL};
  static const char *const nolen[] = {"-s", "a", "-r", "b", "box", NULL};
  static const char *const badlen[] = {"-l", "1x", "-s", "a", "-r", "b", "box", NULL};
  static const char *const two[] = {"-l", "1", "-s", "a", "-r", "b", "box", "box2", NULL};
  static const char *const relhome[] = {"-l", "1", "-s", "a", "-r", "b", "-h", "home", "box", NULL};
  static const char *const empty[] = {"-l", "1", "-s", "a", "-r", "b", "", NULL};

  plan(14);
  ok(parse(plain) == 0 && job.d.msglen == 12 && strcmp(job.d.sender, "a@x") == 0 &&
     strcmp(job.d.recipient, "b@y") == 0 && job.nargs == 1 &&
     strcmp(job.args[0], "./Maildir/") == 0 && strcmp(job.d.id, "") == 0 && !job.alias_mode,
     "separate values");
  ok(parse(joined) == 0 && job.d.msglen == 12 && strcmp(job.d.sender, "a@x") == 0 &&
     strcmp(job.d.id, "Q1") == 0 && strcmp(job.home, "/home/b") == 0 &&
     strcmp(job.args[0], "box") == 0, "joined values, -i and -h");
  ok(parse(alias) == 0 && job.alias_mode && job.d.msglen == 3 && job.d.sender[0] == '\0' &&
     job.nargs == 2 && strcmp(job.args[1], "|cmd") == 0, "-A clustered with -l, two targets");
  ok(parse(dashdash) == 0 && job.nargs == 1 && strcmp(job.args[0], "-box") == 0,
     "-- ends the options");
  ok(parse(after) == -1, "options end at the mailbox: -A after it is a second mailbox");
  ok(parse(unknown) == -1, "an unknown option");
  ok(parse(novalue) == -1, "an option without its value");
  ok(parse(nolen) == -1, "no -l");
  ok(parse(badlen) == -1, "a length that is no number");
  ok(parse(two) == -1, "two mailboxes");
  ok(parse(relhome) == -1, "a relative home");
  ok(parse(empty) == -1, "an empty mailbox");
  ok(parse(plain) == 0 && job.home == NULL && !job.alias_mode, "nothing left from before");
  ok(parse(plain) == 0 && parse(plain) == 0 && job.nargs == 1, "again and again");
  return done_testing();
}
