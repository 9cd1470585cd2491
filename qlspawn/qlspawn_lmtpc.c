/*
 * qlspawn_lmtpc: the LMTP client (RFC 2033) of qlspawn's LMTP workers.
 *
 * A worker is a child of qlspawn that became the instance's mail account
 * (qmta-vmail on a root instance; never root: the LMTP server owns the
 * storage) and serves one server, "unix:/path" or "HOST:PORT". It keeps
 * its connection open from one transaction to the next; a reused
 * connection that the server closed meanwhile is opened again once.
 *
 * qlspawn -> worker, one SOCK_SEQPACKET message per transaction, the
 * queue file (positioned anywhere: read by offset) as SCM_RIGHTS:
 *   "L1234\0"               bytes of message at QUEUE_HDRLEN
 *   "Sbob@example.org\0"    envelope sender, internal form ("" = null)
 *   "Rann@example.net\0"    one record per recipient, at most LMTP_BATCH_MAX
 * worker -> qlspawn, one message: a record per recipient, in order,
 *   "K<text>\0", "Z<text>\0" or "D<text>\0" (spawnproto.h).
 * The worker exits 0 when qlspawn closes its socket (after QUIT), 111 on
 * a broken message from qlspawn.
 *
 * Replies: after DATA, one per accepted recipient (RFC 2033 4.2): 2xx
 * delivered, 4xx deferred, 5xx bounced, each recipient on its own. No
 * connection, a greeting or LHLO refused, a timeout, a lost connection or
 * something that is not a reply: every recipient without a final answer
 * is deferred and the connection dropped.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <buffer.h>
#include <fmt.h>
#include <scan.h>
#include <stralloc.h>

#include "addr.h"
#include "bflush.h"
#include "fdpass.h"
#include "qlspawn.h"
#include "qremote.h"
#include "queue.h"
#include "smtpdata.h"
#include "spawnproto.h"

#define TIMEOUT_CONNECT 30  /* seconds to connect */
#define TIMEOUT_REPLY 600   /* seconds for a reply (RFC 5321 4.5.3.2.6: 10 min after the dot) */
#define TEXT_MAX 900        /* bytes of a result text */

static struct lmtp_target where;
static const char *label;       /* the target as configured, for texts */
static int conn_fd = -1;
static int conn_broken;
static unsigned long timeout;
static char in_space[4096];
static char out_space[16384];
static buffer net_in;
static buffer net_out;
static struct ehlo_ext ext;
static stralloc reply;
static stralloc reply_lines;
static stralloc cmd;
static stralloc mail_reply;  /* the reply to a pipelined MAIL */
static stralloc me;

struct result {
  char code;   /* 0 pending, 'K', 'Z', 'D' */
  int accepted;
  stralloc text;
};

/* ---- the connection ---- */

static int wait_for(int fd, short events)
{
  struct pollfd p;
  int r;

  p.fd = fd;
  p.events = events;
  do r = poll(&p, 1, (int)(timeout * 1000)); while (r == -1 && errno == EINTR);
  if (r == 0) errno = ETIMEDOUT;
  return r == 1 ? 0 : -1;
}

static ssize_t conn_read(int fd, char *buf, size_t len, void *cookie)
{
  (void)cookie;
  if (conn_broken || bflush(&net_out) == -1) {
    conn_broken = 1;
    return -1;
  }
  for (;;) {
    ssize_t r;

    if (wait_for(fd, POLLIN) == -1) {
      conn_broken = 1;
      return -1;
    }
    r = read(fd, buf, len);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      if (r == 0) errno = 0;
      conn_broken = 1;
    }
    return r;
  }
}

static ssize_t conn_write(int fd, const char *buf, size_t len, void *cookie)
{
  (void)cookie;
  if (conn_broken) return -1;
  for (;;) {
    ssize_t r;

    if (wait_for(fd, POLLOUT) == -1) {
      conn_broken = 1;
      return -1;
    }
    r = send(fd, buf, len, MSG_NOSIGNAL);
    if (r == -1 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == -1) conn_broken = 1;
    return r;
  }
}

static void conn_close(void)
{
  if (conn_fd != -1) close(conn_fd);
  conn_fd = -1;
}

static int unix_connect(void)
{
  struct sockaddr_un sun;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  if (fd == -1) return -1;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, where.path, strlen(where.path) + 1);
  /* a local socket connects at once or not at once: EAGAIN is a full backlog */
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int tcp_connect(void)
{
  struct addrinfo hints;
  struct addrinfo *list;
  struct addrinfo *ai;
  char port[8];
  int fd = -1;
  int e = EHOSTUNREACH;

  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  port[fmt_ulong(port, where.port)] = '\0';
  if (getaddrinfo(where.host, port, &hints, &list) != 0) {
    errno = EHOSTUNREACH;
    return -1;
  }
  for (ai = list; ai != NULL && fd == -1; ai = ai->ai_next) {
    char ip[16];

    if (ai->ai_family == AF_INET) {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *)(void *)ai->ai_addr;
      memset(ip, 0, 10);
      ip[10] = ip[11] = (char)0xff;
      memcpy(ip + 12, &s4->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6) {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(void *)ai->ai_addr;
      memcpy(ip, &s6->sin6_addr, 16);
    } else {
      continue;
    }
    fd = net_connect(ip, where.port, TIMEOUT_CONNECT);
    if (fd == -1) e = errno;
  }
  freeaddrinfo(list);
  if (fd == -1) errno = e;
  return fd;
}

static void put(const char *s, size_t len)
{
  if (buffer_put(&net_out, s, len) == -1) conn_broken = 1;
}

/* One reply: its code, or -1 (the connection is unusable; errno EPROTO:
 * not a reply at all). */
static int get_reply(void)
{
  int code = smtp_reply_read(&net_in, &reply, &reply_lines);

  if (code == -1) conn_broken = 1;
  return code;
}

static int command(const stralloc *c)
{
  put(c->s, c->len);
  put("\r\n", 2);
  return get_reply();
}

/* text = "LABEL said: REPLY" or "LABEL: WHAT (#STATUS)" */
static void text_said(stralloc *text)
{
  if (!stralloc_copys(text, label) || !stralloc_cats(text, " said: ") ||
      !stralloc_cat(text, &reply))
    text->len = 0;
  if (text->len > TEXT_MAX) text->len = TEXT_MAX;
}

static void text_local(stralloc *text, const char *what, const char *detail, const char *status)
{
  if (!stralloc_copys(text, label) || !stralloc_cats(text, ": ") || !stralloc_cats(text, what) ||
      (detail != NULL && (!stralloc_cats(text, ": ") || !stralloc_cats(text, detail))) ||
      !stralloc_cats(text, " (#") || !stralloc_cats(text, status) || !stralloc_cats(text, ")"))
    text->len = 0;
  if (text->len > TEXT_MAX) text->len = TEXT_MAX;
}

/* Why the transaction cannot go on, for every recipient still pending
 * (deferred), and the connection dropped: code -1 (errno says why) or a
 * reply that is not the one the protocol wants here. */
static void fail_pending(struct result *r, size_t n, int code, const char *what)
{
  stralloc text = {0};
  size_t i;

  if (code == -1 && errno == EPROTO)
    text_local(&text, what, "the answer is not an LMTP reply", "4.5.0");
  else if (code == -1 && errno == ETIMEDOUT)
    text_local(&text, what, "timed out", "4.4.2");
  else if (code == -1 && errno == 0)
    text_local(&text, what, "the server closed the connection", "4.4.2");
  else if (code == -1)
    text_local(&text, what, strerror(errno), "4.4.2");
  else if (stralloc_0(&reply)) /* an answer that is no answer to this: defer, with it */
    text_local(&text, what, reply.s, "4.4.1");
  for (i = 0; i < n; i++)
    if (r[i].code == 0) {
      r[i].code = 'Z';
      if (!stralloc_copy(&r[i].text, &text)) r[i].text.len = 0;
    }
  stralloc_free(&text);
  conn_close();
}

/* Connects, reads the greeting and says LHLO. 0, or -1 with every result set. */
static int conn_open(struct result *r, size_t n)
{
  int code;

  timeout = TIMEOUT_CONNECT;
  conn_fd = where.unix_socket ? unix_connect() : tcp_connect();
  if (conn_fd == -1) {
    stralloc text = {0};
    size_t i;

    text_local(&text, "unable to connect", strerror(errno), "4.4.1");
    for (i = 0; i < n; i++)
      if (!stralloc_copy(&r[i].text, &text)) r[i].text.len = 0;
    for (i = 0; i < n; i++) r[i].code = 'Z';
    stralloc_free(&text);
    return -1;
  }
  conn_broken = 0;
  timeout = TIMEOUT_REPLY;
  buffer_init(&net_in, conn_read, conn_fd, in_space, sizeof in_space);
  buffer_init(&net_out, conn_write, conn_fd, out_space, sizeof out_space);
  code = get_reply();
  if (code != 220) {
    /* a server that greets with anything else takes no mail now: defer */
    fail_pending(r, n, code, "greeting");
    return -1;
  }
  if (!stralloc_copys(&cmd, "LHLO ") || !stralloc_cat(&cmd, &me)) {
    errno = ENOMEM;
    fail_pending(r, n, -1, "LHLO");
    return -1;
  }
  code = command(&cmd);
  if (code < 200 || code > 299) {
    fail_pending(r, n, code, "LHLO");
    return -1;
  }
  smtp_ehlo_parse(&ext, &reply_lines);
  return 0;
}

static int cat_path(stralloc *sa, const char *addr)
{
  char quoted[ADDR_QUOTED_MAX];
  size_t len = strlen(addr);
  size_t qlen;

  if (!stralloc_append(sa, "<")) return 0;
  if (len > 0 && strcmp(addr, "#@[]") != 0) { /* the double-bounce sender goes as <> */
    qlen = addr_quote(quoted, addr, len);
    if (qlen == 0) return 0;
    if (!stralloc_catb(sa, quoted, qlen)) return 0;
  }
  return stralloc_append(sa, ">");
}

static char class_of(int code)
{
  return code >= 200 && code < 300 ? 'K' : code >= 500 ? 'D' : 'Z';
}

/* RSET after a transaction that sends no message; a server that does not
 * take it loses the connection. */
static void reset(void)
{
  put("RSET\r\n", 6);
  if (get_reply() != 250) conn_close();
}

/* The reply to one RCPT for recipient i: accepted, or its result. 0, or
 * -1 the connection is gone (every pending result set). */
static int rcpt_reply(struct result *r, size_t n, size_t i, size_t *accepted)
{
  int code = get_reply();

  if (code == -1) {
    fail_pending(r, n, code, "RCPT");
    return -1;
  }
  if (code >= 200 && code < 300) {
    r[i].accepted = 1;
    (*accepted)++;
  } else {
    r[i].code = class_of(code);
    text_said(&r[i].text);
  }
  return 0;
}

/* A transaction under way: its recipients' results, and what the replies
 * so far said. The steps return TX_ON (go on), TX_DONE (every result is
 * set) or TX_AGAIN (a reused connection the server had let go: once
 * more, afresh). */
struct lmtp_txn {
  struct result *r;
  size_t n;
  size_t accepted;  /* recipients the server took */
  int mail_code;    /* the reply to MAIL */
  int pipelined;    /* the server offered PIPELINING (RFC 2920) */
  int reused;       /* the connection served an earlier transaction */
};
#define TX_ON 0
#define TX_DONE 1
#define TX_AGAIN 2

/* MAIL, then each RCPT; without pipelining each waits for its reply. */
static int txn_envelope(struct lmtp_txn *t, const char *sender, const char *const *rcpt)
{
  struct result *r = t->r;
  size_t n = t->n;
  size_t i;

  if (!stralloc_copys(&cmd, "MAIL FROM:") || !cat_path(&cmd, sender) ||
      (ext.eightbit && !stralloc_cats(&cmd, " BODY=8BITMIME")) || !stralloc_cats(&cmd, "\r\n")) {
    errno = ENOMEM;
    fail_pending(r, n, -1, "MAIL");
    return TX_DONE;
  }
  put(cmd.s, cmd.len);
  if (!t->pipelined) {
    t->mail_code = get_reply();
    if ((t->mail_code == -1 || t->mail_code == 421) && t->reused) return TX_AGAIN;
    if (t->mail_code < 200 || t->mail_code > 299) {
      if (t->mail_code >= 500) { /* the sender refused: the message, for everyone */
        for (i = 0; i < n; i++) {
          r[i].code = 'D';
          text_said(&r[i].text);
        }
        reset();
        return TX_DONE;
      }
      fail_pending(r, n, t->mail_code, "MAIL");
      return TX_DONE;
    }
  }

  for (i = 0; i < n; i++) {
    if (!stralloc_copys(&cmd, "RCPT TO:") || !cat_path(&cmd, rcpt[i]) ||
        !stralloc_cats(&cmd, "\r\n")) {
      errno = ENOMEM;
      fail_pending(r, n, -1, "RCPT");
      return TX_DONE;
    }
    put(cmd.s, cmd.len);
    if (!t->pipelined && rcpt_reply(r, n, i, &t->accepted) == -1) return TX_DONE;
  }
  if (!t->pipelined && t->accepted == 0) {
    reset();
    return TX_DONE;
  }
  return TX_ON;
}

/* With pipelining, once DATA went: the replies to MAIL and the RCPTs. */
static int txn_pipelined_replies(struct lmtp_txn *t)
{
  struct result *r = t->r;
  size_t n = t->n;
  size_t i;

  t->mail_code = get_reply();
  if ((t->mail_code == -1 || t->mail_code == 421) && t->reused) return TX_AGAIN;
  if (t->mail_code == -1) {
    fail_pending(r, n, t->mail_code, "MAIL");
    return TX_DONE;
  }
  if (!stralloc_copy(&mail_reply, &reply)) mail_reply.len = 0;
  for (i = 0; i < n; i++)
    if (rcpt_reply(r, n, i, &t->accepted) == -1) return TX_DONE;
  if (t->mail_code < 200 || t->mail_code > 299) {
    /* the RCPTs and DATA after a refused MAIL are refused too */
    for (i = 0; i < n; i++) {
      r[i].code = t->mail_code >= 500 ? 'D' : 'Z';
      r[i].accepted = 0;
    }
    t->accepted = 0;
  }
  return TX_ON;
}

/* The reply to DATA: TX_ON when the message is to go (354). */
static int txn_data_reply(struct lmtp_txn *t)
{
  struct result *r = t->r;
  size_t n = t->n;
  size_t i;
  int code = get_reply();

  if (t->pipelined && (t->mail_code < 200 || t->mail_code > 299 || t->accepted == 0)) {
    /* no message goes: a server that wants one anyway is left */
    if (t->mail_code < 200 || t->mail_code > 299) {
      if (!stralloc_copy(&reply, &mail_reply)) reply.len = 0;
      if (t->mail_code >= 500)
        for (i = 0; i < n; i++) text_said(&r[i].text);
      else if (stralloc_0(&reply))
        for (i = 0; i < n; i++) text_local(&r[i].text, "MAIL", reply.s, "4.4.1");
    }
    if (code == 354 || code == -1) conn_close();
    else reset();
    return TX_DONE;
  }
  if (code != 354) {
    if (code >= 500) {
      for (i = 0; i < n; i++)
        if (r[i].code == 0) {
          r[i].code = 'D';
          text_said(&r[i].text);
        }
      reset();
      return TX_DONE;
    }
    fail_pending(r, n, code, "DATA");
    return TX_DONE;
  }
  return TX_ON;
}

/* The message after 354, then one reply per accepted recipient. */
static void txn_message(struct lmtp_txn *t, int qfd, unsigned long long msglen)
{
  struct result *r = t->r;
  size_t n = t->n;
  size_t i;
  int code;
  int d = smtpdata_put(&net_out, qfd, QUEUE_HDRLEN, msglen, 0);

  if (d == -1) {
    /* the dot must not go: the server would deliver a cut message */
    stralloc_copys(&reply, "");
    for (i = 0; i < n; i++)
      if (r[i].code == 0) {
        r[i].code = 'Z';
        text_local(&r[i].text, "unable to read the queue file", strerror(errno), "4.3.0");
      }
    conn_close();
    return;
  }
  /* RFC 2033 4.2: one reply per accepted recipient, in the order of the RCPTs */
  for (i = 0; i < n; i++) {
    if (!r[i].accepted) continue;
    code = d == -2 ? -1 : get_reply();
    if (code == -1) {
      fail_pending(r, n, code, "after the message");
      return;
    }
    r[i].code = class_of(code);
    text_said(&r[i].text);
  }
}

/* One transaction; every result is set when it returns. With PIPELINING
 * (RFC 2920) MAIL, the RCPTs and DATA go in one write and their replies
 * are read after it; else each command waits for its reply. */
static void transaction(int qfd, unsigned long long msglen, const char *sender,
                        const char *const *rcpt, struct result *r, size_t n)
{
  struct lmtp_txn t;
  int step;

  t.r = r;
  t.n = n;
  t.mail_code = 0;
  t.reused = conn_fd != -1;
  for (;;) {
    size_t i;

    if (conn_fd == -1 && conn_open(r, n) == -1) return;
    t.pipelined = ext.pipelining;
    t.accepted = 0;
    for (i = 0; i < n; i++) {
      r[i].code = 0;
      r[i].accepted = 0;
    }
    step = txn_envelope(&t, sender, rcpt);
    if (step == TX_ON) {
      put("DATA\r\n", 6);
      if (t.pipelined) step = txn_pipelined_replies(&t);
    }
    if (step != TX_AGAIN) break;
    /* the server let the idle connection go (421 4.4.2 for inactivity, or
     * nothing): once more, afresh */
    conn_close();
    t.reused = 0;
  }
  if (step == TX_DONE || txn_data_reply(&t) == TX_DONE) return;
  txn_message(&t, qfd, msglen);
}

static void report_send(int sock, struct result *r, size_t n)
{
  static stralloc out;
  size_t i;

  out.len = 0;
  for (i = 0; i < n; i++) {
    size_t start = out.len;
    size_t k;

    if (!stralloc_append(&out, &r[i].code) || !stralloc_cat(&out, &r[i].text)) _exit(111);
    for (k = start; k < out.len; k++)
      if ((unsigned char)out.s[k] < 32) out.s[k] = ' ';
    if (!stralloc_0(&out)) _exit(111);
  }
  if (send(sock, out.s, out.len, MSG_NOSIGNAL) != (ssize_t)out.len) _exit(111);
}

/* One transaction message from qlspawn: 1 done, 0 qlspawn is gone, -1 broken. */
static int serve_one(int sock)
{
  static char buf[LMTP_MSG_MAX];
  static struct result r[LMTP_BATCH_MAX];
  const char *rcpt[LMTP_BATCH_MAX];
  const char *sender = NULL;
  unsigned long long msglen = 0;
  int have_len = 0;
  size_t n = 0;
  ssize_t got;
  ssize_t i;
  int qfd = -1;

  got = fdpass_recv(sock, buf, sizeof buf, &qfd);
  if (got <= 0) return got;
  if (buf[got - 1] != '\0') return -1;
  for (i = 0; i < got; i += (ssize_t)strlen(buf + i) + 1) {
    const char *rec = buf + i;
    switch (rec[0]) {
      case 'L':
        if (rec[1] == '\0' || rec[1 + scan_ulonglong(rec + 1, &msglen)] != '\0') return -1;
        have_len = 1;
        break;
      case 'S': sender = rec + 1; break;
      case 'R':
        if (n == LMTP_BATCH_MAX) return -1;
        rcpt[n++] = rec + 1;
        break;
      default: return -1;
    }
  }
  if (!have_len || sender == NULL || n == 0) return -1;
  for (i = 0; i < (ssize_t)n; i++) {
    r[i].code = 0;
    r[i].accepted = 0;
    r[i].text.len = 0;
  }
  transaction(qfd, msglen, sender, rcpt, r, n);
  close(qfd);
  for (i = 0; i < (ssize_t)n; i++)
    if (r[i].code == 0) { /* cannot happen; never "delivered" by default */
      r[i].code = 'Z';
      text_local(&r[i].text, "no result", NULL, "4.3.0");
    }
  if (conn_broken) conn_close();
  report_send(sock, r, n);
  return 1;
}

void lmtpc_main(int sock, const char *target, const char *helo)
{
  int r;

  label = target + sizeof LMTP_PREFIX - 1;
  if (lmtp_target_parse(&where, target) == -1) _exit(111);
  if (!stralloc_copys(&me, helo)) _exit(111);
  while ((r = serve_one(sock)) == 1) {
  }
  if (conn_fd != -1 && !conn_broken) {
    timeout = 10;
    put("QUIT\r\n", 6);
    get_reply();
  }
  conn_close();
  _exit(r == 0 ? 0 : 111);
}
