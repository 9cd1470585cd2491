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

#define QR_PORT 25
#define QR_HOST_MAX 255      /* RFC 1035 2.3.4: a name of at most 255 bytes */
#define QR_PATH_MAX 255      /* a file named in a route */

/* qremote_route.c: one entry of control/smtproutes, or the -r override.
 *   domain:host[:port][ option...]      host "" = the MX of the domain
 *   options: tls=may|no|require|verify  ca=FILE  auth=FILE */
#define ROUTE_TLS_MAY 0      /* STARTTLS when offered (the default) */
#define ROUTE_TLS_NO 1       /* never STARTTLS */
#define ROUTE_TLS_REQUIRE 2  /* TLS or nothing; the certificate is not checked */
#define ROUTE_TLS_VERIFY 3   /* TLS with a certificate valid for the host name */

struct route {
  char host[QR_HOST_MAX + 3];     /* relay host or "[literal]"; "" = MX lookup */
  unsigned long port;
  int tls;
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

/* qremote_dns.c: queries through libowfat's dns_resolve (DNSCACHEIP or
 * /etc/resolv.conf), reading the rcode that dns_mx cannot give. */
#define DNSQ_OK 0        /* an answer (possibly empty) */
#define DNSQ_NX 1        /* NXDOMAIN */
#define DNSQ_NULLMX 2    /* RFC 7505: the domain accepts no mail */
#define DNSQ_TEMP -1     /* no answer: timeout, SERVFAIL, malformed; errno set */

struct mx {
  unsigned int pref;
  char name[QR_HOST_MAX + 1];  /* dotted, no trailing dot, lowercase */
};
/* MX records of domain, sorted by preference, equal ones shuffled.
 * *list is malloc'd (free it). */
int dnsq_mx(const char *domain, struct mx **list, size_t *count);
/* Addresses of host into out, 16 bytes each (IPv4 as ::ffff:a.b.c.d):
 * the AAAA records, then the A records, each family shuffled. */
int dnsq_ip(stralloc *out, const char *host);
/* The same for an answer packet (len bytes) already received, as the
 * two above read it: dnsq_mx_packet the MX records (shuffled, sorted),
 * dnsq_ip_packet the addresses of one type (DNS_T_A or DNS_T_AAAA),
 * appended to out and shuffled. DNSQ_TEMP with errno EPROTO: malformed. */
int dnsq_mx_packet(const char *packet, unsigned int len, struct mx **list, size_t *count);
int dnsq_ip_packet(stralloc *out, const char *packet, unsigned int len, const char type[2]);
/* Fills buf with random bytes for dns_random_init (getrandom). */
void dnsq_init(void);
/* A random number below n (n > 0). */
unsigned int dnsq_random(unsigned int n);

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
 * the helper said N or died (status says why; *pid reaped). */
int tls_start(int netfd, const char *host, int verify, const char *cafile,
              unsigned long timeout, char *status, size_t statussize, pid_t *pid);
/* Where qtls-client is: set by main from argv[0] (NULL: search PATH). */
extern const char *tls_helper_dir;

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

/* qremote_smtp.c: the SMTP client. */

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
