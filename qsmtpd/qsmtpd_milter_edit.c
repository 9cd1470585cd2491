/*
 * qsmtpd_milter_edit: the changes the milters make to a message at its
 * end (qsmtpd_milter.c asks them; qsmtpd_milter.h is the interface): the
 * header as a list in memory and its edits (add, insert, change,
 * delete), a new body, a new sender and a quarantine reason. Each
 * milter's changes are held (medit_pend_*) until its verdict lets the
 * message go on, and then applied to the list, so the next milter sees
 * them; the queue file is rewritten once, after the last milter, before
 * the commit (medit_write: the body with inject_truncate, the header with
 * inject_splice). Runs inside qsmtpd (qmta-smtpd).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <stralloc.h>

#include "qlog.h"
#include "qsmtpd.h"
#include "qsmtpd_milter.h"

#define BODY_MAX (64UL << 20) /* the largest body a milter may put in */

/*
 * The header as the milters see it and change it: every field of the
 * queue file's header (ours on top, then the client's) in order, each
 * with its bytes as in the file ("Name: value\n", continuation lines
 * included). A line without a colon, or a field longer than FIELD_MAX, is
 * kept but not shown to the milters, and not counted by their indexes.
 * A header longer than HEADER_MAX ends there for the milters: the rest is
 * body to them, and stays as it is. Changes act on this list at once, so
 * that the next milter sees them; the file is rewritten once at the end.
 */
#define FIELD_MAX 65536          /* longer fields are not shown */
#define HEADER_MAX (1UL << 20)   /* bytes of header taken into the list */
#define HBUF_MAX (4UL << 20)     /* bytes of fields old and new in all */

struct hfield {
  size_t off;   /* in hbuf */
  size_t len;
  int seen;     /* shown to the milters: counted by an index */
};

static stralloc hbuf;           /* the bytes of every field, old and new */
static struct hfield *hf;
static size_t hf_count;
static size_t hf_alloc;
static int hdr_changed;
static unsigned long long hdr_end;  /* the message's bytes the list replaces */
static unsigned long long body_at;  /* where the body starts in the message */
static int has_sep;                 /* the empty line before the body is there */
static stralloc pend;               /* one milter's header changes: code, index,
                                       name\0, value\0 each; applied when it ends well */
static stralloc newbody;            /* the body a milter put in (CRLF line ends) */
static stralloc pend_body;          /* the one being put in */
static int body_replaced;
static int pend_body_set;
static char new_sender[608];        /* a milter's new sender, as it wrote it (the last) */
static char pend_sender[608];       /* the one this milter gives */
static char quarantine[512];        /* the first milter's reason */
static char pend_quarantine[512];


/* ---- reading the message back ---- */

void medit_reader_init(struct medit_reader *rd, int fd, unsigned long long from,
                       unsigned long long to)
{
  rd->fd = fd;
  rd->pos = (off_t)(QUEUE_HDRLEN + from);
  rd->end = (off_t)(QUEUE_HDRLEN + to);
  rd->len = rd->at = 0;
}

int medit_byte(struct medit_reader *rd)
{
  if (rd->at == rd->len) {
    ssize_t n;
    size_t want = sizeof rd->buf;
    if (rd->pos >= rd->end) return -1;
    if ((off_t)want > rd->end - rd->pos) want = (size_t)(rd->end - rd->pos);
    do {
      n = pread(rd->fd, rd->buf, want, rd->pos);
    } while (n == -1 && errno == EINTR);
    if (n <= 0) return -2;
    rd->pos += n;
    rd->len = (size_t)n;
    rd->at = 0;
  }
  return (unsigned char)rd->buf[rd->at++];
}

/* ---- the header list ---- */

/* Room for one more entry at index at (the later ones move up) */
static void hf_open(size_t at)
{
  if (hf_count == hf_alloc) {
    size_t n = hf_alloc ? hf_alloc * 2 : 64;
    struct hfield *p = realloc(hf, n * sizeof *hf);
    if (p == NULL) io_die_nomem();
    hf = p;
    hf_alloc = n;
  }
  memmove(hf + at + 1, hf + at, (hf_count - at) * sizeof *hf);
  hf_count++;
}

/* The field s (len bytes) as entry at: -1 when the list is full */
static int hf_put(size_t at, const char *s, size_t len, int seen)
{
  if (hbuf.len + len > HBUF_MAX) return -1;
  hf_open(at);
  hf[at].off = hbuf.len;
  hf[at].len = len;
  hf[at].seen = seen;
  if (!stralloc_catb(&hbuf, s, len)) io_die_nomem();
  return 0;
}

static int is_field(const char *s, size_t len)
{
  const char *colon = memchr(s, ':', len);
  return colon != NULL && colon > s && len <= FIELD_MAX;
}

void medit_clear(void)
{
  hf_count = 0;
  hdr_changed = 0;
  body_replaced = 0;
  new_sender[0] = '\0';
  quarantine[0] = '\0';
}

int medit_load(int fd, unsigned long long len)
{
  static stralloc field;
  struct medit_reader rd;
  int c;

  medit_reader_init(&rd, fd, 0, len);
  hbuf.len = 0;
  hf_count = 0;
  hdr_changed = 0;
  has_sep = 0;
  hdr_end = 0;
  field.len = 0;
  for (;;) {
    c = medit_byte(&rd);
    if (c == -2) return -1;
    /* a field ends at a line end not followed by a blank */
    if (field.len > 0 && field.s[field.len - 1] == '\n' && c != ' ' && c != '\t') {
      if (hbuf.len + field.len > HEADER_MAX) break; /* the rest is body to the milters */
      hf_put(hf_count, field.s, field.len, is_field(field.s, field.len));
      hdr_end += field.len;
      field.len = 0;
    }
    if (c == -1) {
      if (field.len > 0 && hbuf.len + field.len <= HEADER_MAX) { /* no line end at the end */
        hf_put(hf_count, field.s, field.len, is_field(field.s, field.len));
        hdr_end += field.len;
      }
      break;
    }
    if (field.len == 0 && c == '\n') {
      has_sep = 1;
      break;
    }
    if (field.len > HEADER_MAX) break;
    if (!stralloc_append(&field, (char *)&c)) io_die_nomem();
  }
  body_at = has_sep ? hdr_end + 1 : hdr_end;
  return 0;
}

size_t medit_fields(void)
{
  return hf_count;
}

const char *medit_field(size_t i, size_t *len)
{
  if (i >= hf_count || !hf[i].seen) return NULL;
  *len = hf[i].len;
  return hbuf.s + hf[i].off;
}

unsigned long long medit_body_at(void)
{
  return body_at;
}

/* "Name: value\n" into sa, as a field of the queue file: LF line ends */
const char *medit_new_body(size_t *len)
{
  if (!body_replaced) return NULL;
  *len = newbody.len;
  return newbody.s != NULL ? newbody.s : "";
}

static void field_fmt(stralloc *sa, const char *name, const char *value)
{
  sa->len = 0;
  if (!stralloc_cats(sa, name) || !stralloc_cats(sa, ": ")) io_die_nomem();
  for (const char *v = value; *v != '\0'; v++)
    if (*v != '\r' && !stralloc_append(sa, v)) io_die_nomem();
  if (!stralloc_append(sa, "\n")) io_die_nomem();
}

/* The entry of the index-th field shown (0 the first): hf_count if none */
static size_t nth_seen(uint32_t index)
{
  size_t i;

  for (i = 0; i < hf_count; i++)
    if (hf[i].seen && index-- == 0) break;
  return i;
}

/* The entry of the index-th field named name (1 the first): hf_count if none */
static size_t nth_named(uint32_t index, const char *name)
{
  size_t n = strlen(name);
  size_t i;

  if (index == 0) index = 1; /* as Sendmail: 0 is the first too */
  for (i = 0; i < hf_count; i++) {
    const char *s = hbuf.s + hf[i].off;
    if (!hf[i].seen || hf[i].len <= n || s[n] != ':' || strncasecmp(s, name, n) != 0) continue;
    if (--index == 0) break;
  }
  return i;
}

/* One change of the header (code 'h' 'i' 'm'): 0, -1 (the header is full) */
static int hdr_apply(char code, uint32_t index, const char *name, const char *value)
{
  static stralloc one;
  size_t at;

  if (code == 'm') {
    at = nth_named(index, name);
    if (value[0] == '\0') { /* delete it (nothing if there is none) */
      if (at == hf_count) return 0;
      memmove(hf + at, hf + at + 1, (hf_count - at - 1) * sizeof *hf);
      hf_count--;
      hdr_changed = 1;
      qlog("milter: header field deleted: ", name);
      return 0;
    }
    field_fmt(&one, name, value);
    if (at == hf_count) { /* none of that name: added at the end, as Sendmail does */
      qlog("milter: header field added: ", name);
      hdr_changed = 1;
      return hf_put(hf_count, one.s, one.len, 1);
    }
    if (hbuf.len + one.len > HBUF_MAX) return -1;
    hf[at].off = hbuf.len;
    hf[at].len = one.len;
    if (!stralloc_cat(&hbuf, &one)) io_die_nomem();
    hdr_changed = 1;
    qlog("milter: header field changed: ", name);
    return 0;
  }
  field_fmt(&one, name, value);
  at = code == 'i' ? nth_seen(index) : hf_count;
  hdr_changed = 1;
  return hf_put(at, one.s, one.len, 1);
}

/* ---- one milter's changes ---- */

int medit_pend_header(char code, uint32_t index, const char *name, const char *value)
{
  char ix[4];

  if (pend.len > HBUF_MAX) return -1;
  memcpy(ix, &index, 4);
  if (!stralloc_append(&pend, &code) || !stralloc_catb(&pend, ix, 4) ||
      !stralloc_catb(&pend, name, strlen(name) + 1) ||
      !stralloc_catb(&pend, value, strlen(value) + 1))
    io_die_nomem();
  return 0;
}

int medit_pend_body(const char *s, size_t len)
{
  pend_body_set = 1;
  if (pend_body.len + len > BODY_MAX) return -1;
  if (!stralloc_catb(&pend_body, s, len)) io_die_nomem();
  return 0;
}

void medit_pend_sender(const char *sender)
{
  memcpy(pend_sender, sender, strlen(sender) + 1); /* milter_reply_parse: under 600 */
}

void medit_pend_quarantine(const char *reason)
{
  if (pend_quarantine[0] != '\0') return; /* the first reason is kept */
  memcpy(pend_quarantine, reason, strlen(reason) + 1); /* milter_reply_parse: under 500 */
}

int medit_pend_apply(void)
{
  size_t pos = 0;

  while (pos < pend.len) {
    uint32_t index;
    const char *name = pend.s + pos + 5;
    const char *value = name + strlen(name) + 1;
    char code = pend.s[pos];

    memcpy(&index, pend.s + pos + 1, 4);
    pos = (size_t)(value - pend.s) + strlen(value) + 1;
    if (hdr_apply(code, index, name, value) == -1) return -1;
  }
  pend.len = 0;
  if (pend_body_set) {
    if (!stralloc_copy(&newbody, &pend_body)) io_die_nomem();
    body_replaced = 1; /* the last milter to replace it wins */
  }
  pend_body_set = 0;
  if (pend_sender[0] != '\0') memcpy(new_sender, pend_sender, sizeof new_sender);
  if (quarantine[0] == '\0') memcpy(quarantine, pend_quarantine, sizeof quarantine);
  return 0;
}

void medit_pend_reset(void)
{
  pend.len = 0;
  pend_body.len = 0;
  pend_body_set = 0;
  pend_sender[0] = '\0';
  pend_quarantine[0] = '\0';
}

const char *milters_sender(void)
{
  return new_sender[0] != '\0' ? new_sender : NULL;
}

const char *milters_quarantine(void)
{
  return quarantine[0] != '\0' ? quarantine : NULL;
}

/* ---- the queue file rewritten ---- */

/* The header list written back in place of the old header: 0, -1 */
static int hdr_write(struct inject *q)
{
  static stralloc out;

  out.len = 0;
  for (size_t i = 0; i < hf_count; i++) {
    if (!stralloc_catb(&out, hbuf.s + hf[i].off, hf[i].len)) io_die_nomem();
    if (out.s[out.len - 1] != '\n' && !stralloc_append(&out, "\n")) io_die_nomem();
  }
  return inject_splice(q, hdr_end, out.s, out.len);
}

int medit_write(struct inject *q)
{
  /* the body first: the header's end does not move with it */
  if (body_replaced) {
    if (inject_truncate(q, body_at) == -1) return -1;
    if (!has_sep) inject_put(q, "\n", 1);
    inject_put(q, newbody.s, newbody.len); /* CRLF becomes LF there */
    qlog("milter: body replaced");
  }
  if (hdr_changed && hdr_write(q) == -1) return -1;
  return 0;
}

/* A buffer that grew for a large message is given back: a session
 * process lives long and serves many messages */
static void trim(stralloc *sa)
{
  if (sa->a > (256UL << 10)) stralloc_free(sa); /* s, a and len back to 0 */
}

void medit_trim(void)
{
  trim(&hbuf);
  trim(&pend);
  trim(&newbody);
  trim(&pend_body);
}
