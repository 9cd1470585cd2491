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
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "addr.h"
#include "queue.h"
#include "qremote_smtp.h"
#include "smtpdata.h"

#define MSG_CHUNK 65536

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
static void all_deferred_check(struct job *j, const size_t *sent, size_t sent_count,
                               size_t deferred)
{
  if (sent_count < 2 || deferred != sent_count) return;
  for (size_t b = 0; b < sent_count; ++b)
    if (j->rcpt[sent[b]].result == 'T') j->rcpt[sent[b]].result = 'Z';
}

static int transaction(struct conn *cn, struct job *j, int reused)
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

  batch = calloc(2 * j->rcpt_count, sizeof *batch);
  if (batch == NULL) {
    fail_local(cn, "4.3.0", "out of memory", NULL);
    txn_pending_set(j, 'Z', &cn->failtext);
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
    txn_pending_set(j, 'D', &cn->failtext);
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
    txn_pending_set(j, 'D', &cn->failtext);
    goto done;
  }

  /* MAIL FROM */
  if (!stralloc_copys(&cn->cmd, "MAIL FROM:")) goto nomem;
  switch (cat_path(&cn->cmd, j->sender)) {
    case 0: goto nomem;
    case -1:
      fail_local(cn, "5.1.7", "the sender address is invalid", NULL);
      txn_pending_set(j, 'D', &cn->failtext);
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
  wire_put(cn, cn->cmd.s, cn->cmd.len);
  if (!cn->ext.pipelining) {
    code = wire_reply(cn);
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
    wire_put(cn, cn->cmd.s, cn->cmd.len);
    sent[sent_count++] = batch[b];
    if (!cn->ext.pipelining) {
      code = wire_reply(cn);
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
    wire_put(cn, "DATA\r\n", 6);
    code = wire_reply(cn);
    if (code == -1) goto lost;
    lost_ok = 0;
    if (code < 200 || code >= 300) {
      fail_reply(cn);
      for (size_t b = 0; b < count; ++b)
        if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], class_of(code), &cn->failtext);
      /* the replies to the RCPTs and to DATA are still to be read */
      for (size_t b = 0; b < count; ++b)
        if (batch[b] != (size_t)-1 && wire_reply(cn) == -1) goto lost_in_tx;
      if (wire_reply(cn) == -1) goto lost_in_tx;
      goto reset;
    }
    for (size_t b = 0; b < count; ++b) {
      struct rcpt *r;

      if (batch[b] == (size_t)-1) continue;
      r = &j->rcpt[batch[b]];
      code = wire_reply(cn);
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
    code = wire_reply(cn); /* to DATA */
    if (code == -1) goto lost_in_tx;
    if (code == 354 && accepted == 0) {
      /* RFC 2920 3.1: DATA was accepted though no recipient was: end it empty */
      wire_put(cn, ".\r\n", 3);
      if (wire_reply(cn) == -1) goto lost_in_tx;
      goto reset;
    }
  } else {
    if (accepted == 0) goto reset;
    code = wire_command(cn, "DATA");
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
    wire_close(cn); /* no final dot: the server drops the transaction */
    goto done;
  }
  code = wire_reply(cn);
  if (code == -1) {
    fail_local(cn, "4.4.2", "connection lost after the message was sent (it may arrive twice)",
               errno == 0 ? "end of file" : strerror(errno));
    for (size_t b = 0; b < count; ++b)
      if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], 'Z', &cn->failtext);
    wire_close(cn);
    goto done;
  }
  fail_reply(cn);
  for (size_t b = 0; b < count; ++b)
    if (batch[b] != (size_t)-1) result_set(&j->rcpt[batch[b]], own_class(code), &cn->failtext);
  goto done;

mail_refused:
  fail_reply(cn);
  txn_pending_set(j, class_of(code), &cn->failtext);
reset:
  if (wire_command(cn, "RSET") == -1) wire_close(cn);
  goto done;

lost:
  if (lost_ok) {
    free(batch);
    return TX_LOST;
  }
lost_in_tx:
  fail_net(cn);
  txn_pending_set(j, 'Z', &cn->failtext);
  wire_close(cn);
  goto done;

nomem:
  fail_local(cn, "4.3.0", "out of memory", NULL);
  txn_pending_set(j, 'Z', &cn->failtext);
  wire_close(cn);

done:
  free(batch);
  if (cn->broken) wire_close(cn);
  if (deferred452 > 0 && cn->fd != -1 && !all_done(j)) return TX_AGAIN;
  if (!all_done(j)) {
    /* 452 with nothing accepted, or the connection went away */
    if (cn->failtext.len == 0) fail_local(cn, "4.5.3", "too many recipients", NULL);
    txn_pending_set(j, 'Z', &cn->failtext);
  }
  return TX_DONE;
}

int txn_run(struct conn *cn, struct job *j, int reused)
{
  for (;;) {
    int r = transaction(cn, j, reused);

    if (r != TX_AGAIN) return r;
    reused = 0;
  }
}
