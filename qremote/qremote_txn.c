/*
 * qremote_txn: mail transactions on an open session (qremote_smtp.h):
 * MAIL with SIZE (RFC 1870), BODY=8BITMIME (RFC 6152), SMTPUTF8
 * (RFC 6531) and DSN's RET and ENVID (RFC 3461); RCPT with NOTIFY and
 * ORCPT; DATA and the message; each recipient's result. With PIPELINING
 * (RFC 2920) MAIL, the RCPTs and DATA go out together and their replies
 * are read after; without it each command waits for its reply. A 452 to
 * a RCPT leaves that recipient for another transaction (RFC 5321
 * 4.5.3.1.10).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "addr.h"
#include "queue.h"
#include "qremote_smtp.h"
#include "smtpdata.h"

#define MSG_CHUNK 65536

/* One transaction. batch: the recipients it is for (indexes into
 * j->rcpt); an entry becomes BATCH_GONE once its recipient has a result
 * from its RCPT or is left for another transaction. sent: the recipients
 * whose RCPT went out. */
#define BATCH_GONE ((size_t)-1)
struct txn {
  struct job *j;
  size_t *batch;
  size_t count;
  size_t *sent;
  size_t sent_count;
  size_t rcpt_deferred; /* of the sent, answered with a 4xx (T) */
  size_t accepted;
  size_t deferred452;
  int need_utf8;
  int lost_ok;          /* a dead reused connection is retried afresh */
};

/* How each step of a transaction ends. */
#define STEP_ON 0       /* go on with the next step */
#define STEP_DONE 1     /* the results are set */
#define STEP_RESET 2    /* RSET, and done */
#define STEP_LOST 3     /* the connection died: TX_LOST if lost_ok, else Z */
#define STEP_NOMEM 4

static void result_set(struct rcpt *r, char result, const stralloc *text)
{
  r->result = result;
  if (!stralloc_copy(&r->text, text)) r->text.len = 0;
}

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

/* RFC 6533 3, utf-8-addr-xtext: the address of an ORCPT of type utf-8
 * (stored as UTF-8, qsmtpd checked it) for any server: each non-ASCII
 * character, and a backslash, as "\x{HEX}", then xtext. */
static int cat_utf8xtext(stralloc *sa, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  stralloc u = {0};
  int ok = 1;

  while (ok && *s != '\0') {
    const unsigned char *p = (const unsigned char *)s;
    unsigned long cp = p[0];
    size_t n = 1;
    char num[8];
    size_t d = 0;

    if (p[0] < 0x80 && p[0] != '\\') {
      ok = stralloc_append(&u, s);
      s++;
      continue;
    }
    if ((p[0] & 0xe0) == 0xc0) n = 2;
    else if ((p[0] & 0xf0) == 0xe0) n = 3;
    else if ((p[0] & 0xf8) == 0xf0) n = 4;
    if (n > 1) cp &= 0x7fu >> n;
    for (size_t k = 1; k < n; k++) {
      if ((p[k] & 0xc0) != 0x80) { /* cut short: the lead byte alone */
        n = 1;
        cp = p[0];
        break;
      }
      cp = cp << 6 | (p[k] & 0x3fu);
    }
    do { /* the code point in hex, last digit first */
      num[d++] = hex[cp & 15];
      cp >>= 4;
    } while (cp != 0 && d < sizeof num);
    ok = stralloc_cats(&u, "\\x{");
    while (ok && d > 0) ok = stralloc_append(&u, &num[--d]);
    ok = ok && stralloc_cats(&u, "}");
    s += n;
  }
  ok = ok && stralloc_0(&u) && cat_xtext(sa, u.s);
  stralloc_free(&u);
  return ok;
}

/* "<addr>" appended to sa. 1, 0 out of memory, -1 the address cannot be quoted. */
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
int txn_scan(struct conn *cn, const struct job *j)
{
  char buf[MSG_CHUNK];
  unsigned long long done = 0;
  unsigned long long col = 0;
  char last = '\n';

  /* RFC 1870 3: the message with CRLF line ends, without the final dot;
   * a line broken by smtpdata_put costs up to 3 octets a piece */
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
      if (buf[k] == '\n') {
        ++cn->wire_size;
        col = 0;
        continue;
      }
      if ((unsigned char)buf[k] >= 0x80) cn->eightbit = 1;
      if (++col > SMTPDATA_LINE_MAX - 1) {
        cn->wire_size += 3;
        col = 1;
      }
    }
    done += (unsigned long long)r;
    last = buf[r - 1];
  }
  if (j->msglen > 0 && last != '\n') cn->wire_size += 2;
  return 0;
}

/* Sends the message: LF -> CRLF, dot-stuffed (RFC 5321 4.5.2), lines
 * longer than 998 octets broken (4.5.3.1.6), then the final dot. 0, -1
 * local read error (the connection must be dropped without the dot). */
static int message_send(struct conn *cn, const struct job *j)
{
  int r = smtpdata_put(&cn->out, j->msgfd, QUEUE_HDRLEN, j->msglen, SMTPDATA_LINE_MAX);

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
void txn_pending_set(struct job *j, char result, const stralloc *text)
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
static void all_deferred_check(struct txn *t)
{
  if (t->sent_count < 2 || t->rcpt_deferred != t->sent_count) return;
  for (size_t b = 0; b < t->sent_count; ++b)
    if (t->j->rcpt[t->sent[b]].result == 'T') t->j->rcpt[t->sent[b]].result = 'Z';
}

/* Every recipient still in the batch gets result with text. */
static void batch_set(struct txn *t, char result, const stralloc *text)
{
  for (size_t b = 0; b < t->count; ++b)
    if (t->batch[b] != BATCH_GONE) result_set(&t->j->rcpt[t->batch[b]], result, text);
}

/* Whether a reply ("552 5.3.4 text") carries the enhanced code of a
 * message over a size limit: RFC 3463 X.2.3 (the mailbox's) or X.3.4 (the
 * system's), both permanent. */
static int reply_too_big(const stralloc *reply)
{
  static const char *const codes[] = {" 5.2.3", " 5.3.4", NULL};

  if (reply->len < 9) return 0;
  if (reply->len > 9 && reply->s[9] != ' ') return 0; /* 5.3.40 is another code */
  for (size_t i = 0; codes[i] != NULL; ++i)
    if (memcmp(reply->s + 3, codes[i], 6) == 0) return 1;
  return 0;
}

/* The reply code to the RCPT of batch entry b. */
static void rcpt_reply(struct conn *cn, struct txn *t, size_t b, int code)
{
  struct rcpt *r = &t->j->rcpt[t->batch[b]];

  /* RFC 5321 4.5.3.1.10: a 552 to RCPT is the 452 of RFC 821's mistake
   * (too many recipients, or a full mailbox): temporary. Not when its
   * enhanced code says the message is too big: no retry makes it
   * smaller, and retrying for the queue's lifetime only delays the bounce. */
  if (code == 552 && !reply_too_big(&cn->reply)) code = 452;
  if (code >= 200 && code < 300) {
    ++t->accepted;
    return;
  }
  if (code == 452 && t->accepted > 0) {
    ++t->deferred452; /* RFC 5321 4.5.3.1.10: the rest in another transaction */
  } else {
    fail_reply(cn);
    result_set(r, own_class(code), &cn->failtext);
    if (r->result == 'T') ++t->rcpt_deferred;
  }
  t->batch[b] = BATCH_GONE;
}

/* The batch: every recipient of j without a result. 0, -1 out of memory
 * (the recipients have their result). */
static int txn_begin(struct conn *cn, struct txn *t, struct job *j, int reused)
{
  t->j = j;
  t->lost_ok = reused;
  t->need_utf8 = has_8bit(j->sender);
  t->batch = calloc(2 * j->rcpt_count, sizeof *t->batch);
  if (t->batch == NULL) {
    fail_local(cn, "4.3.0", "out of memory", NULL);
    txn_pending_set(j, 'Z', &cn->failtext);
    return -1;
  }
  t->sent = t->batch + j->rcpt_count;
  for (size_t i = 0; i < j->rcpt_count; ++i) {
    if (j->rcpt[i].result != 0) continue;
    t->batch[t->count++] = i;
    if (has_8bit(j->rcpt[i].addr)) t->need_utf8 = 1;
  }
  return 0;
}

/* What the server must support for this message. */
static int txn_check(struct conn *cn, struct txn *t)
{
  char sizetext[FMT_ULONG];
  char limittext[FMT_ULONG];

  /* RFC 6531 3.4: no SMTPUTF8, no delivery of an internationalised address */
  if (t->need_utf8 && !cn->ext.smtputf8) {
    fail_local(cn, "5.6.7", "the server does not support SMTPUTF8, which the addresses need",
               NULL);
    txn_pending_set(t->j, 'D', &cn->failtext);
    return STEP_DONE;
  }
  /* RFC 6152 3: 8-bit data goes only to a server that offers 8BITMIME;
   * qremote does not convert (a DKIM signature would break): 5.6.3 */
  if (cn->eightbit && !cn->ext.eightbit) {
    fail_local(cn, "5.6.3", "the message has 8-bit data and the server does not support 8BITMIME",
               NULL);
    txn_pending_set(t->j, 'D', &cn->failtext);
    return STEP_DONE;
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
    txn_pending_set(t->j, 'D', &cn->failtext);
    return STEP_DONE;
  }
  return STEP_ON;
}

/* MAIL FROM, and its reply without PIPELINING. */
static int mail_send(struct conn *cn, struct txn *t)
{
  const struct job *j = t->j;
  stralloc *cmd = &cn->cmd;
  char sizetext[FMT_ULONG];
  int code;

  if (!stralloc_copys(cmd, "MAIL FROM:")) return STEP_NOMEM;
  switch (cat_path(cmd, j->sender)) {
    case 0: return STEP_NOMEM;
    case -1:
      fail_local(cn, "5.1.7", "the sender address is invalid", NULL);
      txn_pending_set(t->j, 'D', &cn->failtext);
      return STEP_DONE;
  }
  if (cn->ext.size) {
    sizetext[fmt_ulonglong(sizetext, cn->wire_size)] = '\0';
    if (!stralloc_cats(cmd, " SIZE=") || !stralloc_cats(cmd, sizetext)) return STEP_NOMEM;
  }
  if (cn->eightbit && cn->ext.eightbit && !stralloc_cats(cmd, " BODY=8BITMIME"))
    return STEP_NOMEM;
  if (t->need_utf8 && !stralloc_cats(cmd, " SMTPUTF8")) return STEP_NOMEM;
  if (cn->ext.dsn) {
    if (j->ret != NULL && !(stralloc_cats(cmd, " RET=") && stralloc_cats(cmd, j->ret)))
      return STEP_NOMEM;
    if (j->envid != NULL && !(stralloc_cats(cmd, " ENVID=") && cat_xtext(cmd, j->envid)))
      return STEP_NOMEM;
  }
  if (!stralloc_cats(cmd, "\r\n")) return STEP_NOMEM;
  wire_put(cn, cmd->s, cmd->len);
  if (cn->ext.pipelining) return STEP_ON;

  code = wire_reply(cn);
  if (code == -1) return STEP_LOST;
  t->lost_ok = 0;
  if (code < 200 || code >= 300) {
    fail_reply(cn);
    txn_pending_set(t->j, class_of(code), &cn->failtext);
    return STEP_RESET;
  }
  return STEP_ON;
}

/* The RCPT TO command for r into cmd. 1, 0 out of memory, -1 the address
 * cannot be sent. */
static int rcpt_cmd(struct conn *cn, stralloc *cmd, const struct rcpt *r)
{
  int path;

  if (!stralloc_copys(cmd, "RCPT TO:")) return 0;
  path = cat_path(cmd, r->addr);
  if (path != 1) return path;
  if (cn->ext.dsn && r->notify != NULL &&
      !(stralloc_cats(cmd, " NOTIFY=") && stralloc_cats(cmd, r->notify)))
    return 0;
  if (cn->ext.dsn && r->orcpt != NULL) {
    const char *semi = strchr(r->orcpt, ';');

    if (semi != NULL && semi != r->orcpt) {
      int utf8 = semi - r->orcpt == 5 && strncasecmp(r->orcpt, "utf-8", 5) == 0;
      if (!stralloc_cats(cmd, " ORCPT=") ||
          !stralloc_catb(cmd, r->orcpt, (size_t)(semi - r->orcpt + 1)) ||
          !(utf8 ? cat_utf8xtext(cmd, semi + 1) : cat_xtext(cmd, semi + 1)))
        return 0;
    }
  }
  return stralloc_cats(cmd, "\r\n") ? 1 : 0;
}

/* RCPT TO for each recipient of the batch, and their replies without
 * PIPELINING. */
static int rcpts_send(struct conn *cn, struct txn *t)
{
  for (size_t b = 0; b < t->count; ++b) {
    struct rcpt *r = &t->j->rcpt[t->batch[b]];
    int code;

    switch (rcpt_cmd(cn, &cn->cmd, r)) {
      case 0: return STEP_NOMEM;
      case -1:
        fail_local(cn, "5.1.3", "the recipient address is invalid", NULL);
        result_set(r, 'D', &cn->failtext);
        t->batch[b] = BATCH_GONE;
        continue;
    }
    wire_put(cn, cn->cmd.s, cn->cmd.len);
    t->sent[t->sent_count++] = t->batch[b];
    if (cn->ext.pipelining) continue;
    code = wire_reply(cn);
    if (code == -1) return STEP_LOST;
    rcpt_reply(cn, t, b, code);
  }
  if (!cn->ext.pipelining) all_deferred_check(t);
  return STEP_ON;
}

/* With PIPELINING: DATA goes out, then the replies to MAIL, to each RCPT
 * and to DATA are read; *code is the one to DATA. */
static int replies_read(struct conn *cn, struct txn *t, int *code)
{
  wire_put(cn, "DATA\r\n", 6);
  *code = wire_reply(cn);
  if (*code == -1) return STEP_LOST;
  t->lost_ok = 0;
  if (*code < 200 || *code >= 300) {
    fail_reply(cn);
    batch_set(t, class_of(*code), &cn->failtext);
    /* the replies to the RCPTs and to DATA are still to be read */
    for (size_t b = 0; b < t->count; ++b)
      if (t->batch[b] != BATCH_GONE && wire_reply(cn) == -1) return STEP_LOST;
    if (wire_reply(cn) == -1) return STEP_LOST;
    return STEP_RESET;
  }
  for (size_t b = 0; b < t->count; ++b) {
    if (t->batch[b] == BATCH_GONE) continue;
    *code = wire_reply(cn);
    if (*code == -1) return STEP_LOST;
    rcpt_reply(cn, t, b, *code);
  }
  all_deferred_check(t);
  *code = wire_reply(cn); /* to DATA */
  if (*code == -1) return STEP_LOST;
  if (*code == 354 && t->accepted == 0) {
    /* RFC 2920 3.1: DATA was accepted though no recipient was: end it empty */
    wire_put(cn, ".\r\n", 3);
    if (wire_reply(cn) == -1) return STEP_LOST;
    return STEP_RESET;
  }
  return STEP_ON;
}

/* DATA, up to its 354. */
static int data_start(struct conn *cn, struct txn *t)
{
  int code;

  if (cn->ext.pipelining) {
    int step = replies_read(cn, t, &code);

    if (step != STEP_ON) return step;
  } else {
    if (t->accepted == 0) return STEP_RESET;
    code = wire_command(cn, "DATA");
    if (code == -1) return STEP_LOST;
  }
  if (t->accepted == 0) return STEP_RESET;
  if (code != 354) {
    fail_reply(cn);
    batch_set(t, class_of(code), &cn->failtext);
    return STEP_RESET;
  }
  return STEP_ON;
}

/* The message, the final dot and its reply. */
static int data_send(struct conn *cn, struct txn *t)
{
  int code;
  char cls;

  if (message_send(cn, t->j) == -1 || cn->broken) {
    if (cn->broken) return STEP_LOST;
    /* the message's own trouble, not the destination's */
    fail_local(cn, "4.3.0", "unable to read the queue file", strerror(errno));
    batch_set(t, 'T', &cn->failtext);
    wire_close(cn); /* no final dot: the server drops the transaction */
    return STEP_DONE;
  }
  code = wire_reply(cn);
  if (code == -1) {
    fail_local(cn, "4.4.2", "connection lost after the message was sent (it may arrive twice)",
               errno == 0 ? "end of file" : strerror(errno));
    batch_set(t, 'Z', &cn->failtext);
    wire_close(cn);
    return STEP_DONE;
  }
  fail_reply(cn);
  cls = own_class(code);
  /* RFC 3461 4.1, 6.2.1: a server that offers DSN got NOTIFY and ORCPT and
   * reports success itself; one that does not gets a "relayed" report from
   * qsend (RFC 3464 2.3.3). P tells the two apart. */
  if (cls == 'K' && cn->ext.dsn) cls = 'P';
  batch_set(t, cls, &cn->failtext);
  return STEP_DONE;
}

/* How the transaction ends after step: TX_DONE, TX_AGAIN or TX_LOST. */
static int txn_end(struct conn *cn, struct txn *t, int step)
{
  struct job *j = t->j;

  switch (step) {
    case STEP_RESET:
      if (wire_command(cn, "RSET") == -1) wire_close(cn);
      break;
    case STEP_LOST:
      if (t->lost_ok) {
        free(t->batch);
        return TX_LOST;
      }
      fail_net(cn);
      txn_pending_set(j, 'Z', &cn->failtext);
      wire_close(cn);
      break;
    case STEP_NOMEM:
      fail_local(cn, "4.3.0", "out of memory", NULL);
      txn_pending_set(j, 'Z', &cn->failtext);
      wire_close(cn);
      break;
  }
  free(t->batch);
  if (cn->broken) wire_close(cn);
  if (t->deferred452 > 0 && cn->fd != -1 && !all_done(j)) return TX_AGAIN;
  if (!all_done(j)) {
    /* 452 with nothing accepted, or the connection went away */
    if (cn->failtext.len == 0) fail_local(cn, "4.5.3", "too many recipients", NULL);
    txn_pending_set(j, 'Z', &cn->failtext);
  }
  return TX_DONE;
}

static int transaction(struct conn *cn, struct job *j, int reused)
{
  struct txn t = {0};
  int step;

  if (txn_begin(cn, &t, j, reused) == -1) return TX_DONE;
  step = txn_check(cn, &t);
  if (step == STEP_ON) step = mail_send(cn, &t);
  if (step == STEP_ON) step = rcpts_send(cn, &t);
  if (step == STEP_ON) step = data_start(cn, &t);
  if (step == STEP_ON) step = data_send(cn, &t);
  return txn_end(cn, &t, step);
}

int txn_run(struct conn *cn, struct job *j, int reused)
{
  for (;;) {
    int r = transaction(cn, j, reused);

    if (r != TX_AGAIN) return r;
    reused = 0;
  }
}
