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
  const char *id;            /* -i: the queue id, put before a command's output */
};

#define MSG_RETURNPATH 1 /* prepend "Return-Path: <sender>" */
#define MSG_DTLINE 2     /* prepend "Delivered-To: recipient" */
#define MSG_MBOX 4       /* mbox: "From " line, >From quoting, blank line at the end */

/* Refuses (report 100) a message that already has our Delivered-To line
 * or more than maxhops Received lines. Returns only if it may go on. */
void msg_checkloop(const struct delivery *d);
/* Writes the message with what flags ask for to fd. 0, or -1 + errno. */
int msg_write(const struct delivery *d, int fd, int flags);

/* The result line (at most REPORT_LINE_MAX bytes, no control bytes) on
 * fd 1 and exit with code (0, 100, 111). When report_hook is set, it gets
 * the line instead and must not return (qlspawn's workers jump back to
 * their loop). */
#define REPORT_LINE_MAX 900
extern void (*report_hook)(int code, const char *line, size_t len);
void report(int code, const char *s1, const char *s2, const char *s3) __attribute__((noreturn));
void report_sys(int code, const char *what, const char *obj) __attribute__((noreturn));

/* Each reports and exits. */
void deliver_maildir(const struct delivery *d, const char *dir) __attribute__((noreturn));
void deliver_mbox(const struct delivery *d, const char *file) __attribute__((noreturn));
/* Writes into a Maildir/mbox without exiting: 0 ok, 100/111 with *why set. */
int maildir_put(const struct delivery *d, const char *dir, const char **why);
int mbox_put(const struct delivery *d, const char *file, const char **why);
int deliver_alias(const struct delivery *d, const char *const *targets, size_t n);

/* A login account whose ~/.forward is read (qlocal -h HOME). */
struct forward_owner {
  const char *home;    /* its home directory */
  const char *mailbox; /* its own mailbox ("\\user", "user" in the file) */
};
/* Returns when HOME/.forward is missing, empty or ignored as unsafe (a
 * warning says why); else delivers as the file says and reports. */
void deliver_forward(const struct delivery *d, const char *home, const char *mailbox);
/* qlocal_alias.c: delivers the text of a ~/.forward (len bytes) and reports. */
void deliver_forward_text(const struct delivery *d, const struct forward_owner *owner,
                          const char *text, size_t len) __attribute__((noreturn));

/* The whole of qlocal (argv as qlocal.8 gives it); exits, or returns the exit code. */
int qlocal_main(int argc, char **argv);

#endif
