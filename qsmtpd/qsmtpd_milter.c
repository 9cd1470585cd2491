/*
 * qsmtpd_milter: the milter client (lib/milter.h): qsmtpd asks the
 * milters of control/milters at each stage of a session and applies their
 * answers.
 *
 * control/milters, one milter a line, asked in that order:
 *   unix:/path/to/socket [default=accept|tempfail] [timeout=SECONDS]
 *   inet:127.0.0.1:11332 ...      (an address literal; [::1] for IPv6)
 * default= is what a milter that is down, times out or answers nonsense
 * means (tempfail, as Postfix: 451 4.7.1), timeout= bounds each command's
 * answer (30 s; 10 s to connect).
 *
 * A connection to each milter is made at the first stage of a session
 * (HELO or MAIL: the connect information goes first) and ended with QUIT
 * when the session ends. The message is sent to the milters after the end
 * of data, read back from the queue file being written (not committed
 * yet): header fields one by one, the end of header, the body in chunks
 * of at most 64 KiB with CRLF line ends, the end of message.
 *
 * Their changes (qsmtpd_milter_edit.c, through qsmtpd_milter.h): the
 * header is a list in memory, which each milter's changes edit when its
 * answer is complete (the next milter sees them): a field added goes after
 * the last one, a field inserted before the index-th field the milter saw
 * (0 the top, where our own Received: is), a field changed or deleted is
 * the index-th of its name. A new body replaces what follows the header in
 * the queue file (inject_truncate, then written again); a changed header
 * is written back over the old one (inject_splice: the body moves in the
 * file). All of it happens before the commit, whose fsync makes it durable
 * before the 250. Recipients a milter adds or deletes, and a new sender,
 * are handed to qsmtpd_message.c (milters_rcpts, milters_sender), which
 * edits the envelope; a quarantine (milters_quarantine) becomes the Q
 * record of the envelope (inject_quarantine): qsend keeps the message on
 * hold until "qqueue release". The changes of a milter that goes down
 * before its verdict are dropped. A body a milter put in is what the next
 * milters see. Through QINJECT (no queue file to read back) the milters
 * see no message.
 * Runs inside qsmtpd (qmta-smtpd): no privilege of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <stralloc.h>

#include "addr.h"
#include "ctl.h"
#include "ipaddr.h"
#include "milter.h"
#include "qlog.h"
#include "qsmtpd.h"
#include "qsmtpd_milter.h"

#define MILTERS_MAX 8
#define MILTER_ADDR_MAX 108  /* sun_path */
#define CONNECT_SECONDS 10
#define DEFAULT_SECONDS 30
#define OFFERED_ACTIONS                                                                \
  (MILTER_ACT_ADDHDRS | MILTER_ACT_ADDRCPT | MILTER_ACT_DELRCPT | MILTER_ACT_CHGBODY |     \
   MILTER_ACT_CHGHDRS | MILTER_ACT_CHGFROM | MILTER_ACT_QUARANTINE)

struct milter {
  char addr[MILTER_ADDR_MAX + 8];
  int dflt_accept;          /* default=accept */
  unsigned long timeout;    /* seconds per answer */
  int fd;                   /* -1: not connected */
  int off;                  /* down or accepted for the session: not asked again */
  int tx_off;               /* accepted for this message */
  int in_tx;                /* MAIL sent, end of message not answered: ABORT */
  uint32_t protocol;        /* the stages it declines (MILTER_NO_) */
  uint32_t actions;
};

static struct milter milters[MILTERS_MAX];
static size_t milter_count;
static int session_open;      /* the milters were connected for this session */
static int tx_discard;        /* a milter said discard before the end of message */
static int session_tempfail;  /* a milter with default=tempfail is down: 451 to the end */
static stralloc pkt;          /* a packet to send */
static stralloc in;           /* a packet read */
static stralloc rcpt_add;     /* recipients to add, each ending in NUL */
static stralloc rcpt_del;     /* recipients to delete, likewise */
static char answer[MILTER_TEXT_MAX + 9]; /* + an enhanced code we add, CRLF, NUL */

static const char tempfail[] = "451 4.7.1 service unavailable, try again later\r\n";

static int parse_line(struct milter *m, const char *s, size_t len)
{
  size_t i = 0;
  size_t w;

  memset(m, 0, sizeof *m);
  m->fd = -1;
  m->timeout = DEFAULT_SECONDS;
  while (i < len && s[i] != ' ' && s[i] != '\t') i++;
  if (i >= sizeof m->addr) return -1;
  memcpy(m->addr, s, i);
  m->addr[i] = '\0';
  if (strncmp(m->addr, "unix:", 5) != 0 && strncmp(m->addr, "inet:", 5) != 0) return -1;
  while (i < len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    for (w = i; w < len && s[w] != ' ' && s[w] != '\t'; w++) {}
    if (w - i == 14 && memcmp(s + i, "default=accept", 14) == 0) m->dflt_accept = 1;
    else if (w - i == 16 && memcmp(s + i, "default=tempfail", 16) == 0) m->dflt_accept = 0;
    else if (w - i > 8 && w - i < 16 && memcmp(s + i, "timeout=", 8) == 0) {
      unsigned long n = 0;
      for (size_t k = i + 8; k < w; k++) {
        if (s[k] < '0' || s[k] > '9') return -1;
        n = n * 10 + (unsigned long)(s[k] - '0');
      }
      if (n == 0 || n > 3600) return -1;
      m->timeout = n;
    } else if (w > i) return -1;
    i = w;
  }
  return 0;
}

void milters_config(void)
{
  static stralloc file;
  size_t pos = 0;
  size_t start;
  size_t elen;

  milter_count = 0;
  if (ctl_readfile(&file, "control/milters") == -1) {
    if (errno == ENOENT) return;
    qwarn_sys("unable to read control/milters");
    return;
  }
  while (ctl_nextentry(file.s, file.len, &pos, &start, &elen) == 1) {
    if (milter_count == MILTERS_MAX) {
      qwarn("control/milters: more than 8 milters, the rest ignored");
      break;
    }
    if (parse_line(&milters[milter_count], file.s + start, elen) == -1) {
      /* a line we cannot read is a milter that is down: tempfail */
      qwarn("control/milters: bad line: ", milters[milter_count].addr);
      milters[milter_count].addr[0] = '\0';
      milters[milter_count].fd = -1;
      milters[milter_count].dflt_accept = 0;
    }
    milter_count++;
  }
}

static int deadline_wait(int fd, short ev, time_t deadline)
{
  struct pollfd p;
  time_t now = time(NULL);
  int r;

  if (now >= deadline) return 0;
  p.fd = fd;
  p.events = ev;
  do {
    r = poll(&p, 1, (int)(deadline - now) * 1000);
  } while (r == -1 && errno == EINTR);
  return r;
}

static int milter_open(struct milter *m)
{
  struct sockaddr_storage ss;
  socklen_t sslen;
  int fd;
  int err = 0;
  socklen_t errlen = sizeof err;

  memset(&ss, 0, sizeof ss);
  if (strncmp(m->addr, "unix:", 5) == 0) {
    struct sockaddr_un *un = (struct sockaddr_un *)&ss;
    size_t n = strlen(m->addr + 5);
    if (n == 0 || n >= sizeof un->sun_path) return -1;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, m->addr + 5, n + 1);
    sslen = sizeof *un;
  } else {
    char host[64];
    const char *colon = strrchr(m->addr + 5, ':');
    const char *h = m->addr + 5;
    size_t hl;
    unsigned long port = 0;
    unsigned int alen;
    if (colon == NULL || colon[1] == '\0') return -1;
    for (const char *p = colon + 1; *p != '\0'; p++) {
      if (*p < '0' || *p > '9') return -1;
      port = port * 10 + (unsigned long)(*p - '0');
      if (port > 65535) return -1;
    }
    hl = (size_t)(colon - h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
      h++;
      hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (ipaddr_sockaddr(&ss, &alen, host, (unsigned int)port) == -1) return -1;
    sslen = (socklen_t)alen;
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1) return -1;
  if (connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
    if (errno != EINPROGRESS ||
        deadline_wait(fd, POLLOUT, time(NULL) + CONNECT_SECONDS) <= 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1 || err != 0) {
      close(fd);
      return -1;
    }
  }
  if (ss.ss_family != AF_UNIX) {
    /* a command and its macros go as small writes in a row: without this
     * each waits for the milter's delayed acknowledgement */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  m->fd = fd;
  return 0;
}

/* The milter is down: closed, not asked again this session. Its
 * default action: NULL (accept) or the 451. */
static const char *milter_down(struct milter *m, const char *why)
{
  qwarn("milter ", m->addr[0] != '\0' ? m->addr : "(bad line)", ": ", why,
        m->dflt_accept ? ": accepting" : ": tempfail");
  if (m->fd != -1) close(m->fd);
  m->fd = -1;
  m->off = 1;
  if (!m->dflt_accept) session_tempfail = 1;
  return m->dflt_accept ? NULL : tempfail;
}

static int send_all(struct milter *m, const char *s, size_t len)
{
  time_t deadline = time(NULL) + (time_t)m->timeout;

  while (len > 0) {
    ssize_t w = send(m->fd, s, len, MSG_NOSIGNAL);
    if (w == -1) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return -1;
      if (deadline_wait(m->fd, POLLOUT, deadline) <= 0) return -1;
      continue;
    }
    s += w;
    len -= (size_t)w;
  }
  return 0;
}

static int read_all(struct milter *m, char *s, size_t len, time_t deadline)
{
  while (len > 0) {
    ssize_t r = read(m->fd, s, len);
    if (r == 0) return -1;
    if (r == -1) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return -1;
      if (deadline_wait(m->fd, POLLIN, deadline) <= 0) return -1;
      continue;
    }
    s += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Sends cmd with data: 0, or -1 (the milter is down) */
static int put_cmd(struct milter *m, char cmd, const char *data, size_t len)
{
  char head[5];

  if (milter_head(head, cmd, len) == -1) return -1;
  pkt.len = 0;
  if (!stralloc_catb(&pkt, head, 5) || !stralloc_catb(&pkt, data, len)) io_die_nomem();
  return send_all(m, pkt.s, pkt.len);
}

/* Reads one reply (progress skipped: each restarts the timer): 0, -1 */
static int get_reply(struct milter *m, struct milter_reply *r)
{
  for (;;) {
    char head[4];
    size_t n;
    time_t deadline = time(NULL) + (time_t)m->timeout;

    if (read_all(m, head, 4, deadline) == -1) return -1;
    n = milter_len(head, MILTER_REPLY_MAX);
    if (n == 0) return -1;
    if (!stralloc_ready(&in, n)) io_die_nomem();
    if (read_all(m, in.s, n, deadline) == -1) return -1;
    in.len = n;
    if (milter_reply_parse(r, in.s, n) == -1) return -1;
    if (r->code != 'p') return 0;
  }
}

/* 1 if s starts with an enhanced status code of class c (RFC 3463:
 * c.DDD.DDD, then a blank or the end) */
static int has_enhanced(const char *s, char c)
{
  size_t i = 2;

  if (s[0] != c || s[1] != '.') return 0;
  for (int part = 0; part < 2; part++) {
    size_t start = i;

    while (s[i] >= '0' && s[i] <= '9' && i - start < 3) i++;
    if (i == start) return 0;
    if (part == 0 && s[i++] != '.') return 0;
  }
  return s[i] == ' ' || s[i] == '\0';
}

/* The reply for a verdict code (r: 'y' text); NULL to go on. */
static const char *verdict(struct milter *m, const struct milter_reply *r, int *discard)
{
  size_t n;

  switch (r->code) {
    case 'c': return NULL;
    case 'a': m->tx_off = 1; return NULL;
    case 'r': return "550 5.7.1 command rejected\r\n";
    case 't': return tempfail;
    case 'd': /* at MAIL or RCPT: the message is dropped at its end */
      if (discard != NULL) *discard = 1;
      else tx_discard = 1;
      m->tx_off = 1;
      return NULL;
    case 'y': /* "NNN text" (milter_reply_parse: 4xx or 5xx, one line) */
      n = strlen(r->text);
      if (has_enhanced(r->text + 4, r->text[0])) {
        memcpy(answer, r->text, n);
      } else { /* every reply carries an enhanced code (RFC 2034) */
        memcpy(answer, r->text, 4);
        memcpy(answer + 4, r->text[0] == '5' ? "5.7.1 " : "4.7.1 ", 6);
        memcpy(answer + 10, r->text + 4, n - 4);
        n += 6;
      }
      memcpy(answer + n, "\r\n", 3);
      return answer;
    default: return milter_down(m, "unexpected answer");
  }
}

/* the SMFIP_NR_* bit that spares a command's answer (0: always answered) */
static uint32_t noreply_bit(char cmd)
{
  switch (cmd) {
    case 'C': return MILTER_NR_CONNECT;
    case 'H': return MILTER_NR_HELO;
    case 'M': return MILTER_NR_MAIL;
    case 'R': return MILTER_NR_RCPT;
    case 'T': return MILTER_NR_DATA;
    case 'U': return MILTER_NR_UNKNOWN;
    case 'N': return MILTER_NR_EOH;
    case 'B': return MILTER_NR_BODY;
    case 'L': return MILTER_NR_HDR;
    default: return 0;
  }
}

/* One command that gets an answer (unless the milter asked for none at
 * that stage): NULL or the reply. */
static const char *ask(struct milter *m, char cmd, const char *data, size_t len, int *discard)
{
  struct milter_reply r;

  if (put_cmd(m, cmd, data, len) == -1) return milter_down(m, "unable to write");
  if (m->protocol & noreply_bit(cmd)) return NULL;
  if (get_reply(m, &r) == -1) return milter_down(m, "no valid answer");
  return verdict(m, &r, discard);
}

static void macro_add(stralloc *sa, const char *name, const char *value)
{
  if (!stralloc_cats(sa, name) || !stralloc_0(sa) || !stralloc_cats(sa, value) ||
      !stralloc_0(sa))
    io_die_nomem();
}

static int send_macros(struct milter *m, char stage, const char *n1, const char *v1,
                       const char *n2, const char *v2)
{
  static stralloc mac;

  mac.len = 0;
  if (!stralloc_append(&mac, &stage)) io_die_nomem();
  macro_add(&mac, n1, v1);
  if (n2 != NULL) macro_add(&mac, n2, v2);
  return put_cmd(m, 'D', mac.s, mac.len);
}

static const char *negotiate(struct milter *m)
{
  char opt[12];
  struct milter_reply r;
  uint32_t v[3] = {MILTER_VERSION, OFFERED_ACTIONS, MILTER_NO_ALL | MILTER_NR_ALL};
  static stralloc data;
  const char *port = getenv("TCPREMOTEPORT");
  unsigned long pn = 0;
  char hostname[HOSTNAME_MAX + 3];

  if (m->addr[0] == '\0') return milter_down(m, "bad line in control/milters");
  if (milter_open(m) == -1) return milter_down(m, "unable to connect");
  for (int i = 0; i < 3; i++) {
    opt[i * 4] = (char)(v[i] >> 24);
    opt[i * 4 + 1] = (char)(v[i] >> 16);
    opt[i * 4 + 2] = (char)(v[i] >> 8);
    opt[i * 4 + 3] = (char)v[i];
  }
  if (put_cmd(m, 'O', opt, 12) == -1) return milter_down(m, "unable to write");
  if (get_reply(m, &r) == -1 || r.code != 'O' || r.version < 2 || r.version > MILTER_VERSION)
    return milter_down(m, "negotiation failed");
  if ((r.actions & ~(uint32_t)OFFERED_ACTIONS) != 0)
    return milter_down(m, "wants actions that were not offered");
  /* a milter that asks for more than we offer (no reply to a stage,
   * skip) would wait for what we never send */
  if ((r.protocol & ~(uint32_t)(MILTER_NO_ALL | MILTER_NR_ALL)) != 0)
    return milter_down(m, "wants protocol steps that were not offered");
  m->actions = r.actions;
  m->protocol = r.protocol;
  if (m->protocol & MILTER_NO_CONNECT) return NULL;

  if (sess.host != NULL) {
    size_t n = strnlen(sess.host, HOSTNAME_MAX);
    memcpy(hostname, sess.host, n);
    hostname[n] = '\0';
  } else {
    size_t n = strnlen(sess.ip, HOSTNAME_MAX - 2);
    hostname[0] = '[';
    memcpy(hostname + 1, sess.ip, n);
    memcpy(hostname + 1 + n, "]", 2);
  }
  if (send_macros(m, 'C', "j", sess.me.s, "{daemon_name}", "qsmtpd") == -1)
    return milter_down(m, "unable to write");
  if (port != NULL)
    for (const char *p = port; *p >= '0' && *p <= '9' && pn < 65536; p++)
      pn = pn * 10 + (unsigned long)(*p - '0');
  if (pn > 65535) pn = 0;
  data.len = 0;
  if (!stralloc_cats(&data, hostname) || !stralloc_0(&data)) io_die_nomem();
  if (strcmp(sess.ip, "unknown") == 0) {
    if (!stralloc_append(&data, "U")) io_die_nomem();
  } else {
    char fam = strchr(sess.ip, ':') != NULL ? '6' : '4';
    char pb[2] = {(char)(pn >> 8), (char)pn};
    if (!stralloc_append(&data, &fam) || !stralloc_catb(&data, pb, 2) ||
        !stralloc_cats(&data, sess.ip) || !stralloc_0(&data))
      io_die_nomem();
  }
  return ask(m, 'C', data.s, data.len, NULL);
}

/* Every milter connected and told of the connection (once a session). */
static const char *session_start(void)
{
  const char *r;

  if (session_open) return NULL;
  session_open = 1;
  for (size_t i = 0; i < milter_count; i++) {
    milters[i].fd = -1;
    milters[i].off = 0;
    milters[i].tx_off = 0;
    r = negotiate(&milters[i]);
    if (milters[i].tx_off) milters[i].off = 1; /* accepted the connection */
    if (r != NULL) return r;
  }
  return NULL;
}

static const char *tempfail_or(const char *r)
{
  return r != NULL ? r : tempfail;
}

static int asked(const struct milter *m, uint32_t no)
{
  return m->fd != -1 && !m->off && !m->tx_off && !(m->protocol & no);
}

const char *milters_helo(const char *helo)
{
  const char *r;

  if (milter_count == 0) return NULL;
  r = session_start();
  if (r != NULL || session_tempfail) return tempfail_or(r);
  for (size_t i = 0; i < milter_count; i++) {
    struct milter *m = &milters[i];
    if (!asked(m, MILTER_NO_HELO)) continue;
    r = ask(m, 'H', helo, strlen(helo) + 1, NULL);
    if (m->tx_off) m->off = 1;
    if (r != NULL) return r;
  }
  return NULL;
}

/* "<path>\0" in wire form (a local part quoted where it must be) */
static void path_data(stralloc *data, const char *addr)
{
  char wire[ADDR_QUOTED_MAX];
  size_t n = addr_quote(wire, addr, strlen(addr));

  data->len = 0;
  if (!stralloc_append(data, "<") || !stralloc_catb(data, wire, n) ||
      !stralloc_catb(data, ">", 2))
    io_die_nomem();
}

const char *milters_mail(const char *sender)
{
  static stralloc data;
  const char *r;

  if (milter_count == 0) return NULL;
  r = session_start();
  if (r != NULL || session_tempfail) return tempfail_or(r);
  path_data(&data, sender);
  for (size_t i = 0; i < milter_count; i++) {
    struct milter *m = &milters[i];
    m->tx_off = 0;
    if (m->fd == -1 || m->off) continue;
    m->in_tx = 1;
    if (m->protocol & MILTER_NO_MAIL) continue;
    if (send_macros(m, 'M', "{mail_addr}", sender, sess.authed ? "{auth_authen}" : NULL,
                    sess.authuser) == -1) {
      r = milter_down(m, "unable to write");
    } else {
      r = ask(m, 'M', data.s, data.len, NULL);
    }
    if (r != NULL) return r;
  }
  return NULL;
}

const char *milters_rcpt(const char *rcpt)
{
  static stralloc data;
  const char *r;

  if (milter_count == 0) return NULL;
  if (session_tempfail) return tempfail;
  path_data(&data, rcpt);
  for (size_t i = 0; i < milter_count; i++) {
    struct milter *m = &milters[i];
    if (!asked(m, MILTER_NO_RCPT)) continue;
    if (send_macros(m, 'R', "{rcpt_addr}", rcpt, NULL, NULL) == -1) r = milter_down(m, "unable to write");
    else r = ask(m, 'R', data.s, data.len, NULL);
    if (r != NULL) return r;
  }
  return NULL;
}

/* ---- the message ---- */

/* Sends one header field (s: "Name: value\n" with continuations) */
static const char *send_field(struct milter *m, const char *s, size_t len)
{
  static stralloc data;
  const char *colon = memchr(s, ':', len);
  size_t i;

  data.len = 0;
  if (!stralloc_catb(&data, s, (size_t)(colon - s)) || !stralloc_0(&data)) io_die_nomem();
  i = (size_t)(colon - s) + 1;
  if (i < len && s[i] == ' ') i++; /* as Sendmail: the space goes */
  for (; i < len; i++) {
    if (s[i] == '\n') {
      if (i + 1 == len) break;
      if (!stralloc_append(&data, "\r")) io_die_nomem();
    }
    if (!stralloc_append(&data, &s[i])) io_die_nomem();
  }
  if (!stralloc_0(&data)) io_die_nomem();
  return ask(m, 'L', data.s, data.len, NULL);
}

static const char *send_message(struct milter *m, int fd, unsigned long long len, int *discard)
{
  static stralloc body;
  struct medit_reader rd;
  const char *r = NULL;
  const char *nb;
  size_t nblen = 0;
  int c = 0;

  if (!(m->protocol & MILTER_NO_DATA)) {
    r = ask(m, 'T', "", 0, discard);
    if (r != NULL || !asked(m, 0)) return r;
  }
  if (!(m->protocol & MILTER_NO_HDRS)) {
    for (size_t i = 0; i < medit_fields(); i++) {
      size_t flen;
      const char *f = medit_field(i, &flen);
      if (f == NULL) continue; /* not shown to the milters */
      r = send_field(m, f, flen);
      if (r != NULL || !asked(m, 0)) return r;
    }
  }
  if (!(m->protocol & MILTER_NO_EOH)) {
    r = ask(m, 'N', "", 0, discard);
    if (r != NULL || !asked(m, 0)) return r;
  }
  if (!(m->protocol & MILTER_NO_BODY) && (nb = medit_new_body(&nblen)) != NULL) {
    /* an earlier milter's body: that is the message now */
    for (size_t at = 0; at < nblen; at += MILTER_CHUNK - 1) {
      size_t n = nblen - at < MILTER_CHUNK - 1 ? nblen - at : MILTER_CHUNK - 1;
      r = ask(m, 'B', nb + at, n, discard);
      if (r != NULL || !asked(m, 0)) return r;
    }
  } else if (!(m->protocol & MILTER_NO_BODY)) {
    medit_reader_init(&rd, fd, medit_body_at(), len);
    body.len = 0;
    for (;;) {
      c = medit_byte(&rd);
      if (c == -2) return milter_down(m, "unable to read the message");
      if (c == '\n' && !stralloc_append(&body, "\r")) io_die_nomem();
      if (c >= 0 && !stralloc_append(&body, (char *)&c)) io_die_nomem();
      if (body.len >= MILTER_CHUNK - 1 || (c == -1 && body.len > 0)) {
        r = ask(m, 'B', body.s, body.len, discard);
        if (r != NULL || !asked(m, 0)) return r;
        body.len = 0;
      }
      if (c == -1) break;
    }
  }
  return NULL;
}

/* The end of message: the changes (held: medit_pend_*), then the verdict. */
static const char *end_message(struct milter *m, const char *id, int *discard)
{
  struct milter_reply r;

  if (send_macros(m, 'E', "i", id, NULL, NULL) == -1 || put_cmd(m, 'E', "", 0) == -1)
    return milter_down(m, "unable to write");
  for (;;) {
    uint32_t act;

    if (get_reply(m, &r) == -1) return milter_down(m, "no valid answer");
    switch (r.code) {
      case 'h': case 'i': act = MILTER_ACT_ADDHDRS; break;
      case 'm': act = MILTER_ACT_CHGHDRS; break;
      case 'b': act = MILTER_ACT_CHGBODY; break;
      case '+': act = MILTER_ACT_ADDRCPT; break;
      case '-': act = MILTER_ACT_DELRCPT; break;
      case 'e': act = MILTER_ACT_CHGFROM; break;
      case 'q': act = MILTER_ACT_QUARANTINE; break;
      default: return verdict(m, &r, discard);
    }
    if (!(m->actions & act)) return milter_down(m, "action not negotiated");
    if (r.code == 'h' || r.code == 'i' || r.code == 'm') {
      if (medit_pend_header(r.code, r.index, r.name, r.value) == -1)
        return milter_down(m, "too many header changes");
    } else if (r.code == 'b') {
      if (medit_pend_body(r.value, r.len) == -1) return milter_down(m, "new body too large");
    } else if (r.code == '+' || r.code == '-') {
      stralloc *sa = r.code == '+' ? &rcpt_add : &rcpt_del;
      if (!stralloc_catb(sa, r.value, strlen(r.value) + 1)) io_die_nomem();
    } else if (r.code == 'e') {
      medit_pend_sender(r.value);
      if (r.text != NULL && r.text[0] != '\0')
        qlog("milter: the ESMTP arguments of a new sender ignored: ", r.text);
    } else { /* 'q' */
      medit_pend_quarantine(r.text);
    }
  }
}

void milters_rcpts(const stralloc **add, const stralloc **del)
{
  *add = &rcpt_add;
  *del = &rcpt_del;
}

static const char write_failed[] = "451 4.3.0 unable to queue the message, try again later\r\n";

static const char *milter_message_(struct inject *q, int *discard);

const char *milters_message(struct inject *q, int *discard)
{
  const char *r = milter_message_(q, discard);

  medit_trim();
  return r;
}

static const char *milter_message_(struct inject *q, int *discard)
{
  unsigned long long len = 0;
  const char *r = NULL;
  int fd = -1;

  *discard = 0;
  rcpt_add.len = 0;
  rcpt_del.len = 0;
  medit_clear();
  if (milter_count == 0 || !session_open) return NULL;
  if (tx_discard) {
    *discard = 1;
    return NULL;
  }
  if (session_tempfail) return tempfail;
  for (size_t i = 0; i < milter_count && r == NULL && !*discard; i++) {
    struct milter *m = &milters[i];
    size_t amark = rcpt_add.len;
    size_t dmark = rcpt_del.len;
    if (!asked(m, 0)) continue;
    medit_pend_reset();
    if (fd == -1) {
      fd = inject_msgfd(q, &len);
      if (fd == -1) {
        if (errno == EINVAL) return NULL; /* QINJECT: no file to read back */
        qwarn_sys("unable to read the message back for the milters");
        return tempfail;
      }
      if (medit_load(fd, len) == -1) {
        qwarn_sys("unable to read the message back for the milters");
        close(fd);
        return tempfail;
      }
    }
    r = send_message(m, fd, len, discard);
    if (r == NULL && asked(m, 0)) r = end_message(m, q->id, discard);
    if (r == NULL) m->in_tx = 0; /* else the ABORT tells it the message is refused */
    if (m->fd == -1) { /* the changes of a milter that went down are dropped */
      rcpt_add.len = amark;
      rcpt_del.len = dmark;
    } else if (medit_pend_apply() == -1) {
      r = milter_down(m, "header too large");
    }
  }
  if (fd != -1) close(fd);
  if (r != NULL || *discard) return r;
  if (medit_write(q) == -1) return write_failed; /* qsmtpd_milter_edit.c */
  return NULL;
}

void milters_abort(void)
{
  tx_discard = 0;
  for (size_t i = 0; i < milter_count; i++) {
    struct milter *m = &milters[i];
    int was = m->in_tx;
    m->tx_off = 0;
    m->in_tx = 0;
    if (was && m->fd != -1 && !m->off && put_cmd(m, 'A', "", 0) == -1)
      milter_down(m, "unable to write");
  }
}

void milters_end(void)
{
  session_open = 0;
  session_tempfail = 0;
  for (size_t i = 0; i < milter_count; i++) {
    struct milter *m = &milters[i];
    if (m->fd == -1) continue;
    (void)put_cmd(m, 'Q', "", 0);
    close(m->fd);
    m->fd = -1;
  }
}
