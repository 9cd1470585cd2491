#ifndef QLOCAL_H
#define QLOCAL_H
/* Shared by qlocal's files: one delivery, and the pieces that write it. */
#include <stddef.h>
#include <sys/types.h>

struct delivery {
  const char *sender;        /* envelope sender, internal form, "" = null */
  const char *recipient;     /* envelope recipient, internal form */
  unsigned long long msglen; /* bytes of message on fd 0 from msgstart */
  off_t msgstart;
  unsigned long maxhops;     /* control/maxhops */
  unsigned long timeoutcommand; /* control/timeoutcommand: seconds, 0 none */
  const char *id;            /* -i: the queue id, put before a command's output */
};

#define MSG_RETURNPATH 1 /* prepend "Return-Path: <sender>" */
#define MSG_DTLINE 2     /* prepend "Delivered-To: recipient" */
#define MSG_MBOX 4       /* mbox: "From " line, >From quoting, blank line at the end */

/* qlocal_report.c: the outcome of one delivery. Every delivery function
 * below returns its exit code (0 delivered, 100 permanent failure, 111
 * temporary failure) and leaves the line for the report in *res. */
#define REPORT_LINE_MAX 900
struct qlocal_result {
  int code;
  int expanded;   /* code 0, and an alias or ~/.forward sent the message on to addresses */
  size_t len;
  char line[REPORT_LINE_MAX + 1]; /* at most REPORT_LINE_MAX bytes, no control bytes */
};
/* Sets res to code and the parts (NULL: none), one after the other; returns code. */
int report(struct qlocal_result *res, int code, const char *s1, const char *s2, const char *s3);
/* The same with "WHAT OBJ: strerror(errno)". */
int report_sys(struct qlocal_result *res, int code, const char *what, const char *obj);
/* The line on fd 1 (qlspawn reads it); returns res->code. */
int report_write(const struct qlocal_result *res);

/* A message that already has our Delivered-To line or more than maxhops
 * Received lines: 100 (111 when it cannot be read); 0 if it may go on. */
int msg_checkloop(const struct delivery *d, struct qlocal_result *res);
/* Writes the message with what flags ask for to fd. 0, or -1 + errno. */
int msg_write(const struct delivery *d, int fd, int flags);

int deliver_maildir(const struct delivery *d, const char *dir, struct qlocal_result *res);
int deliver_mbox(const struct delivery *d, const char *file, struct qlocal_result *res);
/* Writes into a Maildir/mbox: 0 ok, 100/111 with *why set (and errno). */
int maildir_put(const struct delivery *d, const char *dir, const char **why);
int mbox_put(const struct delivery *d, const char *file, const char **why);
int deliver_alias(const struct delivery *d, const char *const *targets, size_t n,
                  struct qlocal_result *res);

/* A login account whose ~/.forward is read (qlocal -h HOME). */
struct forward_owner {
  const char *home;    /* its home directory */
  const char *mailbox; /* its own mailbox ("\\user", "user" in the file) */
};
/* -1 when HOME/.forward is missing, empty or ignored as unsafe (a warning
 * says why): the mailbox is delivered to; else delivers as the file says. */
int deliver_forward(const struct delivery *d, const char *home, const char *mailbox,
                    struct qlocal_result *res);
/* qlocal_alias.c: delivers the text of a ~/.forward (len bytes). */
int deliver_forward_text(const struct delivery *d, const struct forward_owner *owner,
                         const char *text, size_t len, struct qlocal_result *res);

/* qlocal.c: one run of qlocal, as its arguments (qlocal.8) give it. */
struct qlocal_job {
  struct delivery d;
  const char *len_arg;       /* -l, as given */
  const char *home;          /* -h */
  int alias_mode;            /* -A: targets follows */
  char *const *args;         /* MAILBOX, or the targets */
  size_t nargs;
};
/* Reads qlocal's arguments (argv[0] is the program): 0, or -1 on misuse
 * (then qlocal_usage: the usage line, exit 100). */
void qlocal_usage(void) __attribute__((noreturn));
int qlocal_parse(int argc, char *const *argv, struct qlocal_job *job);
/* Delivers what job says; returns the exit code, the line in res. */
int qlocal_deliver(struct qlocal_job *job, struct qlocal_result *res);
/* The whole of qlocal: parse (misuse: usage, exit 100), deliver, the line
 * on fd 1; returns the exit code. */
int qlocal_main(int argc, char **argv);
/* Set by qlspawn in the process that runs qlocal_main: a delivery that
 * sent the message on to addresses (res.expanded) then returns
 * QLOCAL_EXPANDED instead of 0, so that its success report can say
 * "expanded" (RFC 3461 6.2.7.3). qlocal run as a program never does. */
extern int qlocal_tell_expanded;
#define QLOCAL_EXPANDED 99

#endif
