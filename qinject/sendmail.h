#ifndef SENDMAIL_H
#define SENDMAIL_H
/*
 * sendmail's internals, shared by its three files:
 *   sendmail.c       main, and the command line (sendmail's flags, the
 *                    -o/-O settings, mailq's and newaliases' own)
 *   sendmail_run.c   our programs found and run for the modes that are
 *                    another program: -bp/mailq (qstat), -bi/newaliases
 *                    (qnewmaps), -bs (qsmtpd), -q (s6-svc -a, after a
 *                    flush request)
 *   sendmail_send.c  sending: the message's header read (recipients from
 *                    it with -t) and completed, the envelope built,
 *                    qinject fed
 *   sendmail_verify.c  -bv: where the maps send each recipient
 * Each exits on failure with sendmail's codes (100 permanent, 111
 * temporary) and a line on fd 2.
 */
#include <stralloc.h>

enum mode { MODE_SEND, MODE_LIST, MODE_SMTP, MODE_MAPS, MODE_FLUSH, MODE_VERIFY };

struct sendmail_opt {
  enum mode mode;
  int from_headers;     /* -t */
  int dot_ends;         /* a lone "." ends the message (no -i) */
  const char *sender;   /* -f / -r, NULL: the invoking user */
  const char *fullname; /* -F */
  const char *notify;   /* -N: DSN NOTIFY */
  const char *ret;      /* -R: DSN RET */
  const char *envid;    /* -V: DSN ENVID */
  char flush_kind;      /* 'R', 'S', 'I' or 0 */
  const char *flush_pattern;
  const char *queue_dir; /* -oQ / -O QueueDirectory=: must be $QHOME/queue */
  const char *queue_opt; /* which of the two, for the message */
  char **rcpts;
};

extern struct sendmail_opt opt; /* sendmail.c: the command line */

/* ---- sendmail_run.c: each execs its program or exits ---- */

extern const char *run_argv0; /* the name we were run as (main sets it) */
/* A program of ours, NAME: QHOME/bin, beside run_argv0, beside our
 * binary, then PATH. */
void run_prog(const char *name, char **args);
void run_list(void);  /* -bp, mailq: qstat (-qR, -qS, -qI filter it) */
void run_maps(void);  /* -bi, newaliases: qnewmaps -s */
void run_smtp(void);  /* -bs: qsmtpd as a local client that may relay */
void run_flush(void); /* -q: a flush request for -qR/-qS/-qI, then s6-svc -a */

/* ---- sendmail_send.c ---- */

/* Reads the message on fd 0 and queues it through qinject: 0, or exits. */
int send_message(void);
/* -bv: the command line's recipients, each through verify_rcpts. */
void verify_args(void) __attribute__((noreturn));

/* ---- sendmail_verify.c ---- */

/* -bv: where the maps send each of rcpts (internal form, each followed by
 * '\0'; me: control/me), one line each on fd 1; exits 0 when every one is
 * deliverable, 100 when one is not, 111 when a map cannot be read. */
void verify_rcpts(const stralloc *rcpts, const stralloc *me) __attribute__((noreturn));

#endif
