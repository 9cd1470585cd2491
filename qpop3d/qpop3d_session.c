/*
 * qpop3d_session: the TRANSACTION and UPDATE states of RFC 1939, run as
 * "qpop3d -s" by qauth after a good login, as the mailbox owner (never
 * root), with the client on fd 0 and fd 1 and USER, MAILDIR in the
 * environment. It answers the PASS command itself.
 *
 * One session per mailbox: it holds flock(LOCK_EX) on the Maildir
 * directory; a second POP3 login gets "-ERR [IN-USE]" (RFC 2449 8.1.1).
 * Other readers (Dovecot) may still rename or remove files: a message
 * that disappears is reported as gone, never a crash.
 * Deletions happen only at QUIT (UPDATE state); a dropped connection or
 * a timeout removes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt.h>

#include "ctl.h"
#include "qlog.h"
#include "qpop3d.h"

static struct pop_box box;
static const char *user = "?";
static const char *ip = "?";
static unsigned long retrieved;
static unsigned long deleted_count;
static unsigned long long bytes_sent;

static void log_end(const char *why)
{
  char n1[FMT_ULONG];
  char n2[FMT_ULONG];
  char n3[FMT_ULONG];
  char n4[FMT_ULONG];
  const char *tls = getenv("QTLS_PROTO");

  qlog("session ", user, " from ", ip, tls != NULL ? " tls " : "", tls != NULL ? tls : "",
       ": ", qlog_ulong(n1, (unsigned long)box.count), " messages, ",
       qlog_ulong(n2, retrieved), " retrieved, ", qlog_ulong(n3, (unsigned long)bytes_sent),
       " bytes, ", qlog_ulong(n4, deleted_count), " deleted, ", why);
}

static void reply_num2(const char *pre, unsigned long a, unsigned long long b, const char *post)
{
  char n1[FMT_ULONG];
  char n2[FMT_ULONG];

  pop_puts(pre);
  pop_puts(qlog_ulong(n1, a));
  pop_puts(" ");
  pop_puts(qlog_ulong(n2, (unsigned long)b));
  pop_puts(post);
}

/* A message number argument: 1 valid (*i index), 0 (reply sent). */
static int msg_arg(const char *arg, size_t *i)
{
  unsigned long n;

  if (!pop_scan_number(arg, &n)) {
    pop_puts("-ERR syntax: a message number is needed\r\n");
    return 0;
  }
  if (n == 0 || n > box.count) {
    pop_puts("-ERR no such message\r\n");
    return 0;
  }
  if (box.msg[n - 1].deleted) {
    pop_puts("-ERR message already deleted\r\n");
    return 0;
  }
  *i = n - 1;
  return 1;
}

static void do_stat(void)
{
  unsigned long n = 0;
  unsigned long long total = 0;
  size_t i;

  for (i = 0; i < box.count; i++) {
    if (box.msg[i].deleted) continue;
    n++;
    total += box.msg[i].size;
  }
  reply_num2("+OK ", n, total, "\r\n");
}

static void list_one(size_t i, int uidl, const char *pre)
{
  char uid[POP_UIDL_MAX + 1];
  char num[FMT_ULONG];

  if (!uidl) {
    reply_num2(pre, (unsigned long)i + 1, box.msg[i].size, "\r\n");
    return;
  }
  popbox_uidl(&box, i, uid);
  pop_puts(pre);
  pop_puts(qlog_ulong(num, (unsigned long)i + 1));
  pop_puts(" ");
  pop_puts(uid);
  pop_puts("\r\n");
}

static void do_list(const char *arg, int uidl)
{
  size_t i;

  if (arg[0] != '\0') {
    if (msg_arg(arg, &i)) list_one(i, uidl, "+OK ");
    return;
  }
  pop_puts(uidl ? "+OK unique-id listing follows\r\n" : "+OK scan listing follows\r\n");
  for (i = 0; i < box.count; i++)
    if (!box.msg[i].deleted) list_one(i, uidl, "");
  pop_puts(".\r\n");
}

static void do_retr(const char *arg, int top)
{
  size_t i;
  unsigned long lines = 0;
  char num[FMT_ULONG];
  unsigned long long sent = 0;
  char first[FMT_ULONG + 2];
  int fd;

  if (top) {
    /* "TOP msg n" */
    switch (pop_top_split(arg, first, sizeof first, &lines)) {
      case 0: pop_puts("-ERR syntax: TOP message lines\r\n"); return;
      case -1: pop_puts("-ERR no such message\r\n"); return;
      default: break;
    }
    arg = first;
  }
  if (!msg_arg(arg, &i)) return;

  fd = popbox_open(&box, i);
  if (fd == -1) {
    if (errno == ENOENT) {
      pop_puts("-ERR message was removed by another client\r\n");
      return;
    }
    qwarn_sys("unable to open a message of ", user);
    pop_puts("-ERR [SYS/TEMP] unable to read the message\r\n");
    return;
  }
  if (top) {
    pop_puts("+OK top of message follows\r\n");
  } else {
    pop_puts("+OK ");
    pop_puts(qlog_ulong(num, (unsigned long)box.msg[i].size));
    pop_puts(" octets\r\n");
  }
  if (pop_send_message(fd, top ? (long long)(lines > 1000000000UL ? 1000000000UL : lines) : -1,
                       &sent) == -1) {
    /* the response is half sent: only closing the connection tells */
    qwarn_sys("unable to read a message of ", user);
    close(fd);
    pop_exit(111, "read error");
  }
  close(fd);
  bytes_sent += sent;
  if (!top) retrieved++;
}

static void do_dele(const char *arg)
{
  size_t i;

  if (!msg_arg(arg, &i)) return;
  box.msg[i].deleted = 1;
  pop_puts("+OK message deleted\r\n");
}

static void do_rset(void)
{
  size_t i;

  for (i = 0; i < box.count; i++) box.msg[i].deleted = 0;
  pop_puts("+OK\r\n");
}

static void do_capa(void)
{
  pop_puts("+OK capability list follows\r\n"
           "TOP\r\n"
           "UIDL\r\n"
           "RESP-CODES\r\n"
           "AUTH-RESP-CODE\r\n"
           "PIPELINING\r\n"
           "EXPIRE NEVER\r\n"
           "IMPLEMENTATION qmta\r\n"
           ".\r\n");
}

/* RFC 1939 6: remove what was marked, then answer. */
static void do_quit(void)
{
  size_t i;
  int failed = 0;

  for (i = 0; i < box.count; i++) {
    if (!box.msg[i].deleted) continue;
    if (popbox_remove(&box, i) == -1) {
      qwarn_sys("unable to remove a message of ", user);
      failed = 1;
      continue;
    }
    deleted_count++;
  }
  if (deleted_count > 0) {
    /* not needed for safety (a lost unlink only brings a message back),
     * but a client told "+OK" should not see it again after a crash */
    int dfd = open("cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd != -1) {
      fsync(dfd);
      close(dfd);
    }
  }
  if (failed)
    pop_puts("-ERR [SYS/TEMP] some deleted messages were not removed\r\n");
  else
    pop_puts("+OK bye\r\n");
  pop_flush();
  log_end(failed ? "quit, removal failed" : "quit");
  _exit(0);
}

int pop_session(void)
{
  const char *maildir;
  const char *env;
  char line[POP_MAX_CMDLINE + 1];
  size_t len;
  unsigned long timeout;
  unsigned long bad = 0;
  struct pop_cmd c;
  int lockfd;
  int r;

  /* a client gone mid-RETR is a write error, logged, not a silent death */
  signal(SIGPIPE, SIG_IGN);
  env = getenv("USER");
  if (env != NULL) user = env;
  env = getenv("TCPREMOTEIP");
  if (env != NULL) ip = env;
  if (getuid() == 0 || geteuid() == 0) {
    pop_puts("-ERR [SYS/PERM] server misconfigured\r\n");
    pop_flush();
    qdie(100, "refusing to serve a mailbox as root");
  }
  maildir = getenv("MAILDIR");
  if (maildir == NULL || maildir[0] != '/') {
    pop_puts("-ERR [SYS/PERM] this mailbox is not a Maildir\r\n");
    pop_flush();
    qdie(100, "no Maildir for ", user);
  }

  if (qhome_chdir() == 0 && ctl_readint(&timeout, "control/timeoutpop3d", POP_TIMEOUT) == 1)
    pop_timeout = timeout;

  if (chdir(maildir) == -1) {
    if (errno != ENOENT) {
      qwarn_sys("unable to switch to ", maildir);
      pop_puts("-ERR [SYS/TEMP] unable to open the mailbox\r\n");
      pop_flush();
      _exit(111);
    }
    /* no mail delivered yet: an empty mailbox */
    if (chdir("/") == -1) _exit(111);
  } else {
    lockfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd == -1 || flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
      if (lockfd != -1 && errno == EWOULDBLOCK) {
        pop_puts("-ERR [IN-USE] the mailbox is open in another POP3 session\r\n");
        pop_flush();
        qlog("session ", user, " from ", ip, ": mailbox in use");
        _exit(0);
      }
      qwarn_sys("unable to lock ", maildir);
      pop_puts("-ERR [SYS/TEMP] unable to lock the mailbox\r\n");
      pop_flush();
      _exit(111);
    }
    if (popbox_scan(&box, 1) == -1) {
      qwarn_sys("unable to read ", maildir);
      pop_puts("-ERR [SYS/TEMP] unable to read the mailbox\r\n");
      pop_flush();
      _exit(111);
    }
  }
  if (box.skipped > 0) qwarn("mailbox of ", user, " has too many messages: showing the oldest");

  pop_io_end = log_end;
  {
    unsigned long long total = 0;
    size_t i;
    char n1[FMT_ULONG];
    char n2[FMT_ULONG];
    for (i = 0; i < box.count; i++) total += box.msg[i].size;
    pop_puts("+OK ");
    pop_puts(qlog_ulong(n1, (unsigned long)box.count));
    pop_puts(" messages (");
    pop_puts(qlog_ulong(n2, (unsigned long)total));
    pop_puts(" octets)\r\n");
  }

  for (;;) {
    r = pop_getline(line, POP_MAX_CMDLINE, &len);
    if (r == 0) pop_exit(0, "connection closed without QUIT");
    if (r == -2) {
      pop_puts("-ERR line too long\r\n");
      if (++bad >= POP_MAX_BADCMDS) pop_exit(0, "too many bad commands");
      continue;
    }
    pop_cmd_parse(&c, line, len);
    if (strcmp(c.word, "stat") == 0 && c.arg[0] == '\0') {
      do_stat();
    } else if (strcmp(c.word, "list") == 0) {
      do_list(c.arg, 0);
    } else if (strcmp(c.word, "uidl") == 0) {
      do_list(c.arg, 1);
    } else if (strcmp(c.word, "retr") == 0) {
      do_retr(c.arg, 0);
    } else if (strcmp(c.word, "top") == 0) {
      do_retr(c.arg, 1);
    } else if (strcmp(c.word, "dele") == 0) {
      do_dele(c.arg);
    } else if (strcmp(c.word, "rset") == 0) {
      do_rset();
    } else if (strcmp(c.word, "noop") == 0) {
      pop_puts("+OK\r\n");
    } else if (strcmp(c.word, "capa") == 0) {
      do_capa();
    } else if (strcmp(c.word, "quit") == 0) {
      do_quit();
    } else {
      pop_puts("-ERR unknown command\r\n");
      if (++bad >= POP_MAX_BADCMDS) {
        pop_flush();
        pop_exit(0, "too many bad commands");
      }
    }
  }
}
