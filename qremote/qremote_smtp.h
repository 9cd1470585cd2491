#ifndef QREMOTE_SMTP_H
#define QREMOTE_SMTP_H
/*
 * The SMTP client's parts, behind smtp_deliver (qremote.h):
 *   qremote_wire.c     the connection: timed reads and writes, commands,
 *                      replies, and the one-line texts made of them
 *   qremote_plan.c     the TLS plan of a session (control/tlspolicy, DANE,
 *                      MTA-STS), the log's tls= text, TLS-RPT counts
 *   qremote_session.c  greeting, EHLO/HELO, STARTTLS, AUTH
 *   qremote_txn.c      MAIL, RCPT, DATA and the recipients' results
 *   qremote_smtp.c     hosts and addresses tried in turn; smtp_deliver
 * and tests/unit/u_qremote_txn.c, which runs transactions against
 * scripted replies.
 */
#include <stddef.h>
#include <sys/types.h>

#include <buffer.h>
#include <stralloc.h>

#include "qremote.h"

#define TLS_INFO_MAX 300

/* Results of opening a session and of a transaction. */
#define SESS_OK 0
#define SESS_NEXT 1     /* this address failed: failtext says why; try the next */
#define SESS_NOTLS 2    /* opportunistic TLS failed: connect again without it */
#define TX_DONE 0       /* every recipient of the job has a result */
#define TX_AGAIN 1      /* some were refused with 452: another transaction */
#define TX_LOST 2       /* the connection died before MAIL was answered */

/* The TLS policy of the session being opened: control/tlspolicy's level
 * (or the route's tls=) resolved for the host by the DNS (plan_make). */
#define PLAN_NONE 0         /* no STARTTLS */
#define PLAN_MAY 1          /* STARTTLS when offered, else or on failure in the clear */
#define PLAN_ENCRYPT 2      /* TLS required, the certificate not checked */
#define PLAN_VERIFY 3       /* TLS required, WebPKI: trusted and naming the host */
#define PLAN_DANE 4         /* TLS required, checked against the TLSA records */
#define PLAN_STS_ENFORCE 5  /* MTA-STS enforce: as verify */
#define PLAN_STS_TESTING 6  /* MTA-STS testing: as may, the check reported */
#define POLICY_TEXT_MAX 80

struct plan {
  int mode;
  const char *label;        /* what the log calls it */
  stralloc tlsa;            /* PLAN_DANE: the records (qdns_tlsa) */
  size_t tlsa_count;
};

/* Everything about the connection to the destination, and the texts made
 * from it. qremote has one (it stays open between jobs). */
struct conn {
  int fd;                   /* -1: none open */
  pid_t tls_pid;            /* qtls-client, or -1 */
  int broken;               /* an I/O error happened: the connection is unusable */
  int tls;                  /* TLS is up */
  unsigned long timeout;    /* seconds for each read and write */
  buffer in;
  buffer out;
  char in_space[4096];
  char out_space[16384];
  struct ehlo_ext ext;      /* what the server's EHLO offered */

  /* the host, for the texts and the log */
  char host_name[QR_HOST_MAX + 3];
  char ip_text[IP_FMT_MAX];
  char tls_text[TLS_INFO_MAX];

  /* the TLS policy of the session (plan_make) */
  struct plan plan;
  char policy_text[POLICY_TEXT_MAX]; /* the log's "tls=": policy and outcome */
  struct sts_cache sts;     /* the destination's MTA-STS policy ... */
  int sts_on;               /* ... if it has one (deliver_fresh) */
  const char *rpt_domain;   /* the policy domain TLS-RPT counts for */

  stralloc reply;           /* the last reply, one line: "250 text text" */
  stralloc reply_lines;     /* its lines after the code, each ending in '\0' */
  stralloc failtext;        /* why the last host failed */
  stralloc cmd;             /* a command being built */

  /* what the job's message needs, measured once per job (txn_scan) */
  unsigned long long wire_size;
  int eightbit;
};
#define CONN_INIT                                                                          \
  {                                                                                        \
    .fd = -1, .tls_pid = -1, .host_name = "-", .ip_text = "-", .tls_text = "no",           \
    .policy_text = "-", .rpt_domain = ""                                                   \
  }

/* A host of the destination: an MX, a route's host or an address literal. */
struct host {
  char name[QR_HOST_MAX + 3];
  unsigned int pref;
  stralloc ips;
  int dns;          /* QDNS_ result of its address lookup */
  int dns_errno;
  int secure;       /* its addresses are DNSSEC-valid */
};

/* qremote_wire.c: the connection. wire_attach starts using the connected
 * socket fd (closed by wire_close, which also waits for qtls-client).
 * Reads flush what was written first (pipelining), every read and write
 * waits at most cn->timeout seconds, and any failure sets cn->broken:
 * from then on nothing is read or written. */
void wire_attach(struct conn *cn, int fd);
void wire_close(struct conn *cn);
void wire_put(struct conn *cn, const char *s, size_t len);
void wire_puts(struct conn *cn, const char *s);
int wire_flush(struct conn *cn);                 /* 0, -1 broken */
/* Reads one reply into cn->reply and cn->reply_lines. Its code
 * (200...599), or -1: the connection is broken (errno) or the server
 * spoke nonsense (errno EPROTO). */
int wire_reply(struct conn *cn);
/* Sends the command s (without CRLF) and reads its reply, as above. */
int wire_command(struct conn *cn, const char *s);

/* qremote_wire.c: texts. Every text we hand back is one line of at most
 * SMTP_TEXT_MAX bytes: text_set joins the parts (NULLs left out), control
 * bytes as '?'. 0, -1 out of memory. */
int text_set(stralloc *sa, const char *a, const char *b, const char *c, const char *d);
/* "HOST [IP]" (a static buffer) */
const char *host_label(const struct conn *cn);
/* cn->failtext = "STATUS HOST [IP]: what[: detail]" */
void fail_local(struct conn *cn, const char *status, const char *what, const char *detail);
/* cn->failtext = "HOST [IP] said: REPLY" */
void fail_reply(struct conn *cn);
/* cn->failtext = "4.4.2 HOST [IP]: connection lost: " and errno's text */
void fail_net(struct conn *cn);

/* qremote_plan.c. plan_make: the TLS plan for host h of domain (mx_secure:
 * the MX RRset that named it was DNSSEC-valid). 0, or -1 with failtext
 * set: the host is not to be used. plan_required: 1 when the plan allows
 * no delivery in the clear. plan_rpt: a TLS-RPT count of the session
 * (result NULL for success) when the plan is under a policy. policy_set:
 * cn->policy_text = "a b c" (NULLs left out). */
int plan_make(struct conn *cn, const struct host *h, const struct route *r, const char *domain,
              int mx_secure, unsigned long port, const struct smtp_config *c);
int plan_required(const struct conn *cn);
void plan_rpt(const struct conn *cn, const char *result);
void policy_set(struct conn *cn, const char *a, const char *b, const char *c);

/* qremote_session.c: greeting, EHLO, STARTTLS (sni: the name to ask
 * for; allow_tls 0 after opportunistic TLS failed), AUTH on a fresh
 * connection. SESS_OK, SESS_NEXT or SESS_NOTLS. */
int session_open(struct conn *cn, const struct route *r, const char *sni,
                 const struct smtp_config *c, int allow_tls);

/* qremote_txn.c. txn_scan: measures the job's message (its size on the
 * wire, whether it has 8-bit bytes) into cn. 0, -1 + errno. */
int txn_scan(struct conn *cn, const struct job *j);
/* Runs transactions on the open session until every recipient of j has
 * a result (TX_DONE), or returns TX_LOST when the connection was found
 * dead before MAIL was answered and reused is set (it was kept from an
 * earlier job): the recipients are untouched, connect afresh. */
int txn_run(struct conn *cn, struct job *j, int reused);
/* Every recipient of j without a result gets result with text. */
void txn_pending_set(struct job *j, char result, const stralloc *text);

#endif
