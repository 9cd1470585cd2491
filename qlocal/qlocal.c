/*
 * qlocal: deliver one message to one local mailbox, or to the targets of
 * one alias.
 * Run by qlspawn, one process per delivery, as the mailbox owner (never
 * root), with cwd = QHOME: qlspawn links this code and calls qlocal_main
 * in the child it forked (no exec: starting a program costs more than
 * the delivery); the qlocal program (qlocal_run.c) is the same code.
 * fd 0: the queue file, positioned at the message; -l says how many bytes
 *       the message has (the envelope follows it in the file).
 * fd 1: one line for qlspawn, which copies it into the delivery report.
 *
 *   qlocal -l LEN -s SENDER -r RECIPIENT [-h HOME] MAILBOX
 *       MAILBOX ending in '/' is a Maildir, anything else an mbox file;
 *       with -h, a login account's: HOME/.forward is followed when it is
 *       there and safe (qlocal_forward.c).
 *   qlocal -l LEN -s SENDER -r RECIPIENT -A TARGET...
 *       the targets of an alias (see aliases.h): addresses (forwarded
 *       through qinject), /file (mbox), /dir/ (Maildir), |command,
 *       :include:/path, error:x.y.z text.
 *
 * Exit: 0 delivered, 100 permanent failure, 111 temporary failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

#include <stralloc.h>
#include <scan.h>
#include <fmt.h>

#include "ctl.h"
#include "ctldef.h"
#include "durable.h"
#include "qlog.h"
#include "qlocal.h"

#define USAGE "qlocal [-i ID] -l LEN -s SENDER -r RECIPIENT {[-h HOME] MAILBOX | -A TARGET...}"

static void die_usage(void)
{
  qdie(100, "usage: " USAGE);
}

void (*report_hook)(int code, const char *line, size_t len);

/* The one-line report on fd 1, then exit; or to report_hook, if set. */
void report(int code, const char *s1, const char *s2, const char *s3)
{
  char line[REPORT_LINE_MAX + 1];
  const char *parts[3];
  size_t len = 0;
  size_t j;
  int i;

  parts[0] = s1;
  parts[1] = s2;
  parts[2] = s3;
  for (i = 0; i < 3; i++) {
    size_t n;
    if (parts[i] == NULL) continue;
    n = strlen(parts[i]);
    if (n > REPORT_LINE_MAX - len) n = REPORT_LINE_MAX - len;
    memcpy(line + len, parts[i], n);
    len += n;
  }
  for (j = 0; j < len; j++)
    if ((unsigned char)line[j] < 32) line[j] = '?';
  if (report_hook != NULL) report_hook(code, line, len);
  line[len++] = '\n';
  durable_writeall(1, line, len);
  _exit(code);
}

void report_sys(int code, const char *what, const char *obj)
{
  stralloc line = {0};

  if (!stralloc_copys(&line, what) || !stralloc_cats(&line, obj) ||
      !stralloc_cats(&line, ": ") || !stralloc_cats(&line, strerror(errno)) ||
      !stralloc_0(&line))
    report(111, "out of memory (#4.3.0)", NULL, NULL);
  report(code, line.s, NULL, NULL);
}

int qlocal_main(int argc, char **argv)
{
  struct delivery d;
  int opt;
  const char *len_arg = NULL;
  const char *home = NULL;
  int alias_mode = 0;

  qlog_prog = "qlocal";
  memset(&d, 0, sizeof d);
  opterr = 0; /* our own one-line usage message, not getopt's */
  optind = 0;  /* glibc: a full reset, qlspawn's child may have used getopt */
  d.id = "";
  while ((opt = getopt(argc, argv, "+l:s:r:i:h:A")) != -1) {
    switch (opt) {
      case 'i': d.id = optarg; break;
      case 'l': len_arg = optarg; break;
      case 's': d.sender = optarg; break;
      case 'r': d.recipient = optarg; break;
      case 'h': home = optarg; break;
      case 'A': alias_mode = 1; break;
      default: die_usage();
    }
  }
  argv += optind;
  argc -= optind;
  if (len_arg == NULL || d.sender == NULL || d.recipient == NULL || argc < 1) die_usage();
  if (len_arg[scan_ulonglong(len_arg, &d.msglen)] != '\0') die_usage();
  if (!alias_mode && argc != 1) die_usage();
  if (home != NULL && (alias_mode || home[0] != '/')) die_usage();

  if (getuid() == 0 || geteuid() == 0)
    report(111, "refusing to deliver as root (#4.3.0)", NULL, NULL);

  d.msgstart = lseek(0, 0, SEEK_CUR);
  if (d.msgstart == (off_t)-1) report_sys(111, "unable to seek in the message", "");
  if (ctl_readint(&d.maxhops, "control/maxhops", CTLDEF_MAXHOPS) == -1)
    report_sys(111, "unable to read ", "control/maxhops");

  if (alias_mode) return deliver_alias(&d, (const char *const *)argv, (size_t)argc);

  if (argv[0][0] == '\0') die_usage();
  if (strncmp(argv[0], "lmtp:", 5) == 0)
    report(111, "a mailbox on an LMTP server is delivered by qlspawn (#4.3.5)", NULL, NULL);
  if (home != NULL) deliver_forward(&d, home, argv[0]);
  if (argv[0][strlen(argv[0]) - 1] == '/') deliver_maildir(&d, argv[0]);
  else deliver_mbox(&d, argv[0]);
  return 0;
}
