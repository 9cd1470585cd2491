/*
 * qsmtpd_inject: hands one message to the queue.
 *
 * With QINJECT set, to that program over the qmail-queue protocol (a
 * filter, or qinject): the message on its fd 0 (a pipe, LF line ends), then
 * the envelope on its fd 1 ("Fsender\0" ["Vret\0"] ["Xenvid\0"] then per
 * recipient "Trcpt\0" ["Nnotify\0"] ["Oorcpt\0"], then "\0"). It commits
 * the message only after it has read the complete envelope, so dropping a
 * message is closing both pipes without writing it. Its fd 2 is ours (the
 * log). Its environment is ours with QMTA_DKIM and QMTA_DKIMREQ set for
 * the message (authint_env, qsmtpd_dkim.c): qinject at the end of the
 * chain signs or verifies it, and its exit codes for that
 * (qinject_dkim.h) get the replies qsmtpd gives when it does it itself.
 *
 * Without QINJECT, qsmtpd writes the queue file itself with qinject's own
 * code (lib/queue, qinject_msg, qinject_env): the same bytes, the same
 * commit, and the same qmail-queue exit codes for the reply; only the
 * process per message is saved. Neither adds a Received: line of its own
 * to a session's message (qinject leaves it out for a caller in the queue
 * group with TCPREMOTEIP set): qsmtpd's is the hop's one. That needs the queue group
 * (qsetup puts qmta-smtpd in it) and is never done as root (qinject would
 * drop root first). When the queue cannot be opened that way, the program
 * is QHOME/bin/qinject if it exists, else qinject from PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <buffer.h>
#include <stralloc.h>

#include "bflush.h"
#include "qlog.h"
#include "queue.h"
#include "qinject_dkim.h"
#include "qinject_env.h"
#include "qinject_msg.h"
#include "qsmtpd.h"

/* one message at a time per process: the writer of the one in progress */
static struct queue_writer qw;

static ssize_t pipe_write(int fd, const char *buf, size_t len, void *cookie)
{
  ssize_t w;

  (void)cookie;
  do {
    w = write(fd, buf, len);
  } while (w == -1 && errno == EINTR);
  return w;
}

/* 1 if the variable s ("NAME=value") is one that authint_env decides */
static int dkim_var(const char *s)
{
  return !strncmp(s, "QMTA_DKIM=", 10) || !strncmp(s, "QMTA_DKIMREQ=", 13);
}

/* The program's environment: ours without QMTA_DKIM and QMTA_DKIMREQ,
 * then those of authint_env for this message (qsmtpd_dkim.c): pointers
 * into environ and vars, in envp (malloc'd; the caller frees it). 0, or
 * -1 + errno. */
static int child_env(char ***envp, stralloc *vars)
{
  size_t n = 0;
  size_t k = 0;
  char **e;

  if (authint_env(vars) == -1) {
    errno = EINVAL;
    return -1;
  }
  while (environ[n] != NULL) n++;
  e = malloc((n + 3) * sizeof *e);
  if (e == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    if (!dkim_var(environ[i])) e[k++] = environ[i];
  for (size_t pos = 0; pos < vars->len && k < n + 2; pos += strlen(vars->s + pos) + 1)
    e[k++] = vars->s + pos;
  e[k] = NULL;
  *envp = e;
  return 0;
}

static int spawn_child(pid_t *pid, int msgfd, int envfd)
{
  static stralloc vars;
  const char *prog = getenv("QINJECT");
  char **envp;
  char *argv[2];
  int use_path = 0;
  pid_t child;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  sigset_t deflt;
  int r;

  if (prog == NULL || prog[0] == '\0') {
    prog = "bin/qinject"; /* relative to QHOME, our working directory */
    if (access(prog, X_OK) == -1) {
      prog = "qinject";
      use_path = 1;
    }
  }
  argv[0] = (char *)"qinject";
  argv[1] = NULL;
  if (child_env(&envp, &vars) == -1) return -1;
  /* posix_spawn (vfork-like: no copy of our page tables) with the default
   * SIGTERM and SIGPIPE and nothing blocked, as spawn_child_setup gives */
  if (posix_spawn_file_actions_init(&fa) != 0) {
    free(envp);
    return -1;
  }
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    return -1;
  }
  sigemptyset(&none);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGTERM);
  sigaddset(&deflt, SIGPIPE);
  r = posix_spawn_file_actions_adddup2(&fa, msgfd, 0);
  if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, envfd, 1);
  if (r == 0) r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (r == 0) r = posix_spawnattr_setsigmask(&attr, &none);
  if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &deflt);
  if (r == 0) {
    if (use_path) r = posix_spawnp(&child, prog, &fa, &attr, argv, envp);
    else r = posix_spawn(&child, prog, &fa, &attr, argv, envp);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free(envp);
  if (r != 0) {
    errno = r;
    return -1;
  }
  *pid = child;
  return 0;
}

/* qmail-queue's exit code for a failed write into the queue */
static int write_code(int e)
{
  return e == ENOSPC || e == EDQUOT || e == EFBIG ? QQ_WRITE : QQ_TMP;
}

static void own_put(struct inject *q, const char *s, size_t len)
{
  if (q->code == QQ_OK && queue_put(&qw, s, len) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
  }
}

/* The queue file opened here: 0, or -1 (none). No Received: line of
 * qinject's: the message starts with qsmtpd's, which names the queue id. */
static int own_start(struct inject *q)
{
  if (geteuid() == 0 || queue_open(&qw) == -1) return -1;
  q->own = 1;
  q->code = QQ_OK;
  q->cr = 0;
  q->now = (unsigned long long)time(NULL);
  memcpy(q->id, qw.id, sizeof q->id);
  return 0;
}

static void own_message(struct inject *q, const char *s, size_t len)
{
  char chunk[4096];

  while (len > 0 && q->code == QQ_OK) {
    size_t k = len < sizeof chunk ? len : sizeof chunk;
    size_t n;
    int lead;

    memcpy(chunk, s, k);
    n = crlf_strip(chunk, k, &q->cr, &lead);
    if (lead) own_put(q, "\r", 1);
    own_put(q, chunk, n);
    s += k;
    len -= k;
  }
}

/* The envelope records of the qmail-queue protocol, read as qinject reads
 * them, then the commit; the wait status qinject would have ended with. */
static int own_finish(struct inject *q, const char *env, size_t len)
{
  stralloc recs = {0};
  buffer b;
  size_t rcpts;
  unsigned long id;

  if (q->cr) own_put(q, "\r", 1);
  if (q->code == QQ_OK) {
    buffer_frombuf(&b, env, len);
    q->code = env_read(&b, &recs, q->now, &rcpts);
    if (q->code != QQ_OK) queue_abort(&qw);
  }
  if (q->code == QQ_OK && q->quarantine[0] != '\0') { /* Q first: I, Q, T, F, ... */
    char rec[sizeof q->quarantine + 1];
    size_t n = strnlen(q->quarantine, sizeof q->quarantine - 1);

    rec[0] = 'Q';
    memcpy(rec + 1, q->quarantine, n);
    rec[n + 1] = '\0';
    if (queue_envelope(&qw, rec, n + 2) == -1) {
      q->code = write_code(errno);
      qwarn_sys("unable to write to ", qw.tmpname);
      queue_abort(&qw);
    }
  }
  if (q->code == QQ_OK && queue_envelope(&qw, recs.s, recs.len) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
  }
  if (q->code == QQ_OK && queue_commit(&qw, &id) == -1) {
    q->code = errno == ENOSPC || errno == EDQUOT ? QQ_WRITE : QQ_COMMIT;
    qwarn_sys("unable to commit the message into queue/new");
    queue_abort(&qw);
  }
  if (q->code != QQ_OK) q->id[0] = '\0';
  stralloc_free(&recs);
  q->own = 0;
  return q->code << 8; /* as if qinject exited with it */
}

int inject_msgfd(struct inject *q, unsigned long long *len)
{
  if (!q->own || q->code != QQ_OK) {
    errno = EINVAL;
    return -1;
  }
  if (q->cr) { /* a CR at the very end is part of the message */
    own_put(q, "\r", 1);
    q->cr = 0;
    if (q->code != QQ_OK) return -1;
  }
  /* a failed flush has left part of the buffer in the file: the message
   * is lost to this transaction (451 at its end), never committed */
  if (queue_flush(&qw) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
    return -1;
  }
  *len = qw.msglen;
  return open(qw.tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int inject_prepend(struct inject *q, const char *s, size_t len)
{
  if (!q->own || q->code != QQ_OK) {
    errno = EINVAL;
    return -1;
  }
  if (queue_insert(&qw, s, len) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
    return -1;
  }
  return 0;
}

int inject_truncate(struct inject *q, unsigned long long len)
{
  if (!q->own || q->code != QQ_OK) {
    errno = EINVAL;
    return -1;
  }
  q->cr = 0;
  if (queue_truncate(&qw, len) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
    return -1;
  }
  return 0;
}

int inject_splice(struct inject *q, unsigned long long cut, const char *s, size_t len)
{
  if (!q->own || q->code != QQ_OK) {
    errno = EINVAL;
    return -1;
  }
  if (queue_splice(&qw, cut, s, len) == -1) {
    q->code = write_code(errno);
    qwarn_sys("unable to write to ", qw.tmpname);
    queue_abort(&qw);
    return -1;
  }
  return 0;
}

void inject_quarantine(struct inject *q, const char *reason)
{
  size_t n = 0;

  if (reason != NULL) {
    n = strnlen(reason, sizeof q->quarantine - 1);
    memcpy(q->quarantine, reason, n);
  }
  q->quarantine[n] = '\0';
}

int inject_start(struct inject *q)
{
  int msgpipe[2];
  int envpipe[2];
  const char *prog = getenv("QINJECT");

  q->pid = -1;
  q->msgfd = -1;
  q->envfd = -1;
  q->failed = 0;
  q->own = 0;
  q->id[0] = '\0';
  q->quarantine[0] = '\0';
  if ((prog == NULL || prog[0] == '\0') && own_start(q) == 0) return 0;
  if (pipe2(msgpipe, O_CLOEXEC) == -1) return -1;
  if (pipe2(envpipe, O_CLOEXEC) == -1) {
    close(msgpipe[0]);
    close(msgpipe[1]);
    return -1;
  }
  if (spawn_child(&q->pid, msgpipe[0], envpipe[0]) == -1) {
    int e = errno;
    close(msgpipe[0]);
    close(msgpipe[1]);
    close(envpipe[0]);
    close(envpipe[1]);
    errno = e;
    return -1;
  }
  close(msgpipe[0]);
  close(envpipe[0]);
  q->msgfd = msgpipe[1];
  q->envfd = envpipe[1];
  buffer_init(&q->b, pipe_write, q->msgfd, q->buf, sizeof q->buf);
  return 0;
}

void inject_put(struct inject *q, const char *s, size_t len)
{
  if (q->own) {
    own_message(q, s, len);
    return;
  }
  if (q->failed || q->msgfd == -1) return;
  if (buffer_put(&q->b, s, len) == -1) q->failed = 1;
}

static int wait_child(pid_t pid)
{
  int status = 0;

  while (waitpid(pid, &status, 0) == -1) {
    if (errno != EINTR) return -1;
  }
  return status;
}

const char *inject_finish(struct inject *q, const char *env, size_t len)
{
  int status;
  size_t done = 0;

  if (q->own) return inject_reply(own_finish(q, env, len));
  if (!q->failed && bflush(&q->b) == -1) q->failed = 1;
  if (close(q->msgfd) == -1) q->failed = 1;
  q->msgfd = -1;
  while (!q->failed && done < len) {
    ssize_t w = pipe_write(q->envfd, env + done, len - done, NULL);
    if (w <= 0) {
      q->failed = 1;
      break;
    }
    done += (size_t)w;
  }
  close(q->envfd);
  q->envfd = -1;
  status = wait_child(q->pid);
  q->pid = -1;
  if (status == -1) return "451 4.3.0 lost the queue program, try again later\r\n";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && q->failed)
    return "451 4.3.0 queue program did not read the message, try again later\r\n";
  /* qinject's codes for QMTA_DKIM (qinject_dkim.h): qsmtpd_dkim.c's replies */
  if (WIFEXITED(status) && WEXITSTATUS(status) == QQ_DKIM_REJECT)
    return "550 5.7.1 DMARC policy of the From domain: rejected\r\n";
  if (WIFEXITED(status) && WEXITSTATUS(status) == QQ_UNSIGNED)
    return "451 4.7.0 unable to sign the message now, try again later\r\n";
  return inject_reply(status);
}

void inject_abort(struct inject *q)
{
  if (q->own) {
    if (q->code == QQ_OK) queue_abort(&qw);
    q->own = 0;
    return;
  }
  if (q->msgfd != -1) close(q->msgfd);
  if (q->envfd != -1) close(q->envfd);
  q->msgfd = -1;
  q->envfd = -1;
  if (q->pid > 0) wait_child(q->pid);
  q->pid = -1;
}
