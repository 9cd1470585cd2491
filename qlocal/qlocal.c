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
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <scan.h>

#include "ctl.h"
#include "ctldef.h"
#include "qlog.h"
#include "qlocal.h"

#define USAGE "qlocal [-i ID] -l LEN -s SENDER -r RECIPIENT {[-h HOME] MAILBOX | -A TARGET...}"

void qlocal_usage(void)
{
  qdie(100, "usage: " USAGE);
}

/* As getopt(3) with "+l:s:r:i:h:A" would (options end at the first other
 * argument or "--"; a value may be joined, "-l123", or follow), without
 * getopt's hidden state: qlspawn's children and workers call it again and
 * again. */
int qlocal_parse(int argc, char *const *argv, struct qlocal_job *job)
{
  int i;

  memset(job, 0, sizeof *job);
  job->d.id = "";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t k;

    if (a[0] != '-' || a[1] == '\0') break;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    for (k = 1; a[k] != '\0'; k++) {
      const char **value;
      char c = a[k];

      if (c == 'A') {
        job->alias_mode = 1;
        continue;
      }
      value = c == 'i' ? &job->d.id : c == 'l' ? &job->len_arg : c == 's' ? &job->d.sender
            : c == 'r' ? &job->d.recipient : c == 'h' ? &job->home : NULL;
      if (value == NULL) return -1;
      if (a[k + 1] != '\0') *value = a + k + 1;
      else if (i + 1 < argc) *value = argv[++i];
      else return -1;
      break;
    }
  }
  job->args = argv + i;
  job->nargs = (size_t)(argc - i);
  if (job->len_arg == NULL || job->d.sender == NULL || job->d.recipient == NULL ||
      job->nargs < 1)
    return -1;
  if (job->len_arg[scan_ulonglong(job->len_arg, &job->d.msglen)] != '\0') return -1;
  if (!job->alias_mode && job->nargs != 1) return -1;
  if (job->home != NULL && (job->alias_mode || job->home[0] != '/')) return -1;
  if (!job->alias_mode && job->args[0][0] == '\0') return -1;
  return 0;
}

int qlocal_deliver(struct qlocal_job *job, struct qlocal_result *res)
{
  struct delivery *d = &job->d;
  const char *box = job->args[0];
  int code;

  if (getuid() == 0 || geteuid() == 0)
    return report(res, 111, "refusing to deliver as root (#4.3.0)", NULL, NULL);
  d->msgstart = lseek(0, 0, SEEK_CUR);
  if (d->msgstart == (off_t)-1) return report_sys(res, 111, "unable to seek in the message", "");
  if (ctl_readint(&d->maxhops, "control/maxhops", CTLDEF_MAXHOPS) == -1)
    return report_sys(res, 111, "unable to read ", "control/maxhops");
  if (ctl_readint(&d->timeoutcommand, "control/timeoutcommand", CTLDEF_TIMEOUTCOMMAND) == -1)
    return report_sys(res, 111, "unable to read ", "control/timeoutcommand");

  if (job->alias_mode)
    return deliver_alias(d, (const char *const *)job->args, job->nargs, res);
  if (strncmp(box, "lmtp:", 5) == 0)
    return report(res, 111, "a mailbox on an LMTP server is delivered by qlspawn (#4.3.5)", NULL,
                  NULL);
  if (job->home != NULL && (code = deliver_forward(d, job->home, box, res)) != -1) return code;
  if (box[strlen(box) - 1] == '/') return deliver_maildir(d, box, res);
  return deliver_mbox(d, box, res);
}

int qlocal_tell_expanded;

int qlocal_main(int argc, char **argv)
{
  struct qlocal_job job;
  struct qlocal_result res;
  int code;

  qlog_prog = "qlocal";
  if (qlocal_parse(argc, argv, &job) == -1) qlocal_usage();
  qlocal_deliver(&job, &res);
  code = report_write(&res);
  return code == 0 && res.expanded && qlocal_tell_expanded ? QLOCAL_EXPANDED : code;
}
