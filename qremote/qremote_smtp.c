/*
 * qremote_smtp: the SMTP client (RFC 5321) with PIPELINING (RFC 2920),
 * SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN
 * (RFC 3461), STARTTLS (RFC 3207) through qtls-client, and AUTH PLAIN /
 * LOGIN (RFC 4954, 4616) to smarthosts.
 *
 * One connection at a time; it stays open after a job so that the next
 * job for the same destination goes out on it (smtp_deliver tries it
 * first and connects afresh if it turns out to be dead before the server
 * answered MAIL, when nothing can have happened yet).
 *
 * Every result text is one line. A reply of the server reads
 *   "HOST [IP] said: 550 5.1.1 text"
 * and our own reasons start with an enhanced status code (RFC 3463):
 *   "4.4.1 HOST [IP]: unable to connect: Connection refused"
 * qsend_dsn.c relies on these two shapes for Status, Remote-MTA and
 * Diagnostic-Code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <stralloc.h>

#include "bflush.h"
#include "addr.h"
#include "qlog.h"
#include "queue.h"
#include "qremote.h"
#include "smtpdata.h"

#define TLS_INFO_MAX 300
#define AUTH_FILE_MAX 2048
#define MSG_CHUNK 65536
#define QUIT_TIMEOUT 10       /* seconds for the reply to QUIT */
#define HELPER_EXIT_WAIT 50   /* tenths of a second for qtls-client to exit */

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
 * from it. There is one (the connection stays open between jobs). */
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

  /* what the job's message needs, measured once per job */
  unsigned long long wire_size;
  int eightbit;
};
#define CONN_INIT                                                                          \
  {                                                                                        \
    .fd = -1, .tls_pid = -1, .host_name = "-", .ip_text = "-", .tls_text = "no",           \
    .policy_text = "-", .rpt_domain = ""                                                   \
  }

static struct conn conn = CONN_INIT;

/* The TLS-RPT policy type of the plan: "tlsa", "sts", or NULL (none). */
static const char *rpt_type(const struct conn *cn)
{
  if (cn->plan.mode == PLAN_DANE) return "tlsa";
  if (cn->plan.mode == PLAN_STS_ENFORCE || cn->plan.mode == PLAN_STS_TESTING) return "sts";
  return NULL;
}

static void rpt(struct conn *cn, const char *result)
{
  if (rpt_type(cn) != NULL) rpt_count(cn->rpt_domain, rpt_type(cn), result, cn->host_name);
}

static int plan_required(const struct conn *cn)
{
  int mode = cn->plan.mode;

  return mode == PLAN_ENCRYPT || mode == PLAN_VERIFY || mode == PLAN_DANE ||
         mode == PLAN_STS_ENFORCE;
}

/* policy_text = a b c (NULLs left out) */
static void policy_set(struct conn *cn, const char *a, const char *b, const char *c)
{
  const char *parts[3] = {a, b, c};
  size_t n = 0;

  for (size_t k = 0; k < 3; ++k) {
    if (parts[k] == NULL) continue;
    if (n > 0 && n + 1 < sizeof cn->policy_text) cn->policy_text[n++] = ' ';
    for (const char *p = parts[k]; *p != '\0' && n + 1 < sizeof cn->policy_text; ++p)
      cn->policy_text[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
  }
  cn->policy_text[n] = '\0';
}


/* Every text we hand back is one line of at most SMTP_TEXT_MAX bytes. */
static int text_set(stralloc *sa, const char *a, const char *b, const char *c, const char *d)
{
  const char *parts[4] = {a, b, c, d};

  sa->len = 0;
  for (size_t k = 0; k < 4; ++k) {
    if (parts[k] == NULL) continue;
    for (const char *p = parts[k]; *p != '\0' && sa->len < SMTP_TEXT_MAX; ++p) {
      char ch = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
      if (!stralloc_append(sa, &ch)) return -1;
    }
  }
  return 0;
}

/* "HOST [IP]" */
static const char *host_label(const struct conn *cn)
{
  static char label[sizeof cn->host_name + IP_FMT_MAX + 4];
  size_t n = 0;

  n += fmt_str(label + n, cn->host_name);
  n += fmt_str(label + n, " [");
  n += fmt_str(label + n, cn->ip_text);
  n += fmt_str(label + n, "]");
  label[n] = '\0';
  return label;
}

/* failtext = "STATUS HOST [IP]: what[: detail]" */
static void fail_local(struct conn *cn, const char *status, const char *what, const char *detail)
{
  stralloc tail = {0};

  if (text_set(&tail, what, detail != NULL ? ": " : NULL, detail, NULL) == -1) tail.len = 0;
  if (!stralloc_0(&tail)) {
    stralloc_free(&tail);
    text_set(&cn->failtext, status, " out of memory", NULL, NULL);
    return;
  }
  text_set(&cn->failtext, status, " ", host_label(cn), ": ");
  for (size_t k = 0; tail.s[k] != '\0' && cn->failtext.len < SMTP_TEXT_MAX; ++k)
    if (!stralloc_append(&cn->failtext, tail.s + k)) break;
  stralloc_free(&tail);
}

/* failtext = "HOST [IP] said: REPLY" */
static void fail_reply(struct conn *cn)
{
  if (!stralloc_0(&cn->reply)) return;
  --cn->reply.len;
  text_set(&cn->failtext, host_label(cn), " said: ", cn->reply.s, NULL);
}

static void fail_net(struct conn *cn)
{
  fail_local(cn, "4.4.2", "connection lost", errno == 0 ? "end of file" : strerror(errno));
}

static void result_set(struct rcpt *r, char result, const stralloc *text)
{
  r->result = result;
  if (!stralloc_copy(&r->text, text)) r->text.len = 0;
}

/* ---- the connection ---- */

/* libowfat calls a buffer's op with the buffer itself as the cookie
 * (buffer_feed, buffer_flush), bflush with b->cookie, which conn_attach
 * sets to the buffer too: either way the op finds its connection. */
static struct conn *conn_of(void *cookie, size_t offset)
{
  return (struct conn *)(void *)((char *)cookie - offset);
}

static ssize_t net_read(int fd, char *buf, size_t len, void *cookie)
{
  struct conn *cn = conn_of(cookie, offsetof(struct conn, in));

  if (cn->broken) return -1;
  if (bflush(&cn->out) == -1) {
    cn->broken = 1;
    return -1;
  }
  for (;;) {
    ssize_t r;
    int w = net_wait(fd, POLLIN, cn->timeout);

    if (w == 0) errno = ETIMEDOUT;
    if (w != 1) {
      cn->broken = 1;
      return -1;
    }
    r = read(fd, buf, len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      if (r == 0) errno = 0;
      cn->broken = 1;
    }
    return r;
  }
}

static ssize_t net_write(int fd, const char *buf, size_t len, void *cookie)
{
  struct conn *cn = conn_of(cookie, offsetof(struct conn, out));

  if (cn->broken) return -1;
  for (;;) {
    ssize_t r;
    int w = net_wait(fd, POLLOUT, cn->timeout);

    if (w == 0) errno = ETIMEDOUT;
    if (w != 1) {
      cn->broken = 1;
      return -1;
    }
    r = send(fd, buf, len, MSG_NOSIGNAL);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == -1) cn->broken = 1;
    return r;
  }
}

static void conn_attach(struct conn *cn, int fd)
{
  cn->fd = fd;
  cn->broken = 0;
  buffer_init(&cn->in, net_read, fd, cn->in_space, sizeof cn->in_space);
  buffer_init(&cn->out, net_write, fd, cn->out_space, sizeof cn->out_space);
  cn->in.cookie = &cn->in;
  cn->out.cookie = &cn->out;
}

static void conn_close(struct conn *cn)
{
  if (cn->fd != -1) close(cn->fd);
  cn->fd = -1;
  cn->tls = 0;
  if (cn->tls_pid != -1) {
    int status;
    int waited = 0;

    /* qtls-client sends close_notify and exits once the server closes */
    while (waitpid(cn->tls_pid, &status, WNOHANG) == 0) {
      if (waited++ == HELPER_EXIT_WAIT) {
        kill(cn->tls_pid, SIGTERM);
        while (waitpid(cn->tls_pid, &status, 0) == -1 && errno == EINTR) {}
        break;
      }
      poll(NULL, 0, 100);
    }
    cn->tls_pid = -1;
  }
}

static void put(struct conn *cn, const char *s, size_t len)
{
  if (buffer_put(&cn->out, s, len) == -1) cn->broken = 1;
}

static void puts0(struct conn *cn, const char *s)
{
  put(cn, s, strlen(s));
}

static int flush(struct conn *cn)
{
  if (cn->broken || bflush(&cn->out) == -1) {
    cn->broken = 1;
    return -1;
  }
  return 0;
}

/* Reads one reply. Its code (200...599), or -1: the connection is broken
 * (errno) or the server spoke nonsense (errno EPROTO). */
static int get_reply(struct conn *cn)
{
  int code = smtp_reply_read(&cn->in, &cn->reply, &cn->reply_lines);

  if (code == -1) cn->broken = 1;
  return code;
}

/* Sends a command and reads its reply. */
static int command(struct conn *cn, const char *s)
{
  puts0(cn, s);
  puts0(cn, "\r\n");
  return get_reply(cn);
}

/* ---- EHLO, STARTTLS, AUTH ---- */

/* EHLO, falling back to HELO. SESS_OK or SESS_NEXT. */
static int hello(struct conn *cn, const struct smtp_config *c)
{
  int code;

  if (!stralloc_copys(&cn->cmd, "EHLO ") || !stralloc_cat(&cn->cmd, &c->helo) ||
      !stralloc_0(&cn->cmd))
    goto nomem;
  code = command(cn, cn->cmd.s);
  if (code == -1) goto lost;
  if (code >= 200 && code < 300) {
    smtp_ehlo_parse(&cn->ext, &cn->reply_lines);
    return SESS_OK;
  }
  memset(&cn->ext, 0, sizeof cn->ext);
  if (!stralloc_copys(&cn->cmd, "HELO ") || !stralloc_cat(&cn->cmd, &c->helo) ||
      !stralloc_0(&cn->cmd))
    goto nomem;
  code = command(cn, cn->cmd.s);
  if (code == -1) goto lost;
  if (code >= 200 && code < 300) return SESS_OK;
  fail_reply(cn);
  return SESS_NEXT;

lost:
  fail_net(cn);
  return SESS_NEXT;
nomem:
  fail_local(cn, "4.3.0", "out of memory", NULL);
  return SESS_NEXT;
}

static int starttls(struct conn *cn, const struct route *r, const char *sni,
                    const struct smtp_config *c)
{
  char status[TLS_INFO_MAX];
  int required = plan_required(cn);
  int verify = cn->plan.mode == PLAN_VERIFY || cn->plan.mode == PLAN_STS_ENFORCE;
  int dane = cn->plan.mode == PLAN_DANE;
  int code;
  int fd;

  code = command(cn, "STARTTLS");
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code != 220) {
    if (!required) return SESS_OK; /* RFC 3207 4: go on in the clear */
    fail_reply(cn);
    return SESS_NEXT;
  }
  /* RFC 3207 5 and qtls-client(8): nothing may come between 220 and the
   * handshake; bytes there would be read as if they had come through TLS */
  if (cn->in.p != cn->in.n) {
    fail_local(cn, "4.7.0", "data after the 220 reply to STARTTLS", NULL);
    return SESS_NEXT;
  }
  fd = tls_start(cn->fd, sni, verify, r->cafile, dane ? cn->plan.tlsa.s : NULL,
                 dane ? cn->plan.tlsa_count : 0, c->timeout_connect, status, sizeof status,
                 &cn->tls_pid);
  cn->fd = -1; /* tls_start closed the socket */
  if (fd == -1) {
    /* RFC 7672 2.2, RFC 8461 5: an authentication failure (4.7.5) */
    if (cn->plan.mode == PLAN_DANE || cn->plan.mode == PLAN_STS_ENFORCE)
      fail_local(cn, "4.7.5", cn->plan.mode == PLAN_DANE ? "TLS failed (tls policy dane)"
                                                 : "TLS failed (tls policy sts enforce)", status);
    else
      fail_local(cn, "4.7.0", "TLS failed", status);
    policy_set(cn, cn->plan.label, "failed", NULL);
    rpt(cn, "validation-failure");
    qlog("TLS with ", host_label(cn), " failed: ", status);
    return required ? SESS_NEXT : SESS_NOTLS;
  }
  conn_attach(cn, fd);
  cn->tls = 1;
  {
    size_t k;

    for (k = 0; status[k] != '\0' && k + 1 < sizeof cn->tls_text; ++k)
      cn->tls_text[k] = status[k] == ' ' ? '/' : status[k];
    cn->tls_text[k] = '\0';
  }
  {
    /* status: "proto cipher verified|unverified|dane-ee|dane-ta cn" */
    char proto[TLS_INFO_MAX];
    char how[TLS_INFO_MAX];
    const char *p = status;
    size_t k = 0;

    while (*p != '\0' && *p != ' ' && k + 1 < sizeof proto) proto[k++] = *p++;
    proto[k] = '\0';
    if (*p == ' ') ++p;
    while (*p != '\0' && *p != ' ') ++p; /* the cipher */
    if (*p == ' ') ++p;
    for (k = 0; *p != '\0' && *p != ' ' && k + 1 < sizeof how; ++p) how[k++] = *p;
    how[k] = '\0';
    if (cn->plan.mode == PLAN_DANE) policy_set(cn, how, "verified", proto);
    else policy_set(cn, cn->plan.label, proto, how);
  }
  rpt(cn, NULL);
  if (hello(cn, c) != SESS_OK) return SESS_NEXT; /* RFC 3207 4.2: EHLO again */
  return SESS_OK;
}

static size_t base64_fmt(char *dest, const unsigned char *s, size_t len)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;

  for (size_t i = 0; i < len; i += 3) {
    unsigned long v = (unsigned long)s[i] << 16;

    if (i + 1 < len) v |= (unsigned long)s[i + 1] << 8;
    if (i + 2 < len) v |= s[i + 2];
    dest[n++] = alphabet[(v >> 18) & 63];
    dest[n++] = alphabet[(v >> 12) & 63];
    dest[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    dest[n++] = i + 2 < len ? alphabet[v & 63] : '=';
  }
  dest[n] = '\0';
  return n;
}

/* Reads the credentials: user on line 1, password on line 2. 0, -1 (failtext set). */
static int auth_read(struct conn *cn, const char *fn, char *user, char *pass, size_t size)
{
  char data[AUTH_FILE_MAX];
  struct stat st;
  ssize_t len;
  size_t i = 0;
  size_t k;
  int fd;

  fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd == -1) {
    fail_local(cn, "4.3.0", "unable to read the credentials file", strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0) {
    close(fd);
    fail_local(cn, "4.3.0", "refusing a credentials file others may read (want mode 600)", NULL);
    return -1;
  }
  len = read(fd, data, sizeof data);
  close(fd);
  if (len < 0) {
    fail_local(cn, "4.3.0", "unable to read the credentials file", strerror(errno));
    return -1;
  }
  for (k = 0; i < (size_t)len && data[i] != '\n' && k + 1 < size; ++i) user[k++] = data[i];
  while (k > 0 && user[k - 1] == '\r') --k;
  user[k] = '\0';
  if (i < (size_t)len) ++i;
  for (k = 0; i < (size_t)len && data[i] != '\n' && k + 1 < size; ++i) pass[k++] = data[i];
  while (k > 0 && pass[k - 1] == '\r') --k;
  pass[k] = '\0';
  memset(data, 0, sizeof data);
  if (user[0] == '\0') {
    fail_local(cn, "4.3.0", "no user name in the credentials file", NULL);
    return -1;
  }
  return 0;
}

static int auth(struct conn *cn, const struct route *r)
{
  char user[512];
  char pass[512];
  char plain[1030];
  char encoded[1400 + 16];
  size_t ulen;
  size_t plen;
  int code;

  if (!cn->tls && cn->plan.mode != PLAN_NONE) {
    fail_local(cn, "4.7.0", "refusing to send credentials without TLS", NULL);
    return SESS_NEXT;
  }
  if (!cn->ext.auth_plain && !cn->ext.auth_login) {
    fail_local(cn, "4.7.0", "the server offers no AUTH PLAIN or LOGIN", NULL);
    return SESS_NEXT;
  }
  if (auth_read(cn, r->authfile, user, pass, sizeof user) == -1) return SESS_NEXT;
  ulen = strlen(user);
  plen = strlen(pass);

  if (cn->ext.auth_plain) { /* RFC 4616: authzid NUL authcid NUL passwd */
    plain[0] = '\0';
    memcpy(plain + 1, user, ulen);
    plain[1 + ulen] = '\0';
    memcpy(plain + 2 + ulen, pass, plen);
    memcpy(encoded, "AUTH PLAIN ", 11);
    base64_fmt(encoded + 11, (const unsigned char *)plain, 2 + ulen + plen);
    code = command(cn, encoded);
  } else {
    code = command(cn, "AUTH LOGIN");
    if (code == 334) {
      base64_fmt(encoded, (const unsigned char *)user, ulen);
      code = command(cn, encoded);
    }
    if (code == 334) {
      base64_fmt(encoded, (const unsigned char *)pass, plen);
      code = command(cn, encoded);
    }
  }
  memset(plain, 0, sizeof plain);
  memset(encoded, 0, sizeof encoded);
  memset(pass, 0, sizeof pass);
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code != 235) {
    fail_reply(cn);
    return SESS_NEXT;
  }
  return SESS_OK;
}

/* Greeting, EHLO, STARTTLS, AUTH on a fresh connection. */
static int session_open(struct conn *cn, const struct route *r, const char *sni,
                        const struct smtp_config *c, int allow_tls)
{
  int code;
  int required = plan_required(cn);
  int s;

  code = get_reply(cn);
  if (code == -1) {
    fail_net(cn);
    return SESS_NEXT;
  }
  if (code < 200 || code >= 300) {
    fail_reply(cn);
    return SESS_NEXT;
  }
  s = hello(cn, c);
  if (s != SESS_OK) return s;

  if (cn->plan.mode != PLAN_NONE && allow_tls && cn->ext.starttls) {
    s = starttls(cn, r, sni, c);
    if (s != SESS_OK) return s;
  }
  if (required && !cn->tls) {
    static const char head[] = "TLS is required but the server does not offer STARTTLS (tls policy ";
    char what[sizeof head + 32];
    size_t len = strlen(cn->plan.label);

    if (len > 30) len = 30;
    memcpy(what, head, sizeof head - 1);
    memcpy(what + sizeof head - 1, cn->plan.label, len);
    memcpy(what + sizeof head - 1 + len, ")", 2);
    fail_local(cn, cn->plan.mode == PLAN_DANE || cn->plan.mode == PLAN_STS_ENFORCE ? "4.7.5"
                                                                                  : "4.7.10",
               what, NULL);
    policy_set(cn, cn->plan.label, "no STARTTLS", NULL);
    rpt(cn, "starttls-not-supported");
    return SESS_NEXT;
  }
  if (r->authfile[0] != '\0') return auth(cn, r);
  return SESS_OK;
}

/* ---- the transaction ---- */

/* RFC 3461 4: xtext */
static int cat_xtext(stralloc *sa, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s != '\0'; ++s) {
    unsigned char ch = (unsigned char)*s;

    if (ch < 33 || ch > 126 || ch == '+' || ch == '=') {
      char esc[3] = {'+', hex[ch >> 4], hex[ch & 15]};
      if (!stralloc_catb(sa, esc, 3)) return 0;
    } else if (!stralloc_append(sa, (const char *)&ch)) {
      return 0;
    }
  }
  return 1;
}

static int cat_path(stralloc *sa, const char *addr)
{
  char quoted[ADDR_QUOTED_MAX];
  size_t len = strlen(addr);
  size_t qlen;

  if (!stralloc_append(sa, "<")) return 0;
  if (len > 0 && strcmp(addr, "#@[]") != 0) { /* the double-bounce sender goes out as <> */
    qlen = addr_quote(quoted, addr, len);
    if (qlen == 0) return -1;
    if (!stralloc_catb(sa, quoted, qlen)) return 0;
  }
  return stralloc_append(sa, ">");
}

static int has_8bit(const char *s)
{
  for (; *s != '\0'; ++s)
    if ((unsigned char)*s >= 0x80) return 1;
  return 0;
}

/* Measures the message: its size on the wire and whether it has 8-bit bytes. 0, -1 + errno. */
static int message_scan(struct conn *cn, const struct job *j)
{
  char buf[MSG_CHUNK];
  unsigned long long done = 0;
  char last = '\n';

  /* RFC 1870 3: the message with CRLF line ends, without the final dot */
  cn->wire_size = j->msglen;
  cn->eightbit = 0;
  while (done < j->msglen) {
    size_t want = j->msglen - done > sizeof buf ? sizeof buf : (size_t)(j->msglen - done);
    ssize_t r = pread(j->msgfd, buf, want, (off_t)(QUEUE_HDRLEN + done));

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO; /* shorter than its header says */
      return -1;
    }
    for (ssize_t k = 0; k < r; ++k) {
      if (buf[k] == '\n') ++cn->wire_size;
      else if ((unsigned char)buf[k] >= 0x80) cn->eightbit = 1;
    }
    done += (unsigned long long)r;
    last = buf[r - 1];
  }
  if (j->msglen > 0 && last != '\n') cn->wire_size += 2;
  return 0;
}

/* Sends the message: LF -> CRLF, dot-stuffed (RFC 5321 4.5.2), then the
 * final dot. 0, -1 local read error (the connection must be dropped
 * without the dot). */
static int message_send(struct conn *cn, const struct job *j)
{
  int r = smtpdata_put(&cn->out, j->msgfd, QUEUE_HDRLEN, j->msglen);

  if (r == -2) cn->broken = 1;
  return r == -1 ? -1 : 0;
}

static int all_done(const struct job *j)
{
  for (size_t i = 0; i < j->rcpt_count; ++i)
    if (j->rcpt[i].result == 0) return 0;
  return 1;
}

/* Every pending recipient gets result with text. */
static void pending_set(struct job *j, char result, const stralloc *text)
{
  for (size_t i = 0; i < j->rcpt_count; ++i)
    if (j->rcpt[i].result == 0) result_set(&j->rcpt[i], result, text);
}

static char class_of(int code)
{
  return code >= 200 && code < 300 ? 'K' : code >= 500 ? 'D' : 'Z';
}

/* The class of a reply that concerns one recipient (to its RCPT) or one
 * message (to its final dot): a 4xx other than 421 (greylisting, a full
 * mailbox, a content scan that failed) defers that recipient alone, T,
 * and leaves the destination free for the rest of its mail. 421 and no
 * reply at all are the destination's own failures, Z. */
static char own_class(int code)
{
  return code >= 400 && code < 500 && code != 421 ? 'T' : class_of(code);
}

/* After the replies to the RCPTs of one transaction: when several were
 * sent and every one was answered with a 4xx, that is the destination
 * refusing mail for now rather than one mailbox: Z, and it rests. */
static void all_deferred_check(struct job *j, const size_t *sent, size_t sent_count,
                               size_t deferred)
{
  if (sent_count < 2 || deferred != sent_count) return;
  for (size_t b = 0; b < sent_count; ++b)
    if (j->rcpt[sent[b]].result == 'T') j->rcpt[sent[b]].result = 'Z';
}

static int transaction(struct conn *cn, struct job *j, const struct smtp_config *c, int reused)
{
  size_t *batch;
  size_t *sent;         /* the recipients whose RCPT went out */
  size_t sent_count = 0;
  size_t rcpt_deferred = 0; /* of them, answered with a 4xx (T) */
  size_t count = 0;
  size_t accepted = 0;
  size_t deferred452 = 0;
  int need_utf8 = has_8bit(j->sender);
  int code;
  int lost_ok = reused; /* a dead reused connection is retried afresh */
  char sizetext[FMT_ULONG];
  char limittext[FMT_ULONG];

  (void)c;
  batch = calloc(2 * j->rcpt_count, sizeof *batch);
  if (batch == NULL) {
    fail_local(cn, "4.3.0", "out of memory", NULL);
    pending_set(j, 'Z', &cn->failtext);
    return TX_DONE;
  }
  sent = batch + j->rcpt_count;
  for (size_t i = 0; i < j->rcpt_count; ++i) {
    if (j->rcpt[i].result != 0) continue;
    batch[count++] = i;
    if (has_8bit(j->rcpt[i].addr)) need_utf8 = 1;
  }

  /* RFC 6531 3.4: no SMTPUTF8, no delivery of an internationalised address */
  if (need_utf8 && !cn->ext.smtputf8) {
    fail_local(cn, "5.6.7", "the server does not support SMTPUTF8, which the addresses need", NULL);
    pending_set(j, 'D', &cn->failtext);
    goto done;
  }
  /* RFC 1870 6 */
  if (cn->ext.size && cn->ext.sizemax > 0 && cn->wire_size > cn->ext.sizemax) {
    sizetext[fmt_ulonglong(sizetext, cn->wire_size)] = '\0';
    limittext[fmt_ulong(limittext, cn->ext.sizemax)] = '\0';
    if (!stralloc_copys(&cn->cmd, "message of ") || !stralloc_cats(&cn->cmd, sizetext) ||
        !stralloc_cats(&cn->cmd, " bytes exceeds the server's limit of ") ||
        !stralloc_cats(&cn->cmd, limittext) || !stralloc_0(&cn->cmd))
      cn->cmd.len = 0;
    fail_local(cn, "5.3.4", cn->cmd.len > 0 ? cn->cmd.s : "message too big", NULL);
    pending_set(j, 'D', &cn->failtext);
    goto done;
  }

  /* MAIL FROM */
  if (!stralloc_copys(&cn->cmd, "MAIL FROM:")) goto nomem;
  switch (cat_path(&cn->cmd, j->sender)) {
    case 0: goto nomem;
    case -1:
      fail_local(cn, "5.1.7", "the sender address is invalid", NULL);
      pending_set(j, 'D', &cn->failtext);
      goto done;
  }
  if (cn->ext.size) {
    sizetext[fmt_ulonglong(sizetext, cn->wire_size)] = '\0';
    if (!stralloc_cats(&cn->cmd, " SIZE=") || !stralloc_cats(&cn->cmd, sizetext)) goto nomem;
  }
  if (cn->eightbit && cn->ext.eightbit && !stralloc_cats(&cn->cmd, " BODY=8BITMIME")) goto nomem;
  if (need_utf8 && !stralloc_cats(&cn->cmd, " SMTPUTF8")) goto nomem;
  if (cn->ext.dsn) {
    if (j->ret != NULL && !(stralloc_cats(&cn->cmd, " RET=") && stralloc_cats(&cn->cmd, j->ret)))
      goto nomem;
    if (j->envid != NULL && !(stralloc_cats(&cn->cmd, " ENVID=") && cat_xtext(&cn->cmd, j->envid)))
      goto nomem;
  }
  if (!stralloc_cats(&cn->cmd, "\r\n")) goto nomem;
  put(cn, cn->cmd.s, cn->cmd.len);
  if (!cn->ext.pipelining) {
    code = get_reply(cn);
    if (code == -1) goto lost;
    lost_ok = 0;
    if (code < 200 || code >= 300) goto mail_refused;
  }

  /* RCPT TO */
  for (size_t b = 0; b < count; ++b) {
    struct rcpt *r = &j->rcpt[batch[b]];

    if (!stralloc_copys(&cn->cmd, "RCPT TO:")) goto nomem;
    if (cat_path(&cn->cmd, r->addr) != 1) {
      if (cn->cmd.len == 0) goto nomem;
      fail_local(cn, "5.1.3", "the recipient address is invalid", NULL);
      result_set(r, 'D', &cn->failtext);
      batch[b] = (size_t)-1;
      continue;
    }
    if (cn->ext.dsn && r->notify != NULL &&
        !(stralloc_cats(&cn->cmd, " NOTIFY=") && stralloc_cats(&cn->cmd, r->notify)))
      goto nomem;
    if (cn->ext.dsn && r->orcpt != NULL) {
      const char *semi = strchr(r->orcpt, ';');

      if (semi != NULL && semi != r->orcpt) {
        if (!stralloc_cats(&cn->cmd, " ORCPT=") ||
            !stralloc_catb(&cn->cmd, r->orcpt, (size_t)(semi - r->orcpt + 1)) ||
            !cat_xtext(&cn->cmd, semi + 1))
          goto nomem;
      }
    }
    if (!stralloc_cats(&cn->cmd, "\r\n")) goto nomem;
    put(cn, cn->cmd.s, cn->cmd.len);
    sent[sent_count++] = batch[b];
    if (!cn->ext.pipelining) {
      code = get_reply(cn);
      if (code == -1) goto lost_in_tx;
      if (code >= 200 && code < 300) {
        ++accepted;
      } else if (code == 452 && accepted > 0) {
        ++deferred452; /* RFC 5321 4.5.3.1.10: the rest in another transaction */
        batch[b] = (size_t)-1;
      } else {
        fail_reply(cn);
        result_set(r, own_class(code), &cn->failtext);
        if (r->result == 'T') ++rcpt_deferred;
        batch[b] = (size_t)-1;
      }
    }
  }
  if (!cn->ext.pipelining) all_deferred_check(j, sent, sent_count, rcpt_deferred);

  if (cn->ext.pipelining) {
    put(cn, "DATA\r\n", 6);
    code = get_reply(cn);
    if (code == -1) goto lost;
    lost_ok = 0;
    if (code < 200 || code >= 300) {
      fail_reply(cn);
      for (size_t b = 0; b < count; ++b)
        if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], class_of(code), &cn->failtext);
      /* the replies to the RCPTs and to DATA are still to be read */
      for (size_t b = 0; b < count; ++b)
        if (batch[b] != (size_t)-1 && get_reply(cn) == -1) goto lost_in_tx;
      if (get_reply(cn) == -1) goto lost_in_tx;
      goto reset;
    }
    for (size_t b = 0; b < count; ++b) {
      struct rcpt *r;

      if (batch[b] == (size_t)-1) continue;
      r = &j->rcpt[batch[b]];
      code = get_reply(cn);
      if (code == -1) goto lost_in_tx;
      if (code >= 200 && code < 300) {
        ++accepted;
      } else if (code == 452 && accepted > 0) {
        ++deferred452;
        batch[b] = (size_t)-1;
      } else {
        fail_reply(cn);
        result_set(r, own_class(code), &cn->failtext);
        if (r->result == 'T') ++rcpt_deferred;
        batch[b] = (size_t)-1;
      }
    }
    all_deferred_check(j, sent, sent_count, rcpt_deferred);
    code = get_reply(cn); /* to DATA */
    if (code == -1) goto lost_in_tx;
    if (code == 354 && accepted == 0) {
      /* RFC 2920 3.1: DATA was accepted though no recipient was: end it empty */
      put(cn, ".\r\n", 3);
      if (get_reply(cn) == -1) goto lost_in_tx;
      goto reset;
    }
  } else {
    if (accepted == 0) goto reset;
    code = command(cn, "DATA");
    if (code == -1) goto lost_in_tx;
  }
  if (accepted == 0) goto reset;
  if (code != 354) {
    fail_reply(cn);
    for (size_t b = 0; b < count; ++b)
      if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], class_of(code), &cn->failtext);
    goto reset;
  }

  /* the message */
  if (message_send(cn, j) == -1 || cn->broken) {
    if (cn->broken) goto lost_in_tx;
    /* the message's own trouble, not the destination's */
    fail_local(cn, "4.3.0", "unable to read the queue file", strerror(errno));
    for (size_t b = 0; b < count; ++b)
      if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], 'T', &cn->failtext);
    conn_close(cn); /* no final dot: the server drops the transaction */
    goto done;
  }
  code = get_reply(cn);
  if (code == -1) {
    fail_local(cn, "4.4.2", "connection lost after the message was sent (it may arrive twice)",
               errno == 0 ? "end of file" : strerror(errno));
    for (size_t b = 0; b < count; ++b)
      if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], 'Z', &cn->failtext);
    conn_close(cn);
    goto done;
  }
  fail_reply(cn);
  for (size_t b = 0; b < count; ++b)
    if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], own_class(code), &cn->failtext);
  goto done;

mail_refused:
  fail_reply(cn);
  pending_set(j, class_of(code), &cn->failtext);
reset:
  if (command(cn, "RSET") == -1) conn_close(cn);
  goto done;

lost:
  if (lost_ok) {
    free(batch);
    return TX_LOST;
  }
lost_in_tx:
  fail_net(cn);
  pending_set(j, 'Z', &cn->failtext);
  conn_close(cn);
  goto done;

nomem:
  fail_local(cn, "4.3.0", "out of memory", NULL);
  pending_set(j, 'Z', &cn->failtext);
  conn_close(cn);

done:
  free(batch);
  if (cn->broken) conn_close(cn);
  if (deferred452 > 0 && cn->fd != -1 && !all_done(j)) return TX_AGAIN;
  if (!all_done(j)) {
    /* 452 with nothing accepted, or the connection went away */
    if (cn->failtext.len == 0) fail_local(cn, "4.5.3", "too many recipients", NULL);
    pending_set(j, 'Z', &cn->failtext);
  }
  return TX_DONE;
}

static int run_transactions(struct conn *cn, struct job *j, const struct smtp_config *c, int reused)
{
  for (;;) {
    int r = transaction(cn, j, c, reused);

    if (r != TX_AGAIN) return r;
    reused = 0;
  }
}

/* ---- routing ---- */

struct host {
  char name[QR_HOST_MAX + 3];
  unsigned int pref;
  stralloc ips;
  int dns;          /* QDNS_ result of its address lookup */
  int dns_errno;
  int secure;       /* its addresses are DNSSEC-valid */
};

static void hosts_free(struct host *h, size_t n)
{
  for (size_t i = 0; i < n; ++i) stralloc_free(&h[i].ips);
  free(h);
}

/* Addresses of a host name or "[literal]" (or a bare IP address). */
static void host_resolve(struct host *h)
{
  char ip[16];
  size_t len = strlen(h->name);

  if (len >= 2 && h->name[0] == '[' && h->name[len - 1] == ']') {
    if (net_scanip(ip, h->name + 1, len - 2) && stralloc_copyb(&h->ips, ip, 16)) {
      h->dns = QDNS_OK;
    } else {
      h->dns = QDNS_NX;
    }
    return;
  }
  if (net_scanip(ip, h->name, len)) {
    h->dns = stralloc_copyb(&h->ips, ip, 16) ? QDNS_OK : QDNS_TEMP;
    h->dns_errno = ENOMEM;
    return;
  }
  h->dns = qdns_ip(&h->ips, h->name, &h->secure);
  h->dns_errno = errno;
}

static void log_results(struct conn *cn, const struct job *j)
{
  const char *idtext = j->qid;

  for (size_t i = 0; i < j->rcpt_count; ++i) {
    const struct rcpt *r = &j->rcpt[i];
    char res[2] = {r->result, '\0'};
    stralloc text = {0};

    if (!stralloc_copy(&text, &r->text) || !stralloc_0(&text)) {
      stralloc_free(&text);
      continue;
    }
    /* the text names the host already ("HOST [IP] said: ...") where it
     * answered or failed: the line gives it once */
    if (strstr(text.s, host_label(cn)) != NULL)
      qlog("delivery ", idtext, ": rcpt ", r->addr, " tls ", cn->tls_text, " result ", res, ": ",
           text.s, "; tls=", cn->policy_text);
    else
      qlog("delivery ", idtext, ": rcpt ", r->addr, " host ", cn->host_name, " ip ", cn->ip_text,
           " tls ", cn->tls_text, " result ", res, ": ", text.s, "; tls=", cn->policy_text);
    stralloc_free(&text);
  }
}

static void set_host(struct conn *cn, const char *name, const char ip[16])
{
  size_t len = strlen(name);

  if (len >= sizeof cn->host_name) len = sizeof cn->host_name - 1;
  memcpy(cn->host_name, name, len);
  cn->host_name[len] = '\0';
  net_fmtip(cn->ip_text, ip);
  memcpy(cn->tls_text, "no", 3);
  policy_set(cn, cn->plan.label, "plaintext", NULL);
}

/* The TLS plan for host h of domain (mx_secure: the MX RRset that named
 * it was DNSSEC-valid). 0, or -1 with cn->failtext set: the host is not to be
 * used. RFC 7672 2.2: DANE needs a secure MX RRset, secure addresses and
 * secure TLSA records; a failed TLSA lookup for a secure host makes the
 * host unusable; TLSA records none of which are usable still require TLS. */
static int plan_make(struct conn *cn, const struct host *h, const struct route *r,
                     const char *domain, int mx_secure, unsigned long port,
                     const struct smtp_config *c)
{
  int level = r->tls;

  cn->plan.tlsa.len = 0;
  cn->plan.tlsa_count = 0;
  if (!r->tls_set &&
      tlspolicy_find(c->tlspolicy.s, c->tlspolicy.len, domain, h->name, &level) == -1) {
    fail_local(cn, "4.3.5", "malformed entry in control/tlspolicy for ", domain);
    return -1;
  }
  cn->plan.label = tlspolicy_name(level);
  policy_set(cn, cn->plan.label, "plaintext", NULL);
  switch (level) {
    case ROUTE_TLS_NO: cn->plan.mode = PLAN_NONE; return 0;
    case ROUTE_TLS_REQUIRE: cn->plan.mode = PLAN_ENCRYPT; return 0;
    case ROUTE_TLS_VERIFY: cn->plan.mode = PLAN_VERIFY; return 0;
    default: break;
  }
  if (level == ROUTE_TLS_DANE || level == ROUTE_TLS_DANE_ONLY) {
    if (mx_secure && h->secure && h->name[0] != '[') {
      int secure;
      int present;

      if (qdns_tlsa(&cn->plan.tlsa, &cn->plan.tlsa_count, h->name, port, &secure, &present) ==
          QDNS_TEMP) {
        fail_local(cn, "4.7.5", "TLSA lookup failed (tls policy dane)",
                   errno == EAGAIN ? "SERVFAIL (bogus DNSSEC, or no answer)" : strerror(errno));
        policy_set(cn, cn->plan.label, "TLSA lookup failed", NULL);
        rpt_count(domain, "tlsa", "dnssec-invalid", h->name);
        return -1;
      }
      if (secure && cn->plan.tlsa_count > 0) {
        cn->plan.mode = PLAN_DANE;
        return 0;
      }
      if (secure && present) {
        cn->plan.label = "dane-unusable";
        cn->plan.mode = PLAN_ENCRYPT;
        return 0;
      }
    }
    if (level == ROUTE_TLS_DANE_ONLY) {
      fail_local(cn, "4.7.5", "no DNSSEC-valid TLSA records (tls policy dane-only)", NULL);
      policy_set(cn, cn->plan.label, "no TLSA", NULL);
      return -1;
    }
  }
  /* RFC 8461 4.2: enforce delivers only to listed MX hosts, over TLS
   * with a valid certificate for the MX name; DANE won above */
  if (cn->sts_on && cn->sts.policy.mode == STS_ENFORCE) {
    cn->plan.label = "sts enforce";
    if (!sts_mx_match(&cn->sts.policy, h->name)) {
      fail_local(cn, "4.7.5", "MX host not in the MTA-STS policy (tls policy sts enforce)", NULL);
      policy_set(cn, cn->plan.label, "MX not listed", NULL);
      rpt_count(domain, "sts", "validation-failure", h->name);
      return -1;
    }
    cn->plan.mode = PLAN_STS_ENFORCE;
    return 0;
  }
  if (cn->sts_on && cn->sts.policy.mode == STS_TESTING) {
    cn->plan.label = "sts testing";
    cn->plan.mode = PLAN_STS_TESTING;
    return 0;
  }
  cn->plan.label = "may";
  cn->plan.mode = PLAN_MAY;
  return 0;
}

/* Tries every address of every host in order until one session works. */
static void deliver_hosts(struct conn *cn, struct job *j, struct host *h, size_t n,
                          const struct route *r, const char *domain, int mx_secure,
                          unsigned long port, const struct smtp_config *c)
{
  int tried = 0;

  cn->failtext.len = 0;
  for (size_t i = 0; i < n; ++i) {
    if (h[i].dns == QDNS_TEMP) {
      if (!tried) {
        memcpy(cn->host_name, h[i].name, strlen(h[i].name) + 1);
        memcpy(cn->ip_text, "-", 2);
        fail_local(cn, "4.4.3", "address lookup failed", strerror(h[i].dns_errno));
      }
      continue;
    }
    if (h[i].ips.len > 0) {
      memcpy(cn->host_name, h[i].name, strlen(h[i].name) + 1);
      memcpy(cn->ip_text, "-", 2);
      if (plan_make(cn, &h[i], r, domain, mx_secure, port, c) == -1) {
        tried = 1;
        if (stralloc_0(&cn->failtext)) {
          --cn->failtext.len;
          qlog("attempt failed: ", cn->failtext.s);
        }
        continue;
      }
    }
    for (size_t k = 0; k + 16 <= h[i].ips.len; k += 16) {
      const char *ip = h[i].ips.s + k;
      int allow_tls = 1;
      int fd;
      int s;
      const char *sni = h[i].name[0] == '[' ? "" : h[i].name;

      tried = 1;
      set_host(cn, h[i].name, ip);
    again:
      fd = net_connect(ip, port, c->timeout_connect);
      if (fd == -1) {
        const char *why = errno == ETIMEDOUT ? "timed out" : strerror(errno);

        fail_local(cn, "4.4.1", "unable to connect", why);
        qlog("attempt failed: ", host_label(cn), ": unable to connect: ", why);
        continue;
      }
      conn_attach(cn, fd);
      s = session_open(cn, r, sni, c, allow_tls);
      if (s == SESS_OK) {
        if (run_transactions(cn, j, c, 0) == TX_LOST) {
          fail_net(cn);
          pending_set(j, 'Z', &cn->failtext);
          conn_close(cn);
        }
        return;
      }
      if (cn->fd != -1 && !cn->broken) {
        puts0(cn, "QUIT\r\n");
        flush(cn);
      }
      conn_close(cn);
      if (s == SESS_NOTLS && allow_tls) {
        allow_tls = 0;
        goto again;
      }
      if (!stralloc_0(&cn->failtext)) continue;
      --cn->failtext.len;
      qlog("attempt failed: ", cn->failtext.s);
    }
  }
  if (cn->failtext.len == 0) {
    memcpy(cn->ip_text, "-", 2);
    text_set(&cn->failtext, "4.4.4 no address found for any host of the destination", NULL, NULL,
             NULL);
  }
  pending_set(j, 'Z', &cn->failtext);
}

static void deliver_fresh(struct conn *cn, struct job *j, const struct route *r,
                          const char *domain, const struct smtp_config *c)
{
  struct host *h = NULL;
  size_t n = 0;
  unsigned long port = r->port;
  size_t dlen = strlen(domain);
  stralloc text = {0};
  int mx_secure = 1; /* a route or a literal names its host itself */

  cn->sts_on = 0;
  cn->rpt_domain = domain;

  memcpy(cn->host_name, "-", 2);
  memcpy(cn->ip_text, "-", 2);
  memcpy(cn->tls_text, "no", 3);
  memcpy(cn->policy_text, "-", 2);

  if (r->host[0] != '\0' || (dlen > 2 && domain[0] == '[')) {
    /* a route, or an address literal: exactly that host, no MX, no "is it me" */
    const char *name = r->host[0] != '\0' ? r->host : domain;

    h = calloc(1, sizeof *h);
    if (h == NULL) goto nomem;
    n = 1;
    memcpy(h->name, name, strlen(name) + 1);
    host_resolve(h);
    if (r->host[0] == '\0') {
      port = QR_PORT;
      if (h->dns == QDNS_OK && h->ips.len == 16 && net_isme(h->ips.s)) {
        text_set(&text, "5.4.6 the address literal ", domain, " is one of mine", NULL);
        pending_set(j, 'D', &text);
        goto done;
      }
    }
    if (h->dns == QDNS_NX || (h->dns == QDNS_OK && h->ips.len == 0)) {
      text_set(&text, "4.4.4 no address found for the route host ", name, NULL, NULL);
      pending_set(j, 'Z', &text);
      goto done;
    }
  } else {
    struct mx *mx;
    size_t count;
    int rc = qdns_mx(domain, &mx, &count, &mx_secure);
    int level = r->tls;
    unsigned int me_pref = 0;
    int me_found = 0;
    size_t usable = 0;

    if (rc == QDNS_NX) {
      text_set(&text, "5.1.2 domain ", domain, " does not exist (DNS: NXDOMAIN)", NULL);
      pending_set(j, 'D', &text);
      goto done;
    }
    if (rc == QDNS_NULLMX) {
      text_set(&text, "5.1.10 domain ", domain, " accepts no mail (null MX, RFC 7505)", NULL);
      pending_set(j, 'D', &text);
      goto done;
    }
    if (rc == QDNS_TEMP) {
      text_set(&text, "4.4.3 MX lookup for ", domain, " failed: ", strerror(errno));
      pending_set(j, 'Z', &text);
      goto done;
    }
    h = calloc(count > 0 ? count : 1, sizeof *h);
    if (h == NULL) {
      free(mx);
      goto nomem;
    }
    if (count == 0) { /* RFC 5321 5.1: the domain is its own MX */
      n = 1;
      memcpy(h->name, domain, dlen + 1);
      host_resolve(h);
      if (h->dns == QDNS_NX) {
        text_set(&text, "5.1.2 domain ", domain, " does not exist (DNS: NXDOMAIN)", NULL);
        pending_set(j, 'D', &text);
        free(mx);
        goto done;
      }
      if (h->dns == QDNS_OK && h->ips.len == 0) {
        text_set(&text, "5.4.4 domain ", domain, " has no MX and no address", NULL);
        pending_set(j, 'D', &text);
        free(mx);
        goto done;
      }
    } else {
      n = count;
      for (size_t i = 0; i < count; ++i) {
        memcpy(h[i].name, mx[i].name, strlen(mx[i].name) + 1);
        h[i].pref = mx[i].pref;
        /* a host named control/me is us: no need to look up its addresses */
        if (strcasecmp(h[i].name, c->me.s) != 0) host_resolve(&h[i]);
      }
    }
    free(mx);

    /* MTA-STS where the policy could still decide (may, dane) */
    if (!r->tls_set &&
        tlspolicy_find(c->tlspolicy.s, c->tlspolicy.len, domain, "", &level) != -1 &&
        (level == ROUTE_TLS_MAY || level == ROUTE_TLS_DANE))
      cn->sts_on = sts_lookup(domain, &cn->sts);

    /* RFC 5321 5.1: if we are an MX, only hosts preferred to us may be used */
    for (size_t i = 0; i < n; ++i) {
      int mine = strcasecmp(h[i].name, c->me.s) == 0;

      for (size_t k = 0; !mine && k + 16 <= h[i].ips.len; k += 16)
        if (net_isme(h[i].ips.s + k)) mine = 1;
      if (mine && (!me_found || h[i].pref < me_pref)) {
        me_found = 1;
        me_pref = h[i].pref;
      }
    }
    if (me_found) {
      for (size_t i = 0; i < n; ++i)
        if (h[i].pref < me_pref) h[usable++] = h[i];
        else stralloc_free(&h[i].ips);
      n = usable;
      if (n == 0) {
        text_set(&text, "5.4.6 MX for ", domain, " points back to me", NULL);
        pending_set(j, 'D', &text);
        goto done;
      }
    }
  }

  deliver_hosts(cn, j, h, n, r, domain, mx_secure, port, c);
  goto done;

nomem:
  text_set(&text, "4.3.0 out of memory", NULL, NULL, NULL);
  pending_set(j, 'Z', &text);
done:
  stralloc_free(&text);
  if (h != NULL) hosts_free(h, n);
}

void smtp_deliver(struct job *j, const struct route *r, const char *domain,
                  const struct smtp_config *c)
{
  struct conn *cn = &conn;
  stralloc text = {0};

  cn->timeout = c->timeout_remote;
  if (message_scan(cn, j) == -1) {
    text_set(&text, "4.3.0 unable to read the queue file: ", strerror(errno), NULL, NULL);
    pending_set(j, 'T', &text);
    stralloc_free(&text);
    log_results(cn, j);
    return;
  }
  if (cn->fd != -1) {
    if (run_transactions(cn, j, c, 1) != TX_LOST) {
      log_results(cn, j);
      return;
    }
    conn_close(cn);
  }
  deliver_fresh(cn, j, r, domain, c);
  log_results(cn, j);
}

void smtp_quit(void)
{
  struct conn *cn = &conn;

  if (cn->fd != -1 && !cn->broken) {
    unsigned long saved = cn->timeout;

    cn->timeout = QUIT_TIMEOUT;
    command(cn, "QUIT");
    cn->timeout = saved;
  }
  conn_close(cn);
  stralloc_free(&cn->reply);
  stralloc_free(&cn->reply_lines);
  stralloc_free(&cn->failtext);
  stralloc_free(&cn->cmd);
}

int smtp_fd(void)
{
  return conn.fd;
}

void smtp_idle_event(void)
{
  /* between transactions a server only speaks to say goodbye (421) */
  conn_close(&conn);
}
