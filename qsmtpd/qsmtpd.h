#ifndef QSMTPD_H
#define QSMTPD_H
/*
 * qsmtpd internals, shared by qsmtpd.c and its qsmtpd_*.c siblings.
 *
 * The pure parts (command parsing, the DATA state machine, the Received:
 * line, the access actions, the qinject exit codes) touch no global state,
 * so the unit tests in tests/unit/u_qsmtpd_*.c and the fuzz targets in
 * fuzz/ link them directly.
 */
#include <stddef.h>
#include <sys/types.h>

#include <buffer.h>
#include <stralloc.h>

#include "addr.h"
#include "queue.h"

#define MAX_CMDLINE 512     /* RFC 5321 4.5.3.1.4, CRLF included */
#define MAX_AUTHLINE 2048   /* RFC 4954 4: AUTH lines may exceed 512 bytes */
/* the extensions we offer make MAIL and RCPT longer (RFC 5321 4.5.3.1.4):
 * MAIL by 26 for SIZE (RFC 1870), 100 for ENVID and RET (RFC 3461 5), 500
 * for AUTH= (RFC 4954 5), 24 for BODY=8BITMIME and SMTPUTF8; RCPT by 500
 * for NOTIFY and ORCPT (RFC 3461 5). Both fit in MAX_AUTHLINE. */
#define MAX_MAILLINE (MAX_CMDLINE + 26 + 100 + 500 + 24)
#define MAX_RCPTLINE (MAX_CMDLINE + 500)
#define MAX_ENVID 100       /* RFC 3461 4.4 */
#define MAX_ORCPT 500       /* RFC 3461 4.2 */
#define MAX_NOTIFY 24       /* "SUCCESS,FAILURE,DELAY" */
#define MAX_ENVELOPE 524288 /* envelope bytes of one transaction (recipients) */
#define MAX_AUTHUSER 320    /* ADDR_MAX: users log in with their address */
#define MAX_AUTHPASS 512

/* ---- command parsing (qsmtpd_parse.c) ---- */

enum smtp_verb {
  VERB_UNKNOWN, VERB_HELO, VERB_EHLO, VERB_MAIL, VERB_RCPT, VERB_DATA, VERB_BDAT,
  VERB_RSET, VERB_NOOP, VERB_QUIT, VERB_VRFY, VERB_EXPN, VERB_HELP, VERB_STARTTLS,
  VERB_AUTH
};

/* The verb of a command line (without CRLF); *arg = offset of the
 * argument (after the verb and the blanks that follow it). */
int smtp_verb(const char *line, size_t len, size_t *arg);

/* 1 if s is a valid EHLO/HELO argument: a domain or an address literal
 * ([1.2.3.4], [IPv6:...]). */
int smtp_helo_ok(const char *s, size_t len);

struct mail_args {
  struct addr addr;
  unsigned long long size;   /* SIZE=, 0 if not given */
  int body8;                 /* BODY=8BITMIME */
  int smtputf8;              /* SMTPUTF8 */
  char ret[5];               /* RET=: "FULL", "HDRS" or "" */
  char envid[MAX_ENVID + 1]; /* ENVID=, xtext-decoded, "" if not given */
  int has_envid;
};

/* Parses the argument of MAIL ("FROM:<path> params"). ehlo: parameters
 * allowed. NULL on success, else the reply (a literal). */
const char *smtp_mail_parse(struct mail_args *m, const char *s, size_t len, int ehlo);

struct rcpt_args {
  struct addr addr;
  char notify[MAX_NOTIFY + 1]; /* "NEVER" or a comma list; "" if not given */
  char orcpt[MAX_ORCPT + 1];   /* "type;decoded-address", "" if not given */
};

/* Parses the argument of RCPT ("TO:<path> params"). utf8: the transaction
 * has SMTPUTF8. NULL on success, else the reply. */
const char *smtp_rcpt_parse(struct rcpt_args *r, const char *s, size_t len, int ehlo, int utf8);

/* Decodes xtext (RFC 3461 4) into out (at most max bytes). Returns the
 * length, or (size_t)-1 if invalid or too long, or if it decodes to a
 * control or non-ASCII byte. */
size_t smtp_xtext_decode(char *out, size_t max, const char *s, size_t len);
/* The address of ORCPT's utf-8 type (RFC 6533 3: xtext, raw UTF-8 and
 * "\x{HEX}") into UTF-8 in out (at most max bytes): its length, or
 * (size_t)-1 if it is not well-formed or too long. */
size_t smtp_utf8addr_decode(char *out, size_t max, const char *s, size_t len);

/* "BDAT size [LAST]": 1 ok (*size, *last set), 0 syntax error. */
int smtp_bdat_parse(const char *s, size_t len, unsigned long long *size, int *last);

/* ---- DATA and BDAT (qsmtpd_data.c) ---- */

#define DATA_BUFSIZE 4096
#define DATA_HOLD_MAX 4096 /* bytes of a From:, Sender: or Reply-To: field held to rewrite */

/* The DATA state machine: turns what the client sends into the message
 * the queue holds. Mode DATA_DOT (DATA): dot-unstuffing and CRLF.CRLF as
 * the only end. Mode DATA_RAW (BDAT): no dots, no end marker. Both: CRLF
 * becomes LF; a bare CR or LF sets bare (refused later) or, with barelf,
 * becomes a line end. In the header section Return-Path: fields are
 * removed and Received:/Delivered-To: fields counted (hops). */
#define DATA_DOT 1
#define DATA_RAW 2

struct smtpdata {
  int mode;
  int barelf;
  int state;        /* transport state (CR, dot, line start) */
  int hstate;       /* header filter state */
  int drop_cont;    /* the last header field is dropped: drop its continuations */
  int bare;         /* a bare CR or LF was seen */
  int done;         /* the end of data was read (DATA_DOT) */
  int nul;          /* a NUL byte was seen */
  int stripnul;     /* NUL bytes are dropped (set after smtpdata_init) */
  size_t hline;     /* bytes of the header line so far */
  size_t hline_max; /* the longest header line, without its line end */
  unsigned long hops;
  char name[32];    /* the start of a header line, until its name is known */
  size_t namelen;
  int name_wsp;     /* blanks after the name */
  char out[DATA_BUFSIZE];
  size_t outlen;
  unsigned long long outbytes; /* bytes handed to put */
  unsigned long long size;     /* the message as RFC 1870 counts it: CRLF line ends, without
                                * the stuffing dots and the final ".\r\n" (DATA) */
  void (*put)(void *cookie, const char *s, size_t len);
  void *cookie;
  /* set after smtpdata_init to rewrite From:, Sender:, Reply-To: (the
   * whole field, continuation lines and final LF included, in field);
   * returns the length of the replacement, pointed to by *out */
  size_t (*rewrite)(void *cookie, const char *field, size_t len, const char **out);
  void *rewrite_cookie;
  /* set after smtpdata_init to drop Authentication-Results: fields: the
   * whole field as above; 1 drops it */
  int (*drop)(void *cookie, const char *field, size_t len);
  void *drop_cookie;
  int holding;      /* a field is in hold: HOLD_REWRITE or HOLD_AR */
  char hold[DATA_HOLD_MAX];
  size_t holdlen;
  /* set after smtpdata_init to complete the header (RFC 6409 8.2, 8.3):
   * called once, where the header section ends, with the DATA_SEEN_ bits
   * of the fields it had; returns the length of the fields to add there
   * (LF line ends), pointed to by *out */
  size_t (*missing)(void *cookie, int seen, const char **out);
  void *missing_cookie;
  int seen;         /* DATA_SEEN_DATE, DATA_SEEN_MSGID: fields in the header */
};

#define DATA_SEEN_DATE 1
#define DATA_SEEN_MSGID 2

#define HOLD_REWRITE 1
#define HOLD_AR 2

void smtpdata_init(struct smtpdata *d, int mode, int barelf,
                   void (*put)(void *cookie, const char *s, size_t len), void *cookie);
/* Consumes bytes; stops right after the end of data. Returns bytes used. */
size_t smtpdata_feed(struct smtpdata *d, const char *s, size_t len);
/* End of the message (after the end of data or BDAT LAST): a pending CR
 * is bare; the output is flushed. */
void smtpdata_finish(struct smtpdata *d);

/* ---- generics for submission (qsmtpd_generics.c) ---- */

/* Reads generics and masquerading for this transaction (me: control/me).
 * 0, -1 + errno. */
int generics_start(const stralloc *me);
/* Rewrites the envelope sender in place (size bytes room), when
 * control/masquerade_envelope says so. 0, -1 + errno. */
int generics_sender(char *sender, size_t size);
/* The smtpdata rewrite hook: the field with its addresses rewritten. */
size_t generics_field(void *cookie, const char *f, size_t flen, const char **out);

/* ---- Received: (qsmtpd_received.c) ---- */

struct received_info {
  const char *helo;     /* may be "" */
  const char *host;     /* the client's host name (session.host), or NULL */
  const char *ip;
  const char *me;
  const char *proto;    /* "ESMTP", "ESMTPSA", "SMTP", ... */
  const char *tls;      /* "TLSv1.3 TLS_AES_256_GCM_SHA384", or NULL */
  const char *authuser; /* or NULL */
  const char *id;       /* the queue id, or NULL (not known) */
  long long now;        /* seconds since the epoch */
};

/* Formats the Received: field (LF line ends) into sa. 0 ok, -1 no memory. */
int received_fmt(stralloc *sa, const struct received_info *r);

/* ---- policy helpers (qsmtpd_policy.c) ---- */

#define ACT_NONE 0
#define ACT_OK 1
#define ACT_RELAY 2
#define ACT_REJECT 3
#define ACT_DISCARD 4
#define ACT_ERROR 5

/* Classifies an access action ("OK", "REJECT", "ERROR:5.7.1:550 text"...).
 * For ACT_REJECT and ACT_ERROR a complete reply line (with CRLF) goes into
 * reply (at least 600 bytes): def is the reply code used for REJECT and
 * for an ERROR without a valid code ("550" or "554"). */
int policy_access_action(const char *val, size_t len, const char *def, char *reply, size_t max);
#define ACCESS_REPLY_MAX 600

/* For an alias whose first target is "error:x.y.z text", the reply line;
 * 0 if the target is not an error target. */
int policy_alias_error(const char *target, size_t len, char *reply, size_t max);

/* authsender=address: whether the alias targets (each followed by '\0',
 * tlen bytes in all) of sender name the login user, written in full or,
 * for a bare local part, at the sender's domain (any case). 1 yes, 0 no. */
int policy_alias_names_user(const char *sender, const char *targets, size_t tlen, const char *user);

/* The reply for qinject's wait status (qmail-queue exit codes). */
const char *inject_reply(int status);

/* ---- the client's host name (qsmtpd_dns.c) ---- */

#define HOSTNAME_MAX 253  /* RFC 1035 2.3.4: 255 bytes in wire form */
#define DNS_SECONDS 5     /* all the lookups of one connection together */

/* The client's forward-confirmed host name: the PTR names of ip (text
 * form, IPv4 or IPv6; at most 4 names), each looked up for A or AAAA
 * until one holds ip again, all within seconds. 1 confirmed (name, of at
 * least HOSTNAME_MAX + 1 bytes, gets it in lower case), 0 no confirmed
 * name, -1 a lookup failed or the time ran out (errno). */
int fcrdns_lookup(const char *ip, char *name, unsigned int seconds);

/* ---- session, I/O (qsmtpd.c, qsmtpd_io.c) ---- */

extern buffer io_in;
extern buffer io_out;
extern unsigned long io_timeout;    /* control/timeoutsmtpd */
extern unsigned long io_timeout_stress; /* control/timeoutstress: while qlisten is under stress */
extern unsigned long io_data_rate;      /* control/datarate: bytes/s message data must average */

void io_init(void);
void io_reset(void);              /* after STARTTLS, between sessions: forget buffered I/O */
void io_phase_command(void);      /* a command line is awaited (net_getline does it) */
void io_phase_data(void);         /* message data is awaited */
int io_terminated(void);          /* 1 once SIGTERM came: no further session */
int io_wait_idle(int fd);         /* pool: waits for fd with SIGTERM open; -1 SIGTERM came */
void io_child_setup(void);     /* in a forked child: default signals, nothing blocked */
void io_puts(const char *s);     /* queue output */
void io_put(const char *s, size_t len);
void io_flush(void);             /* flush or die */
void io_reply(const char *s);        /* out_puts; a reply literal with CRLF */
void io_term_check(void);         /* 421 4.3.2 and exit if SIGTERM came */
void io_die_read(void) __attribute__((noreturn));
void io_die_timeout(void) __attribute__((noreturn));
void io_die_nomem(void) __attribute__((noreturn));
/* Logs the session line (why the session ends) and exits 0 (qsmtpd.c). */
void sess_exit(const char *why) __attribute__((noreturn));
/* Reads one line (bounded; -2: too long, read through). See line.h. */
int io_getline(char *line, size_t size, size_t *len);

/* ---- qinject (qsmtpd_inject.c) ---- */

struct inject {
  int own;       /* 1: qsmtpd writes the queue file itself (no QINJECT) */
  int code;      /* own: the qmail-queue exit code so far (QQ_OK) */
  int cr;        /* own: a CR ended the last chunk (crlf_strip) */
  unsigned long long now; /* own: the arrival time */
  char id[QUEUE_ID_MAX];  /* own: the queue id from the open, "" if none */
  pid_t pid;
  int msgfd;     /* message pipe to qinject's fd 0, -1 if closed */
  int envfd;     /* envelope pipe to qinject's fd 1 */
  int failed;    /* a write failed: qinject went away */
  char quarantine[QUEUE_REASON_MAX + 1]; /* own: a Q record's reason, "" for none */
  buffer b;
  char buf[8192];
};

/* Starts qinject. 0 ok, -1 failed (errno). */
int inject_start(struct inject *q);
void inject_put(struct inject *q, const char *s, size_t len);
/* Ends the message, writes the envelope, waits: the reply for the client. */
const char *inject_finish(struct inject *q, const char *env, size_t len);
/* Drops the message: qinject sees no complete envelope and queues nothing. */
void inject_abort(struct inject *q);
/* When qsmtpd writes the queue file itself: everything written out and a
 * read-only descriptor of the file (*len: message bytes so far, from
 * QUEUE_HDRLEN). -1 + errno otherwise (EINVAL: through QINJECT). */
int inject_msgfd(struct inject *q, unsigned long long *len);
/* Header fields before the message (queue_insert): 0, or -1 (the message
 * is then dropped: the reply is a temporary failure). */
int inject_prepend(struct inject *q, const char *s, size_t len);
/* Cuts the message back to its first len bytes (a new body follows with
 * inject_put): 0, or -1 (the message is dropped, as above). */
int inject_truncate(struct inject *q, unsigned long long len);
/* Replaces the first cut bytes of the message by s, len bytes as they are
 * (queue_splice: a new header): 0, or -1 (the message is dropped, as above). */
int inject_splice(struct inject *q, unsigned long long cut, const char *s, size_t len);
/* The message is to be quarantined with reason (one line of printable
 * ASCII, copied; NULL: not): inject_finish writes the Q record (queue.h). */
void inject_quarantine(struct inject *q, const char *reason);

/* ---- DKIM, DMARC, Authentication-Results (qsmtpd_dkim.c) ---- */

/* Reads control/authservid (default: me) for the connection. */
void authint_config(void);
/* The smtpdata drop hook: 1 for an Authentication-Results field naming
 * our authserv-id. */
int authint_drop(void *cookie, const char *field, size_t len);
/* After the end of data, before the envelope: signing through qdkimd -s
 * (a login or a relay client), or verification through qdkimd -v (any
 * other client, not on a submission port), and the fields they give put
 * before the message. NULL to go on, else the reply that refuses the
 * message (451 signer unreachable, 550 DMARC reject). */
const char *authint_message(struct inject *q, const char *sender);
/* For the program that takes the message instead (QINJECT, qsmtpd_inject.c):
 * the variables that tell qinject at the end of it to sign or verify
 * (qinject/qinject_dkim.h), "NAME=value\0" each, into env (emptied first;
 * left empty when neither applies). 0, or -1 (logged): the program is not
 * started and the message is deferred. */
int authint_env(stralloc *env);
/* The verdicts for the message's log line (" spf=... dkim=... dmarc=..."),
 * "" when none; authint_reset forgets them (each transaction). */
const char *authint_log(void);
void authint_reset(void);

/* ---- milters (qsmtpd_milter.c) ---- */

/* Reads control/milters (each session). */
void milters_config(void);
/* Each stage: NULL to go on, else the reply (a milter's refusal, or 451
 * 4.7.1 for a milter that is down with default=tempfail). The first call
 * of a session connects the milters and sends the connection. */
const char *milters_helo(const char *helo);
const char *milters_mail(const char *sender);   /* internal form, "" for <> */
const char *milters_rcpt(const char *rcpt);
/* After the end of data, before the envelope: the message read back from
 * the queue file; the fields milters add put before it. *discard: a
 * milter said discard (accept and drop). */
const char *milters_message(struct inject *q, int *discard);
/* After milter_message: the new sender a milter gave (as it wrote it, to
 * be parsed), or NULL; the reason of a quarantine, or NULL. */
const char *milters_sender(void);
const char *milters_quarantine(void);
/* After milter_message: the recipients the milters added and deleted, as
 * they wrote them ("<a@b>" or "a@b"), each ending in NUL. */
void milters_rcpts(const stralloc **add, const stralloc **del);
void milters_abort(void); /* the transaction ends (RSET, new MAIL, after DATA) */
void milters_end(void);   /* the session ends: QUIT, connections closed */

/* ---- the session (qsmtpd_session.c) ---- */

struct session {
  const char *ip;          /* TCPREMOTEIP */
  const char *host;        /* for Received: hostname if confirmed, else TCPREMOTEHOST
                              when qsmtpd asked DNS nothing itself, else NULL */
  int host_confirmed;      /* host is hostname: access Connect: rules may use it */
  char hostname[HOSTNAME_MAX + 1]; /* forward-confirmed by qsmtpd (qsmtpd_dns.c) */
  stralloc me;             /* control/me, NUL-terminated */
  char helo[256];          /* the EHLO/HELO argument, "" before it */
  int seen_helo;
  int ehlo;                /* EHLO (not HELO): extensions allowed */
  int submission;          /* SUBMISSION=1: MAIL needs AUTH */
  int loopback;            /* the client is on loopback (ipaddr_isloopback) */
  int authplaintext;       /* control/authplaintext exists */
  int tls;                 /* TLS is active */
  char tls_proto[64];
  char tls_cipher[128];
  const char *tlsd;        /* QTLSD: qtlsd's socket; NULL: no TLS to offer */
  int authed;
  char authuser[MAX_AUTHUSER + 1];
  int auth_failures;
  unsigned long msgs;      /* messages accepted in this session */
  int refused;             /* access refused the client: only QUIT */
  int relay;               /* RELAYCLIENT or access RELAY */
  int access_ok;           /* access Connect: OK: no more access checks */
  int discard;             /* access Connect: DISCARD */
  int pooled;              /* qlisten's pool mode: sessions one after another
                              (set once in main; sess_clear keeps it) */
};

extern struct session sess;
/* the settings of control/ for this session (sess_config) */
struct smtpd_config {
  stralloc locals;
  stralloc rcpthosts;
  unsigned long databytes;   /* 0: no limit */
  unsigned long maxrcpt;
  unsigned long maxhops;
  int barelf;                /* control/barelf: bare CR/LF tolerated */
  int stripnul;              /* control/stripnul: NUL bytes dropped, not refused */
  int longheaders;           /* control/longheaders: header lines over 998 octets relayed */
  int relax_pipelining;      /* control/relaxpipelining: no pipelining checks */
  int authsender;            /* 0 off, 1 address, 2 domain */
  int submission_generics;   /* control/submissiongenerics: rewrite what users submit */
};
extern struct smtpd_config cfg;
/* qsmtpd_session.c */
void sess_clear(void);
void sess_config(void);
int sess_client_name(void);
void sess_die_config(const char *what) __attribute__((noreturn));

/* ---- the transaction (qsmtpd.c, qsmtpd_envelope.c, qsmtpd_message.c) ----
 * MAIL opens it (seen_mail; the F, V, X records of the envelope), each
 * RCPT adds its T, N, O records (qsmtpd_envelope.c); DATA or the first
 * BDAT ends the envelope with its empty record and starts the queue file,
 * and the end of data refuses, drops or commits the message
 * (qsmtpd_message.c). Then, or on RSET, EHLO, STARTTLS or the end of the
 * session, tx_reset (qsmtpd.c) closes it: nothing of one transaction
 * reaches the next. */

struct tx {
  int seen_mail;              /* MAIL given: the transaction is open */
  int utf8;                   /* MAIL ... SMTPUTF8 */
  int relay;                  /* access From: RELAY */
  int access_ok;              /* access From: OK */
  int discard;                /* access DISCARD: accept and drop */
  int generics;               /* the sender and header are rewritten (submission) */
  unsigned long rcpt_count;
  unsigned long rcpt_tried;
  unsigned long rcpt_dups;    /* RCPTs of a recipient given before: taken once */
  stralloc envelope;          /* F, V, X, then T, N, O records */
  size_t env_rcpt_start;      /* offset of the first T record */
  char sender[ADDR_MAX + 1];
  int remote;                 /* a recipient is not local: the message is relayed */
  int body_started;           /* BDAT chunks are being received */
  struct inject inject;
  int inject_open;
  struct smtpdata data;
  unsigned long long bytes;   /* bytes read from the client for this message */
  int toobig;
};

extern struct tx tx;
void tx_reset(void);

/* The commands of a transaction; arg is what follows the verb. */
void smtp_mail(const char *arg, size_t len);  /* qsmtpd_envelope.c */
void smtp_rcpt(const char *arg, size_t len);
void smtp_data(const char *arg, size_t len);  /* qsmtpd_message.c */
void smtp_bdat(const char *arg, size_t len);

/* Looks kind (ACCESS_CONNECT, _FROM, _TO)/key up in control/access.cdb:
 * ACT_*, with the reply in rbuf (ACCESS_REPLY_MAX bytes) for ACT_REJECT
 * and ACT_ERROR; -1 when the map cannot be read (qsmtpd_envelope.c). */
int smtp_access(int kind, const char *key, size_t len, const char *def, char *rbuf);

/* 1 if the client has sent more than it may have yet (and the checks are
 * on); sess_pipelining_refuse logs what, replies r and ends the session
 * (qsmtpd.c). */
/* Pool mode: 421 and the session's end when qlisten has stopped. */
void sess_stop_check(void);
/* Pool mode: 1 once qlisten has stopped (its socket pair closed), else 0;
 * sess_pool_fd is that socket pair, -1 outside pool mode (qsmtpd.c). */
int sess_listener_gone(void);
int sess_pool_fd(void);
int sess_pipelining_abuse(void);
void sess_pipelining_refuse(const char *what, const char *r) __attribute__((noreturn));

/* ---- the log lines about clients (qsmtpd_log.c; qsmtpd.8) ---- */

/* "reject ip= helo= tls= auth= from=<> [rcpt=<>] code=": a refused
 * command of the transaction (rcpt NULL: MAIL). */
void log_reject(const char *rcpt, const char *r);
/* "what ip= ... rcpts= size= [id=] to= [verdicts] code=": the end of a
 * message (what: accept, reject, discard); id "" when there is none. */
void log_message(const char *what, const char *r, unsigned long long size, const char *id);
/* "session ip= helo= tls= auth= msgs= end=why" */
void log_session(const char *why);
/* "reject ip= ... pipelining=what code=" */
void log_pipelining(const char *what, const char *r);
/* "reject ip= helo= bare LF in a command" */
/* "reject ip= helo=- tls=none auth=- from=<> code=": the access rules
 * refused the connection. */
void log_refused(const char *r);

/* Forgets EHLO and the transaction (STARTTLS, RFC 3207 4.2). */
void sess_forget(void);
/* 1 if a mail transaction is open (MAIL given). */
int sess_tx_active(void);
/* 1 if AUTH is offered now. */
int sess_auth_offered(void);

/* ---- SPF (qsmtpd_spf.c) ---- */

/* SPF for the MAIL FROM sender (internal form, "" for <>): NULL to go on,
 * else the reply refusing it (only with control/spfreject). */
const char *spfcheck_mail(const char *sender);
/* The transaction's Received-SPF: field into sa (empty when SPF was not
 * evaluated). 0, or -1 out of memory. */
int spfcheck_header(stralloc *sa);
/* The transaction's SPF result as an RFC 8601 word, the domain checked
 * and whether it was the HELO identity: 0, or -1 when SPF did not run. */
int spfcheck_result(const char **word, const char **domain, int *helo);

/* ---- AUTH and STARTTLS (qsmtpd_auth.c, qsmtpd_tls.c) ---- */

/* Runs qauth for user/pass: 0 ok, 1 bad login, 2 temporary failure. */
int smtp_auth_check(const char *user, size_t ulen, const char *pass, size_t plen);
/* The AUTH command, arg is what follows the verb. */
void smtp_auth(const char *arg, size_t len);
/* The STARTTLS command. */
void smtp_starttls(const char *arg, size_t len);
/* Implicit TLS before the greeting (IMPLICITTLS): 0 ok, -1 failed (logged). */
int smtp_tls_implicit(void);
/* The session ends (session_exit): a connection to qtlsd still being
 * negotiated is closed, so that qtlsd drops the client too. */
void smtp_tls_end(void);

#endif
