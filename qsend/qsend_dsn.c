/*
 * qsend_dsn: delivery status notifications (RFC 3464, RFC 3461 4, RFC 6522)
 * as new queue messages from MAILER-DAEMON@me. Called by qsend (as
 * qmta-send, in QHOME) with the original queue file open; see qsend_dsn.h.
 *
 * The report is multipart/report; report-type=delivery-status with three
 * parts: a text for people, the message/delivery-status fields (one group
 * per recipient: Final-Recipient, Action, Status, Remote-MTA and
 * Diagnostic-Code when the reason is a server's reply), and the original:
 * the whole message (message/rfc822) in a failure report when RET is not
 * HDRS and the message is at most control/bouncemaxbytes (default 100000)
 * bytes; otherwise its header only (text/rfc822-headers). An address or a
 * reason with non-ASCII bytes makes it message/global-delivery-status
 * (RFC 6533) with "utf-8" address types.
 *
 * Reasons come in two shapes (qremote(8)): "HOST [IP] said: 550 5.1.1 text"
 * (a server's reply) or "5.1.1 text" (our own); anything else gets the
 * status X.0.0 of its kind. A failure whose reason is temporary (the
 * queue lifetime ran out) is reported as 5.4.7, delivery time expired.
 *
 * Envelope of the report: sender "" (a double bounce: "#@[]"), one
 * recipient: the original sender, or control/doublebounceto (default
 * postmaster, "@me" added when it has no domain) when the original sender
 * is null. Nothing is sent about a double bounce, nor a delay or success
 * notice to the null sender.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fmt.h>
#include <stralloc.h>

#include "ctl.h"
#include "ctldef.h"
#include "datefmt.h"
#include "qlog.h"
#include "qsend_dsn.h"
#include "queue.h"

#define DEFAULT_BOUNCEMAXBYTES CTLDEF_BOUNCEMAXBYTES
#define DEFAULT_LIFETIME CTLDEF_QUEUELIFETIME
#define FOLD_AT 76               /* RFC 5322 2.1.1: lines should stay under 78 */
#define HEADER_MIN 65536          /* header bytes attached when bouncemaxbytes is 0 */

/* RFC 5322 3.3 date-time, in UTC. */
static int cat_date(stralloc *sa, time_t t)
{
  char buf[DATE822_MAX];
  size_t n = date822_fmt(buf, t, 0);

  return n != 0 && stralloc_catb(sa, buf, n);
}

static int has_8bit(const char *s)
{
  for (; *s != '\0'; ++s)
    if ((unsigned char)*s >= 0x80) return 1;
  return 0;
}

/* Appends s with control bytes replaced (nothing read from the queue may
 * break a header line). */
static int cat_clean(stralloc *sa, const char *s)
{
  for (; *s != '\0'; ++s) {
    char c = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    if (!stralloc_append(sa, &c)) return 0;
  }
  return 1;
}

int dsn_cat_field(stralloc *sa, const char *name, const char *value)
{
  stralloc v = {0};
  size_t col;
  size_t i = 0;
  int r = 0;

  if (!cat_clean(&v, value)) goto out;
  if (!stralloc_cats(sa, name) || !stralloc_cats(sa, ":")) goto out;
  col = strlen(name) + 1;
  while (i < v.len) {
    size_t start = i;      /* the blanks before the word, then the word */
    size_t word;

    while (i < v.len && v.s[i] == ' ') ++i;
    word = i;
    while (i < v.len && v.s[i] != ' ') ++i;
    if (start == 0) { /* the first word: after "name: " */
      if (!stralloc_append(sa, " ")) goto out;
      ++col;
    } else if (col + (i - start) > FOLD_AT) {
      if (!stralloc_cats(sa, "\n")) goto out;
      col = 0;
    }
    if (!stralloc_catb(sa, v.s + (start == 0 ? word : start), i - (start == 0 ? word : start)))
      goto out;
    col += i - start;
  }
  r = stralloc_append(sa, "\n");
out:
  stralloc_free(&v);
  return r;
}

/* NOTIFY=SUCCESS kinds: delivered here, relayed to a server without DSN,
 * or expanded by an alias here */
static int is_success(int kind)
{
  return kind == DSN_DELIVERED || kind == DSN_RELAYED || kind == DSN_EXPANDED;
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Length of an enhanced status code (RFC 3463: class "." 1-3 digits "."
 * 1-3 digits) at s, 0 if there is none. */
static size_t scan_status(const char *s)
{
  size_t i = 0;
  size_t n;

  if (s[0] != '2' && s[0] != '4' && s[0] != '5') return 0;
  if (s[1] != '.') return 0;
  i = 2;
  for (n = 0; n < 3 && is_digit(s[i]); ++n) ++i;
  if (n == 0 || s[i] != '.') return 0;
  ++i;
  for (n = 0; n < 3 && is_digit(s[i]); ++n) ++i;
  if (n == 0 || is_digit(s[i])) return 0;
  if (s[i] != '\0' && s[i] != ' ') return 0;
  return i;
}

void dsn_reason_parse(struct dsn_reason *p, const char *reason, int kind)
{
  const char *said = strstr(reason, " said: ");
  const char *code = reason;
  size_t n;

  p->remote = NULL;
  p->hostlen = 0;
  memcpy(p->status, kind == DSN_FAILED ? "5.0.0" : kind == DSN_DELAYED ? "4.0.0" : "2.0.0", 6);

  if (said != NULL) {
    const char *r = said + 7;
    const char *sp = strchr(reason, ' ');

    if (is_digit(r[0]) && is_digit(r[1]) && is_digit(r[2]) && (r[3] == ' ' || r[3] == '\0')) {
      p->remote = r;
      if (sp != NULL && sp <= said) p->hostlen = (size_t)(sp - reason);
      code = r[3] == ' ' ? r + 4 : r + 3;
      if (scan_status(code) == 0) {
        /* no enhanced code: X.0.0 of the report's kind, whatever digit the
         * reply starts with (RFC 3464 2.3.4: the class agrees with the
         * Action); a temporary reply made final: X.4.7, as below */
        if (kind == DSN_FAILED && r[0] == '4') memcpy(p->status, "5.4.7", 6);
        return;
      }
    }
  }
  n = scan_status(code);
  if (n == 0 && p->remote == NULL) {
    /* our own reasons end in "(#5.1.1)", as qmail's do */
    const char *hash = strstr(reason, "(#");
    if (hash != NULL) {
      char tmp[DSN_STATUS_MAX + 1];
      size_t i;
      for (i = 0; i < DSN_STATUS_MAX && hash[2 + i] != '\0' && hash[2 + i] != ')'; i++)
        tmp[i] = hash[2 + i];
      tmp[i] = '\0';
      if (hash[2 + i] == ')' && scan_status(tmp) == i) {
        code = hash + 2;
        n = i;
      }
    }
  }
  if (kind == DSN_FAILED && (code[0] == '4' || (p->remote != NULL && p->remote[0] == '4'))) {
    /* a temporary failure made final by the queue lifetime: RFC 3463 X.4.7 */
    memcpy(p->status, "5.4.7", 6);
    return;
  }
  if (n == 0 || n >= DSN_STATUS_MAX) return;
  /* a status of another class than the report's kind is not believed */
  if ((kind == DSN_FAILED && code[0] != '5') || (kind == DSN_DELAYED && code[0] != '4') ||
      (is_success(kind) && code[0] != '2'))
    return;
  memcpy(p->status, code, n);
  p->status[n] = '\0';
}

/* NOTIFY of recipient idx allows a report of this kind (RFC 3461 4.1:
 * without NOTIFY, failures and delays are reported). */
static int notify_allows(const struct queue_env *e, size_t idx, int kind)
{
  size_t off = e->rcpt[idx].notify;
  const char *n;
  const char *word = kind == DSN_FAILED ? "FAILURE" : kind == DSN_DELAYED ? "DELAY" : "SUCCESS";

  if (off == (size_t)-1) return !is_success(kind);
  n = queue_env_str(e, off);
  if (strcasecmp(n, "NEVER") == 0) return 0;
  while (*n != '\0') {
    size_t len = strcspn(n, ",");

    if (len == strlen(word) && strncasecmp(n, word, len) == 0) return 1;
    n += len;
    if (*n == ',') ++n;
  }
  return 0;
}

/* Reads len bytes of the message from offset off. 0, -1 + errno. */
static int message_read(int fd, stralloc *sa, unsigned long long off, size_t len)
{
  if (!stralloc_ready(sa, len)) return -1;
  sa->len = 0;
  while (sa->len < len) {
    ssize_t r = pread(fd, sa->s + sa->len, len - sa->len, (off_t)(QUEUE_HDRLEN + off + sa->len));

    if (r == -1 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      return -1;
    }
    sa->len += (size_t)r;
  }
  return 0;
}

/* The original to attach: the whole message (want_whole, and it fits in
 * limit), or else its header: up to the empty line, at most limit bytes
 * (64 KiB when limit is 0), cut after a complete line. *whole says which. */
static int original_read(int fd, const struct queue_env *e, int want_whole, unsigned long limit,
                         stralloc *orig, int *whole)
{
  unsigned long long cap = limit > 0 ? limit : HEADER_MIN;

  *whole = 0;
  if (want_whole && e->msglen <= limit) {
    *whole = 1;
    return message_read(fd, orig, 0, (size_t)e->msglen);
  }
  if (cap > e->msglen) cap = e->msglen;
  if (message_read(fd, orig, 0, (size_t)cap) == -1) return -1;
  orig->len = dsn_header_len(orig->s, orig->len);
  return 0;
}

size_t dsn_header_len(const char *s, size_t len)
{
  const char *end;

  if (len > 0 && s[0] == '\n') return 0;
  end = memmem(s, len, "\n\n", 2);
  if (end != NULL) return (size_t)(end - s) + 1;
  while (len > 0 && s[len - 1] != '\n') --len;
  return len;
}

int dsn_boundary(stralloc *b, const stralloc *orig, unsigned long id, time_t now)
{
  char num[FMT_ULONG];
  unsigned long salt = (unsigned long)getpid();

  for (unsigned long attempt = 0;; ++attempt) {
    if (!stralloc_copys(b, "=_qmta_") || !stralloc_catb(b, num, fmt_ulong(num, id)) ||
        !stralloc_append(b, "_") ||
        !stralloc_catb(b, num, fmt_ulong(num, (unsigned long)now)) ||
        !stralloc_append(b, "_") || !stralloc_catb(b, num, fmt_ulong(num, salt + attempt)))
      return 0;
    if (orig->len < b->len || memmem(orig->s, orig->len, b->s, b->len) == NULL) return 1;
  }
}

static int put_sa(struct queue_writer *w, const stralloc *sa)
{
  return queue_put(w, sa->s, sa->len);
}

/* What the steps of dsn_send share: the report being built. */
struct dsn_build {
  const struct queue_env *e;
  int kind;
  const struct dsn_rcpt *r;
  size_t n;
  int double_bounce;           /* the original came from <>: to the postmaster */
  int global;                  /* an address or reason in UTF-8: RFC 6533 types */
  int whole;                   /* orig is the whole message, not only its header */
  unsigned long maxbytes;      /* control/bouncemaxbytes */
  unsigned long lifetime;      /* control/queuelifetime */
  unsigned long id;            /* the original's inode, for the ids of the report */
  time_t now;
  char qid[QUEUE_ID_MAX];      /* the original's queue id */
  stralloc me;                 /* control/me, 0-terminated beyond len */
  stralloc to;                 /* where the report goes, 0-terminated */
  stralloc head;               /* header lines and part headers, reused */
  stralloc text;               /* the part for people */
  stralloc report;             /* the delivery-status part */
  stralloc orig;               /* the original (header or whole) */
  stralloc boundary;
};

/* The settings the report needs, and its recipient. 1 done, 0 failed. */
static int dsn_settings(struct dsn_build *b)
{
  if (ctl_readline(&b->me, "control/me", "localhost") == -1) return 0;
  if (ctl_readint(&b->maxbytes, "control/bouncemaxbytes", DEFAULT_BOUNCEMAXBYTES) == -1) return 0;
  if (ctl_readint(&b->lifetime, "control/queuelifetime", DEFAULT_LIFETIME) == -1) return 0;
  if (!stralloc_0(&b->me)) return 0;
  --b->me.len;
  if (b->double_bounce) {
    if (ctl_readline(&b->to, "control/doublebounceto", CTLDEF_DOUBLEBOUNCETO) == -1) return 0;
    if (memchr(b->to.s, '@', b->to.len) == NULL &&
        (!stralloc_append(&b->to, "@") || !stralloc_cat(&b->to, &b->me)))
      return 0;
  } else if (!stralloc_copys(&b->to, queue_env_str(b->e, b->e->sender))) {
    return 0;
  }
  return stralloc_0(&b->to);
}

/* The opening of the text for people, and the per-message status fields. */
static int dsn_intro(struct dsn_build *b)
{
  const struct queue_env *e = b->e;
  stralloc *text = &b->text;
  stralloc *report = &b->report;

  if (!stralloc_copys(text, "This is the mail system at ") || !stralloc_cat(text, &b->me) ||
      !stralloc_cats(text, ".\n\n"))
    return 0;
  if (b->kind == DSN_FAILED) {
    if (!stralloc_cats(text, b->double_bounce
                       ? "A message without a return address (a delivery report itself)\n"
                         "could not be delivered; this report goes to the postmaster.\n"
                       : "Your message could not be delivered to the recipients below.\n"
                         "Each address is followed by the reason. This report is final:\n"
                         "the message will not be tried again.\n"))
      return 0;
  } else if (b->kind == DSN_DELAYED) {
    if (!stralloc_cats(text, "Your message has not been delivered yet to the recipients\n"
                             "below. It will be tried again until ") ||
        !cat_date(text, (time_t)e->arrival + (time_t)b->lifetime) ||
        !stralloc_cats(text, ";\nyou need not send it again.\n"))
      return 0;
  } else if (b->kind == DSN_RELAYED) {
    if (!stralloc_cats(text, "Your message was relayed to the recipients below, to servers\n"
                             "that do not send delivery reports: there may be no further\n"
                             "notice of its delivery.\n"))
      return 0;
  } else if (b->kind == DSN_EXPANDED) {
    if (!stralloc_cats(text, "Your message was delivered to the recipients below, aliases\n"
                             "here that sent it on to other addresses. Their delivery is\n"
                             "reported only if it fails.\n"))
      return 0;
  } else if (!stralloc_cats(text, "Your message was delivered to the recipients below.\n")) {
    return 0;
  }
  if (!stralloc_cats(text, "\nIts queue id here was ") || !stralloc_cats(text, b->qid) ||
      !stralloc_cats(text, ".\n\n"))
    return 0;

  if (!stralloc_copys(&b->head, "dns; ") || !stralloc_cat(&b->head, &b->me) ||
      !stralloc_0(&b->head) || !stralloc_copys(report, "") ||
      !dsn_cat_field(report, "Reporting-MTA", b->head.s) ||
      !dsn_cat_field(report, "X-Qmta-Queue-ID", b->qid))
    return 0;
  if (e->envid != (size_t)-1 &&
      !dsn_cat_field(report, "Original-Envelope-Id", queue_env_str(e, e->envid)))
    return 0;
  return stralloc_cats(report, "Arrival-Date: ") && cat_date(report, (time_t)e->arrival) &&
         stralloc_append(report, "\n");
}

/* One recipient: its lines in the text, its status fields in the report. */
static int dsn_recipient(struct dsn_build *b, const struct dsn_rcpt *r)
{
  const struct queue_env *e = b->e;
  int kind = b->kind;
  stralloc *report = &b->report;
  struct dsn_reason p;
  const char *addr = queue_env_str(e, e->rcpt[r->idx].addr);
  const char *reason = r->reason != NULL ? r->reason : "";
  stralloc field = {0};
  int ok;

  if (has_8bit(addr) || has_8bit(reason) ||
      (e->rcpt[r->idx].orcpt != (size_t)-1 && has_8bit(queue_env_str(e, e->rcpt[r->idx].orcpt))))
    b->global = 1; /* RFC 6533: 8-bit fields need message/global-delivery-status */
  dsn_reason_parse(&p, reason, kind);

  ok = stralloc_cats(&b->text, "<") && cat_clean(&b->text, addr) &&
       stralloc_cats(&b->text, ">:\n    ") &&
       cat_clean(&b->text, reason[0] != '\0' ? reason : "(no reason given)") &&
       stralloc_cats(&b->text, "\n\n");

  ok = ok && stralloc_append(report, "\n");
  if (ok && e->rcpt[r->idx].orcpt != (size_t)-1)
    ok = dsn_cat_field(report, "Original-Recipient", queue_env_str(e, e->rcpt[r->idx].orcpt));
  ok = ok && stralloc_copys(&field, has_8bit(addr) ? "utf-8; " : "rfc822; ") &&
       stralloc_cats(&field, addr) && stralloc_0(&field) &&
       dsn_cat_field(report, "Final-Recipient", field.s);
  ok = ok && dsn_cat_field(report, "Action",
                           kind == DSN_FAILED    ? "failed"
                           : kind == DSN_DELAYED ? "delayed"
                           : kind == DSN_RELAYED ? "relayed"
                           : kind == DSN_EXPANDED ? "expanded"
                                                 : "delivered");
  ok = ok && dsn_cat_field(report, "Status", p.status);
  if (ok && p.hostlen > 0)
    ok = stralloc_copys(&field, "dns; ") && stralloc_catb(&field, reason, p.hostlen) &&
         stralloc_0(&field) && dsn_cat_field(report, "Remote-MTA", field.s);
  if (ok && p.remote != NULL)
    ok = stralloc_copys(&field, "smtp; ") && stralloc_cats(&field, p.remote) &&
         stralloc_0(&field) && dsn_cat_field(report, "Diagnostic-Code", field.s);
  else if (ok && reason[0] != '\0')
    ok = stralloc_copys(&field, "X-qmta; ") && stralloc_cats(&field, reason) &&
         stralloc_0(&field) && dsn_cat_field(report, "Diagnostic-Code", field.s);
  if (ok && !is_success(kind))
    ok = stralloc_cats(report, "Last-Attempt-Date: ") && cat_date(report, b->now) &&
         stralloc_append(report, "\n");
  if (ok && kind == DSN_DELAYED)
    ok = stralloc_cats(report, "Will-Retry-Until: ") &&
         cat_date(report, (time_t)e->arrival + (time_t)b->lifetime) &&
         stralloc_append(report, "\n");
  stralloc_free(&field);
  return ok;
}

/* The original (whole for a failure unless RET=HDRS and bouncemaxbytes
 * allows, else its header), and a boundary that does not occur in it. */
static int dsn_original(struct dsn_build *b, int fd)
{
  const struct queue_env *e = b->e;
  int want_whole = b->kind == DSN_FAILED && b->maxbytes > 0 &&
                   !(e->ret != (size_t)-1 && strcasecmp(queue_env_str(e, e->ret), "HDRS") == 0);

  if (original_read(fd, e, want_whole, b->maxbytes, &b->orig, &b->whole) == -1) return 0;
  if (!dsn_boundary(&b->boundary, &b->orig, b->id, b->now)) return 0;
  if (!b->whole && e->msglen > 0 && b->kind == DSN_FAILED &&
      !stralloc_cats(&b->text, "Only the header of the message is attached.\n\n"))
    return 0;
  return 1;
}

/* The header of the report, up to the header of its first part. */
static int dsn_header(struct dsn_build *b)
{
  stralloc *head = &b->head;
  int kind = b->kind;
  char num[FMT_ULONG];

  return stralloc_copys(head, "From: Mail Delivery System <MAILER-DAEMON@") &&
         stralloc_cat(head, &b->me) && stralloc_cats(head, ">\nTo: <") &&
         cat_clean(head, b->to.s) && stralloc_cats(head, ">\nSubject: ") &&
         stralloc_cats(head, kind == DSN_FAILED ? "Undelivered mail returned to sender"
                             : kind == DSN_DELAYED ? "Delayed mail (still being retried)"
                             : kind == DSN_RELAYED ? "Delivery report: mail relayed"
                             : kind == DSN_EXPANDED ? "Delivery report: mail expanded"
                                                   : "Delivery report: mail delivered") &&
         stralloc_cats(head, "\nDate: ") && cat_date(head, b->now) &&
         stralloc_cats(head, "\nMessage-ID: <dsn.") &&
         stralloc_catb(head, num, fmt_ulong(num, (unsigned long)b->now)) &&
         stralloc_append(head, ".") && stralloc_catb(head, num, fmt_ulong(num, b->id)) &&
         stralloc_append(head, ".") &&
         stralloc_catb(head, num, fmt_ulong(num, (unsigned long)getpid())) &&
         stralloc_append(head, "@") && stralloc_cat(head, &b->me) &&
         stralloc_cats(head, ">\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
                             "Content-Type: multipart/report; report-type=") &&
         stralloc_cats(head, b->global ? "global-delivery-status;" : "delivery-status;") &&
         stralloc_cats(head, "\n boundary=\"") && stralloc_cat(head, &b->boundary) &&
         stralloc_cats(head, "\"\n\nThis is a MIME-encapsulated message.\n\n--") &&
         stralloc_cat(head, &b->boundary) &&
         stralloc_cats(head, "\nContent-Description: Notification\nContent-Type: text/plain; "
                             "charset=") &&
         stralloc_cats(head, b->global ? "utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                                       : "us-ascii\n\n");
}

/* The parts after the header, written to the open report w. */
static int dsn_parts(struct dsn_build *b, struct queue_writer *w)
{
  stralloc *head = &b->head;
  const stralloc *orig = &b->orig;

  if (put_sa(w, head) == -1 || put_sa(w, &b->text) == -1) return 0;
  if (!stralloc_copys(head, "--") || !stralloc_cat(head, &b->boundary) ||
      !stralloc_cats(head, "\nContent-Description: Delivery report\nContent-Type: ") ||
      !stralloc_cats(head, b->global ? "message/global-delivery-status\n\n"
                                     : "message/delivery-status\n\n"))
    return 0;
  if (put_sa(w, head) == -1 || put_sa(w, &b->report) == -1) return 0;
  if (!stralloc_copys(head, "\n--") || !stralloc_cat(head, &b->boundary) ||
      !stralloc_cats(head, b->whole ? "\nContent-Description: The message\n"
                                      "Content-Type: message/rfc822\n\n"
                                    : "\nContent-Description: The message header\n"
                                      "Content-Type: text/rfc822-headers\n\n"))
    return 0;
  if (put_sa(w, head) == -1 || put_sa(w, orig) == -1) return 0;
  /* RFC 2046 5.1.1: the line end before a delimiter belongs to it */
  if (!stralloc_copys(head, orig->len > 0 && orig->s[orig->len - 1] != '\n' ? "\n\n--" : "\n--") ||
      !stralloc_cat(head, &b->boundary) || !stralloc_cats(head, "--\n"))
    return 0;
  return put_sa(w, head) != -1;
}

/* Writes the report and its envelope (one recipient) to the queue and
 * commits it; newid gets its queue id. 1 done, 0 failed (errno kept). */
/* Signed like local mail when the From: domain has a key (queue_sign.c):
 * a signer that is away leaves the report unsigned, never unsent. 0 only
 * when the file could not be written. */
static int dsn_sign(struct dsn_build *b, struct queue_writer *w)
{
  const char *why;
  const char *note;

  switch (queue_sign(w, 0, &why, &note)) {
  case -1:
    return 0;
  case 1:
    if (note != NULL)
      qwarn("report ", w->id, " for ", b->qid, " queued unsigned: ", why, ": ", note);
    else
      qwarn_sys("report ", w->id, " for ", b->qid, " queued unsigned: ", why);
    break;
  }
  return 1;
}

static int dsn_queue(struct dsn_build *b, char *newid)
{
  struct queue_writer w;
  stralloc env = {0};
  char num[FMT_ULONG];
  int saved;

  if (queue_open(&w) == -1) return 0;
  w.parent = b->qid;
  if (!dsn_parts(b, &w) || !dsn_sign(b, &w)) goto fail;
  if (!stralloc_copys(&env, "T") ||
      !stralloc_catb(&env, num, fmt_ulong(num, (unsigned long)b->now)) || !stralloc_0(&env) ||
      !stralloc_cats(&env, "F") ||
      !stralloc_cats(&env, b->double_bounce ? DSN_DOUBLE_SENDER : "") || !stralloc_0(&env) ||
      !stralloc_cats(&env, "R") || !stralloc_cats(&env, b->to.s) || !stralloc_0(&env))
    goto fail;
  if (queue_envelope(&w, env.s, env.len) == -1) goto fail;
  if (queue_commit(&w, &b->id) == -1) goto fail;
  memcpy(newid, w.id, QUEUE_ID_MAX);
  stralloc_free(&env);
  return 1;

fail:
  saved = errno;
  queue_abort(&w);
  stralloc_free(&env);
  errno = saved;
  return 0;
}

int dsn_send(int fd, const struct queue_env *e, int kind, const struct dsn_rcpt *r, size_t n,
             char *newid)
{
  struct dsn_build b;
  const char *sender = queue_env_str(e, e->sender);
  size_t selected = 0;
  struct stat st;
  int ok;

  newid[0] = '\0';
  if (kind != DSN_FAILED && kind != DSN_DELAYED && !is_success(kind)) {
    errno = EINVAL;
    return -1;
  }
  if (strcmp(sender, DSN_DOUBLE_SENDER) == 0) return 0; /* a failed double bounce is dropped */
  if (sender[0] == '\0' && kind != DSN_FAILED) return 0; /* RFC 3461 6.2: never to <> */
  for (size_t i = 0; i < n; ++i)
    if (r[i].idx < e->rcpt_count && notify_allows(e, r[i].idx, kind)) ++selected;
  if (selected == 0) return 0;

  memset(&b, 0, sizeof b);
  b.e = e;
  b.kind = kind;
  b.r = r;
  b.n = n;
  b.double_bounce = sender[0] == '\0';
  b.now = time(NULL);
  ok = dsn_settings(&b);
  if (ok) {
    if (fstat(fd, &st) == 0) b.id = (unsigned long)st.st_ino;
    queue_env_id(e, b.id, b.qid);
    ok = dsn_intro(&b);
  }
  for (size_t i = 0; ok && i < n; ++i)
    if (r[i].idx < e->rcpt_count && notify_allows(e, r[i].idx, kind))
      ok = dsn_recipient(&b, &r[i]);
  ok = ok && dsn_original(&b, fd) && dsn_header(&b) && dsn_queue(&b, newid);
  if (!ok && errno == 0) errno = ENOMEM;
  {
    int saved = errno;
    stralloc_free(&b.me);
    stralloc_free(&b.to);
    stralloc_free(&b.head);
    stralloc_free(&b.text);
    stralloc_free(&b.report);
    stralloc_free(&b.orig);
    stralloc_free(&b.boundary);
    errno = saved;
  }
  return ok ? 0 : -1;
}
