#ifndef QREMOTE_H
#define QREMOTE_H
/*
 * qremote's modules: routes (control/smtproutes), DNS (MX, A, AAAA with
 * the rcode), the network (connect and timed I/O), the TLS helper, and the
 * SMTP client. qremote.c holds main and the job loop.
 */
#include <stddef.h>
#include <sys/types.h>

#include <buffer.h>
#include <stralloc.h>

#include "../qtls/qtls_sts.h"

#define QR_PORT 25
#define QR_HOST_MAX 255      /* RFC 1035 2.3.4: a name of at most 255 bytes */
#define QR_PATH_MAX 255      /* a file named in a route */

/* qremote_route.c: one entry of control/smtproutes, or the -r override.
 *   domain:host[:port][ option...]      host "" = the MX of the domain
 *   options: tls=may|no|require|verify|LEVEL  ca=FILE  auth=FILE
 * (LEVEL: a level of control/tlspolicy, qremote_policy.c) */
#define ROUTE_TLS_MAY 0      /* STARTTLS when offered (the default) */
#define ROUTE_TLS_NO 1       /* never STARTTLS */
#define ROUTE_TLS_REQUIRE 2  /* TLS or nothing; the certificate is not checked */
#define ROUTE_TLS_VERIFY 3   /* TLS with a certificate valid for the host name */
#define ROUTE_TLS_DANE 4     /* DANE where the DNS allows it, else as may (tlspolicy) */
#define ROUTE_TLS_DANE_ONLY 5 /* DANE or nothing (tlspolicy) */

struct route {
  char host[QR_HOST_MAX + 3];     /* relay host or "[literal]"; "" = MX lookup */
  unsigned long port;
  int tls;
  int tls_set;                    /* tls= was given: control/tlspolicy is not asked */
  char cafile[QR_PATH_MAX + 1];   /* "" = the system's store */
  char authfile[QR_PATH_MAX + 1]; /* "" = no AUTH */
};

void route_init(struct route *r);
/* Parses the right-hand side of an entry ("host:port options"). 0, -1 syntax. */
int route_parse(struct route *r, const char *s, size_t len);
/* Finds the route for domain d in list (entries as ctl_readlist gives them):
 * the entry "d:", then ".parent:" for each parent domain, then ":".
 * 1 found (r set), 0 none (r = MX defaults), -1 the entry found is malformed. */
int route_find(struct route *r, const char *list, size_t listlen, const char *d, size_t dlen);

/* qremote_policy.c: control/tlspolicy. The level of the name (s, len
 * bytes: none may encrypt verify dane dane-only) or -1; its name. */
int tlspolicy_level(const char *s, size_t len);
const char *tlspolicy_name(int level);
/* The level for host (an MX or route host; "" none) of domain in list
 * (entries as ctl_readlist gives them): "[host]", the domain, ".parent"
 * for each parent, "*"; may without an entry. 1 found, 0 none, -1 the
 * entry found is malformed. */
int tlspolicy_find(const char *list, size_t listlen, const char *domain, const char *host,
                   int *level);

/* qremote_dns.c: queries through lib/dnsq (control/resolvers, else
 * /etc/resolv.conf; $DNSCACHEIP first when set), with the AD bit of each
 * answer: *secure is 1 when the validating resolver said the records are
 * DNSSEC-valid. */
#define QDNS_OK 0        /* an answer (possibly empty) */
#define QDNS_NX 1        /* NXDOMAIN */
#define QDNS_NULLMX 2    /* RFC 7505: the domain accepts no mail */
#define QDNS_TEMP -1     /* no answer: timeout, SERVFAIL, malformed; errno set */
#define QR_TLSA_MAX 32        /* TLSA records used (qtls-client -T) */
#define QR_TLSA_DATA_MAX 8192 /* bytes of one record's data */

struct mx {
  unsigned int pref;
  char name[QR_HOST_MAX + 1];  /* dotted, no trailing dot, lowercase */
};
struct dnsq_answer;
/* MX records of domain, sorted by preference, equal ones shuffled.
 * *list is malloc'd (free it). */
int qdns_mx(const char *domain, struct mx **list, size_t *count, int *secure);
/* Addresses of host into out, 16 bytes each (IPv4 as ::ffff:a.b.c.d):
 * the AAAA records, then the A records, each family shuffled. Secure
 * when both answers were. */
int qdns_ip(stralloc *out, const char *host, int *secure);
/* The usable TLSA records (DANE-TA or DANE-EE, RFC 7672 3.1.3) of
 * _port._tcp.host as "usage selector mtype hex\0" each (qtls-client -T),
 * *count of them; *present 1 when the answer held TLSA records at all.
 * None are taken from an answer that is not secure. */
int qdns_tlsa(stralloc *out, size_t *count, const char *host, unsigned long port, int *secure,
              int *present);
/* The same for an answer already received, as the above read it:
 * qdns_mx_answer the MX records (sorted, shuffled), qdns_ip_answer the
 * addresses of one type (DNSQ_T_A or DNSQ_T_AAAA) appended to out and
 * shuffled, qdns_tlsa_answer the usable TLSA records appended to out. */
int qdns_mx_answer(const struct dnsq_answer *a, struct mx **list, size_t *count);
int qdns_ip_answer(stralloc *out, const struct dnsq_answer *a, unsigned int type);
int qdns_tlsa_answer(stralloc *out, size_t *count, const struct dnsq_answer *a);
/* dnsq_query of the TXT records of prefix + domain ("_mta-sts." and
 * "_smtp._tls." names): its result (DNSQ_*; below 0 nothing to free). */
int qdns_txt(const char *prefix, const char *domain, struct dnsq_answer *ans);
/* Seeds the shuffle; takes the resolver from $DNSCACHEIP if set. */
void qdns_init(void);
/* A random number below n (n > 0). */
unsigned int qdns_random(unsigned int n);

/* qremote_sts.c: MTA-STS (RFC 8461), the policy cache in sts/ (see there). */
struct sts_cache {
  char id[33];
  unsigned long expires;
  struct sts_policy policy;
};
/* The policy of domain into c: 1 one applies, 0 none. Runs qmtasts only
 * when the _mta-sts TXT id changed or the cached policy expired. */
int sts_lookup(const char *domain, struct sts_cache *c);

/* qremote_rpt.c: TLS-RPT counts (RFC 8460) in sts/rpt/DAY/DOMAIN: a
 * session under a policy of type ("tlsa", "sts") to mx, result NULL for
 * success or an RFC 8460 result type. Never fails the delivery. */
void rpt_count(const char *domain, const char *type, const char *result, const char *mx);

/* qremote_net.c */
#define IP_FMT_MAX 48
int net_ismapped(const char ip[16]);
/* Text form of ip into buf (IP_FMT_MAX bytes), NUL-terminated; returns buf. */
char *net_fmtip(char *buf, const char ip[16]);
/* Parses "1.2.3.4", "IPv6:...", or a bare IPv6 address into ip. 1 ok, 0 not an address. */
int net_scanip(char ip[16], const char *s, size_t len);
/* Connects to ip:port within timeout seconds. The fd (non-blocking,
 * close-on-exec), or -1 + errno (ETIMEDOUT on timeout). */
int net_connect(const char ip[16], unsigned long port, unsigned long timeout);
/* 1 if ip is one of this host's addresses (or 0.0.0.0, ::), 0 if not. */
int net_isme(const char ip[16]);
/* Waits until fd is readable (events POLLIN) or writable (POLLOUT), at most
 * timeout seconds. 1 ready, 0 timeout, -1 error. */
int net_wait(int fd, short events, unsigned long timeout);

/* qremote_tls.c: starts qtls-client on the connected socket netfd (which it
 * closes). Returns our end of the socket pair with *pid set, after reading
 * the status line into status (NUL-terminated, without "Y "/"N "); or -1 if
 * the helper said N or died (status says why; *pid reaped). tlsa: the
 * TLSA records for DANE, tlsa_count strings one after the other (qdns_tlsa),
 * given as -T each. */
int tls_start(int netfd, const char *host, int verify, const char *cafile,
              const char *tlsa, size_t tlsa_count,
              unsigned long timeout, char *status, size_t statussize, pid_t *pid);
/* Where qtls-client and qmtasts are: set by main from argv[0] (NULL:
 * search PATH). */
extern const char *tls_helper_dir;
/* In a child: execs the helper argv[0] from tls_helper_dir, else from
 * PATH; _exit(111) if neither works. */
#define QR_HELPER_NAME_MAX 32
void helper_exec(const char *const *argv) __attribute__((noreturn));

/* qremote_reply.c: what the server says. */
#define SMTP_TEXT_MAX 1000   /* spawnproto.h SPAWN_TEXT_MAX */

struct ehlo_ext {
  int pipelining;
  int size;
  unsigned long sizemax;
  int eightbit;
  int smtputf8;
  int dsn;
  int starttls;
  int auth_plain;
  int auth_login;
};

/* Reads one reply from in: its code (200...599), with reply = "CODE text
 * text" (the lines' texts joined by blanks, control bytes as '?', at most
 * SMTP_TEXT_MAX bytes) and lines = the text of each line after the code,
 * each followed by '\0'. -1 on end of file (errno 0), a read error
 * (errno), nonsense from the server (EPROTO) or ENOMEM. */
int smtp_reply_read(buffer *in, stralloc *reply, stralloc *lines);
/* The extensions named in the lines of an EHLO reply (as above). */
void smtp_ehlo_parse(struct ehlo_ext *ext, const stralloc *lines);

/* qremote_smtp.c: the SMTP client (its parts: qremote_smtp.h). */

struct rcpt {
  const char *addr;     /* internal form */
  const char *notify;   /* DSN NOTIFY or NULL */
  const char *orcpt;    /* DSN ORCPT ("rfc822;addr") or NULL */
  char result;          /* 0 pending, 'K', 'Z', 'T', 'D' (spawnproto.h) */
  stralloc text;        /* the reason or the acceptance */
};

struct job {
  unsigned long id;             /* the inode: the file's name */
  const char *qid;              /* the queue id (queue.h), for the log */
  int msgfd;                    /* the queue file */
  unsigned long long msglen;    /* at offset QUEUE_HDRLEN */
  const char *sender;
  const char *ret;              /* DSN RET or NULL */
  const char *envid;            /* DSN ENVID (decoded) or NULL */
  struct rcpt *rcpt;
  size_t rcpt_count;
};

struct smtp_config {
  stralloc helo;                /* control/helohost or control/me */
  stralloc me;                  /* control/me */
  unsigned long timeout_connect;
  unsigned long timeout_remote;
  stralloc tlspolicy;           /* control/tlspolicy (ctl_readlist) */
};

/* Delivers job j to the route r for the recipient domain. Every recipient
 * ends with a result. Keeps the connection open for the next job. */
void smtp_deliver(struct job *j, const struct route *r, const char *domain,
                  const struct smtp_config *c);
/* Says QUIT on an open connection and closes it. */
void smtp_quit(void);
/* The open connection's fd or -1 (for the idle wait); smtp_idle_event()
 * reads what the server sent while idle (it closes the connection: a
 * server says nothing between transactions except 421). */
int smtp_fd(void);
void smtp_idle_event(void);

#endif
