/*
 * sendmail_run: the modes of sendmail that are another program of ours,
 * found (run_prog) and exec'ed: -bp and mailq list the queue (qstat), -bi
 * and newaliases compile the maps (qnewmaps), -bs speaks SMTP on stdin
 * and stdout (qsmtpd, as a local client), -q makes qsend retry the
 * deferred mail now (s6-svc -a), only what -qR, -qS or -qI select when
 * given (a request file in queue/flush/). Run by any local user, as that
 * user (-bs run by root: as the instance's SMTP account). Each function
 * execs or exits: 111 when the program cannot be run, 100 for a bad -q
 * pattern.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h> /* rename(2) only */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "accounts.h"
#include "ctl.h"
#include "qlog.h"
#include "sendmail.h"

#define PATTERN_MAX 1000 /* -qR / -qS / -qI argument */

const char *run_argv0 = "sendmail";

/* ---- finding and running our programs ----------------------------------- */

/* dir/name into path if it is executable. */
static int try_prog(stralloc *path, const char *dir, size_t dirlen, const char *name)
{
  if (!stralloc_copyb(path, dir, dirlen) || !stralloc_cats(path, "/") ||
      !stralloc_cats(path, name) || !stralloc_0(path))
    qdie_nomem();
  return access(path->s, X_OK) == 0;
}

/* QHOME/bin/NAME comes first: the instance's setgid qinject. */
void run_prog(const char *name, char **args)
{
  stralloc path = {0};
  stralloc dir = {0};
  char exe[4096];
  const char *slash;
  ssize_t n;

  if (!stralloc_copys(&dir, qhome()) || !stralloc_cats(&dir, "/bin")) qdie_nomem();
  if (try_prog(&path, dir.s, dir.len, name)) goto run;

  slash = strrchr(run_argv0, '/');
  if (slash != NULL && try_prog(&path, run_argv0, (size_t)(slash - run_argv0), name))
    goto run;

  n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    slash = strrchr(exe, '/');
    if (slash != NULL && try_prog(&path, exe, (size_t)(slash - exe), name)) goto run;
  }
  execvp(name, args);
  qdie_sys(111, "unable to run ", name);

run:
  execv(path.s, args);
  qdie_sys(111, "unable to run ", path.s);
}

/* ---- the other modes -------------------------------------------------------- */

/* -bp, mailq: qstat, filtered as sendmail's -qR/-qS/-qI limit a listing */
void run_list(void)
{
  char *args[5];
  size_t n = 0;

  args[n++] = (char *)"qstat";
  if (opt.flush_kind != 0) {
    args[n++] = (char *)(opt.flush_kind == 'R' ? "-r" : opt.flush_kind == 'S' ? "-f" : "-i");
    args[n++] = (char *)opt.flush_pattern;
  }
  args[n++] = (char *)qhome();
  args[n] = NULL;
  run_prog("qstat", args);
}

void run_maps(void)
{
  char *args[4];

  args[0] = (char *)"qnewmaps";
  args[1] = (char *)"-s"; /* "N aliases, M users", as sendmail's newaliases says */
  args[2] = (char *)qhome();
  args[3] = NULL;
  run_prog("qnewmaps", args);
}

/*
 * -bs: qsmtpd on our stdin/stdout, as a local client: it may relay (the
 * user could send the same mail without SMTP). qsmtpd never runs as root:
 * root becomes the instance's SMTP account (nobody if there is none).
 */
void run_smtp(void)
{
  char *args[2];

  if (setenv("PROTO", "TCP", 1) == -1 || setenv("TCPREMOTEIP", "127.0.0.1", 1) == -1 ||
      setenv("TCPLOCALIP", "127.0.0.1", 1) == -1 || setenv("TCPREMOTEHOST", "localhost", 1) == -1 ||
      setenv("RELAYCLIENT", "", 1) == -1)
    qdie_nomem();
  if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());
  if (getuid() == 0 || geteuid() == 0) {
    struct passwd *pw = getpwnam(ACCT_SMTPD);

    if (pw == NULL) pw = getpwnam("nobody");
    if (pw == NULL) qdie(111, "no account to run qsmtpd as (", ACCT_SMTPD, " or nobody)");
    if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
        setuid(pw->pw_uid) == -1)
      qdie_sys(111, "unable to become ", pw->pw_name);
  }
  args[0] = (char *)"qsmtpd";
  args[1] = NULL;
  run_prog("qsmtpd", args);
}

/*
 * -qR/-qS/-qI: a request file for qsend in queue/flush/ (created here, as
 * a setgid directory of the queue group, if it is missing). One line,
 * "R<substr>\n" (a recipient contains substr, ASCII case ignored),
 * "S<substr>\n" (the sender contains it) or "I<id>\n" (that queue id),
 * written under a dot name and renamed to "<time>.<pid>" so qsend never
 * reads half a request. On SIGALRM qsend reads and removes every such file
 * and retries now only the deferred recipients that one of them matches;
 * with no file at all it retries everything.
 */
static void write_flush_request(void)
{
  char tmpname[64];
  char name[64];
  stralloc line = {0};
  struct stat st;
  size_t n;
  int fd;

  if (strlen(opt.flush_pattern) > PATTERN_MAX || strchr(opt.flush_pattern, '\n') != NULL)
    qdie(100, "bad -q", (opt.flush_kind == 'R' ? "R" : opt.flush_kind == 'S' ? "S" : "I"),
         " pattern");
  if (qhome_chdir() == -1) qdie_sys(111, "unable to enter ", qhome());
  if (stat("queue/flush", &st) == -1) {
    struct stat tmp_st;

    if (errno != ENOENT) qdie_sys(111, "unable to stat queue/flush");
    if (stat("queue/tmp", &tmp_st) == -1) qdie_sys(111, "unable to stat queue/tmp");
    if (mkdir("queue/flush", 02770) == -1 && errno != EEXIST)
      qdie_sys(111, "unable to create queue/flush");
    if (chown("queue/flush", (uid_t)-1, tmp_st.st_gid) == -1 ||
        chmod("queue/flush", 02770) == -1)
      qdie_sys(111, "unable to set up queue/flush");
  }

  memcpy(tmpname, "queue/flush/.", 13);
  n = 13 + fmt_ulonglong(tmpname + 13, (unsigned long long)getpid());
  tmpname[n] = 0;
  memcpy(name, "queue/flush/", 12);
  n = 12 + fmt_ulonglong(name + 12, (unsigned long long)time(NULL));
  name[n++] = '.';
  n += fmt_ulonglong(name + n, (unsigned long long)getpid());
  name[n] = 0;

  if (!stralloc_copyb(&line, &opt.flush_kind, 1) || !stralloc_cats(&line, opt.flush_pattern) ||
      !stralloc_cats(&line, "\n"))
    qdie_nomem();
  /* a new file only: run by root in a directory the queue group writes,
   * an existing name (a link a member left there) is never opened */
  fd = open(tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
  if (fd == -1 && errno == EEXIST && unlink(tmpname) == 0)
    fd = open(tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
  if (fd == -1) qdie_sys(111, "unable to create ", tmpname);
  if (write(fd, line.s, line.len) != (ssize_t)line.len || close(fd) == -1) {
    unlink(tmpname);
    qdie_sys(111, "unable to write ", tmpname);
  }
  if (rename(tmpname, name) == -1) {
    unlink(tmpname);
    qdie_sys(111, "unable to rename ", tmpname);
  }
  stralloc_free(&line);
}

/* A flush needs a qsend to hear it: s6-svc -a succeeds while the service
 * is down, and the signal is lost. qsend holds queue/lock (flock) while it
 * runs; a lock we can take means nobody runs the queue. When the lock
 * cannot be opened (a user without the right to read it), s6-svc says
 * what it can. */
static void check_qsend_running(void)
{
  stralloc fn = {0};
  int fd;

  if (!stralloc_copys(&fn, qhome()) || !stralloc_cats(&fn, "/queue/lock") || !stralloc_0(&fn))
    qdie_nomem();
  fd = open(fn.s, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd == -1 && errno != ENOENT) {
    stralloc_free(&fn);
    return;
  }
  if (fd == -1 || flock(fd, LOCK_SH | LOCK_NB) == 0)
    qdie(111, "qsend is not running on ", qhome(),
         ": nothing would deliver the queue (start it: s6-svc -u ", qhome(), "/service/qsend)");
  close(fd);
  stralloc_free(&fn);
}

void run_flush(void)
{
  stralloc svc = {0};
  char *args[4];

  check_qsend_running(); /* before a request is written that nobody would read */
  if (opt.flush_kind != 0) write_flush_request();
  if (!stralloc_copys(&svc, qhome()) || !stralloc_cats(&svc, "/service/qsend") ||
      !stralloc_0(&svc))
    qdie_nomem();
  args[0] = (char *)"s6-svc";
  args[1] = (char *)"-a";
  args[2] = svc.s;
  args[3] = NULL;
  execvp(args[0], args);
  qdie_sys(111, "unable to run s6-svc");
}

