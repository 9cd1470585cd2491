/*
 * qsmtpd_data: the DATA and BDAT state machine. Pure: bytes in, message
 * bytes out through d->put. fuzz/fuzz_data.c and tests/unit/u_qsmtpd_data.c
 * drive it directly.
 *
 * Two stages. The transport stage undoes SMTP's framing: CRLF becomes LF,
 * and in DATA a line of "." ends the message and a leading dot is removed
 * (RFC 5321 4.5.2). RFC 5321 2.3.8 and 4.1.1.4: only CRLF.CRLF ends DATA;
 * a bare CR or bare LF is never a line end for that purpose (SMTP
 * smuggling). Such a byte sets d->bare (the caller refuses the message
 * after the real end) or, with barelf, becomes a line end in the message
 * but never starts a line for the end-of-data test.
 *
 * The header stage reads the resulting LF lines: until the first empty
 * line (or a line that is not a header field) it drops Return-Path:
 * fields with their continuation lines and counts Received: and
 * Delivered-To: fields (d->hops, for the loop check). It measures the
 * longest header line (d->hline_max; RFC 5322 2.1.1 allows 998 octets).
 * A NUL byte sets d->nul (the caller refuses the message) or, with
 * stripnul, is dropped. With d->rewrite set (generics for submission),
 * a From:, Sender: or Reply-To: field is held whole, continuation lines
 * included (up to DATA_HOLD_MAX bytes; a longer one passes as it is), and
 * what d->rewrite makes of it goes out in its place. With d->drop set, an
 * Authentication-Results: field is held the same way and dropped when
 * d->drop says so (a forgery naming our authserv-id, RFC 8601 5); one
 * too long to hold is dropped unread. With d->missing set (mail from an
 * authenticated client), Date: and Message-ID: fields are noted, and
 * where the header ends what d->missing returns is added: before the
 * empty line; before a line that is no header field, with an empty line
 * after it; at the end of a message that has only a header.
 */
#include <string.h>

#include "qsmtpd.h"

/* transport states */
#define T_BOL 0    /* at the start of a line: after CRLF, or the first byte */
#define T_TEXT 1   /* inside a line */
#define T_CR 2     /* a CR inside a line, LF expected */
#define T_DOT 3    /* a dot at the start of a line (DATA) */
#define T_DOTCR 4  /* ".\r" at the start of a line (DATA) */

/* header states */
#define H_START 0  /* start of a header line */
#define H_NAME 1   /* collecting the field name */
#define H_PASS 2   /* passing the rest of the line */
#define H_DROP 3   /* dropping the rest of the line */
#define H_BODY 4   /* past the header section */
#define H_HOLD 5   /* holding a field for d->rewrite */

static void out_flush_data(struct smtpdata *d)
{
  if (d->outlen > 0) {
    d->put(d->cookie, d->out, d->outlen);
    d->outbytes += d->outlen;
    d->outlen = 0;
  }
}

static void emit(struct smtpdata *d, char c)
{
  if (d->outlen == sizeof d->out) out_flush_data(d);
  d->out[d->outlen++] = c;
}

static void emit_name(struct smtpdata *d)
{
  size_t i;

  for (i = 0; i < d->namelen; i++) emit(d, d->name[i]);
  d->namelen = 0;
}

static int name_is(const struct smtpdata *d, const char *want)
{
  size_t n = d->namelen;
  size_t i;

  while (n > 0 && (d->name[n - 1] == ' ' || d->name[n - 1] == '\t')) n--;
  if (n != strlen(want)) return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)d->name[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != want[i]) return 0;
  }
  return 1;
}

/* The end of the header section: the fields d->missing asks for, once;
 * 1 if it added any. */
static int header_end(struct smtpdata *d)
{
  const char *o;
  size_t n;
  size_t i;

  if (d->missing == NULL) return 0;
  n = d->missing(d->missing_cookie, d->seen, &o);
  d->missing = NULL;
  for (i = 0; i < n; i++) emit(d, o[i]);
  return n > 0;
}

/* The held field goes out, as d->rewrite makes it, or is dropped. */
static void release(struct smtpdata *d)
{
  const char *o = d->hold;
  size_t n;
  size_t i;

  if (d->holding == HOLD_AR)
    n = d->drop(d->drop_cookie, d->hold, d->holdlen) ? 0 : d->holdlen;
  else
    n = d->rewrite(d->rewrite_cookie, d->hold, d->holdlen, &o);
  d->holding = 0;
  d->holdlen = 0;
  for (i = 0; i < n; i++) emit(d, o[i]);
}

/* One more byte of the held field; too long a field passes as it is. */
static void hold_byte(struct smtpdata *d, char c)
{
  size_t i;

  if (d->holdlen < sizeof d->hold) {
    d->hold[d->holdlen++] = c;
    d->hstate = c == '\n' ? H_START : H_HOLD;
    return;
  }
  if (d->holding == HOLD_AR) { /* cannot be read: dropped with what follows */
    d->holding = 0;
    d->holdlen = 0;
    d->drop_cont = 1;
    d->hstate = c == '\n' ? H_START : H_DROP;
    return;
  }
  for (i = 0; i < d->holdlen; i++) emit(d, d->hold[i]);
  emit(d, c);
  d->holding = 0;
  d->holdlen = 0;
  d->hstate = c == '\n' ? H_START : H_PASS;
}

/* The header stage: one byte of the message with LF line ends. */
static void header_byte(struct smtpdata *d, char c)
{
  if (d->hstate != H_BODY) {
    if (c == '\n') d->hline = 0;
    else if (++d->hline > d->hline_max) d->hline_max = d->hline;
  }
  switch (d->hstate) {
    case H_BODY:
    case H_PASS:
      emit(d, c);
      if (c == '\n' && d->hstate == H_PASS) d->hstate = H_START;
      return;
    case H_DROP:
      if (c == '\n') d->hstate = H_START;
      return;
    case H_HOLD:
      hold_byte(d, c);
      return;
    case H_START:
      if (d->holding) {
        if (c == ' ' || c == '\t') { /* the held field goes on */
          hold_byte(d, c);
          return;
        }
        release(d);
      }
      if (c == '\n') {         /* the empty line: the body follows */
        header_end(d);
        emit(d, c);
        d->hstate = H_BODY;
        return;
      }
      if (c == ' ' || c == '\t') { /* RFC 5322 2.2.3: a continuation line */
        if (d->drop_cont) {
          d->hstate = H_DROP;
        } else {
          emit(d, c);
          d->hstate = H_PASS;
        }
        return;
      }
      d->drop_cont = 0;
      d->namelen = 0;
      d->name_wsp = 0;
      d->hstate = H_NAME;
      /* fall through */
    case H_NAME:
      break;
  }

  /* H_NAME: the field name is at most what name[] holds for the fields we look for */
  if (c == ':') {
    if (d->namelen == 0) { /* ":" alone starts no field: not a header */
      if (header_end(d)) emit(d, '\n');
      emit(d, c);
      d->hstate = H_BODY;
      return;
    }
    if (name_is(d, "return-path")) {
      d->namelen = 0;
      d->drop_cont = 1;
      d->hstate = H_DROP;
      return;
    }
    if (name_is(d, "received") || name_is(d, "delivered-to")) d->hops++;
    if (name_is(d, "date")) d->seen |= DATA_SEEN_DATE;
    if (name_is(d, "message-id")) d->seen |= DATA_SEEN_MSGID;
    if (d->drop != NULL && name_is(d, "authentication-results")) {
      memcpy(d->hold, d->name, d->namelen);
      d->holdlen = d->namelen;
      d->namelen = 0;
      d->holding = HOLD_AR;
      hold_byte(d, c);
      return;
    }
    if (d->rewrite != NULL &&
        (name_is(d, "from") || name_is(d, "sender") || name_is(d, "reply-to"))) {
      memcpy(d->hold, d->name, d->namelen);
      d->holdlen = d->namelen;
      d->namelen = 0;
      d->holding = HOLD_REWRITE;
      hold_byte(d, c);
      return;
    }
    emit_name(d);
    emit(d, c);
    d->hstate = H_PASS;
    return;
  }
  if (c == ' ' || c == '\t') {
    if (d->namelen == 0) { /* cannot happen: H_START handles blanks */
      emit(d, c);
      d->hstate = H_PASS;
      return;
    }
    d->name_wsp = 1;       /* RFC 5322 4.5.3: blanks before the colon */
  } else if (d->name_wsp || c == '\n' || (unsigned char)c < 33 || (unsigned char)c > 126) {
    /* not a field name: the header section ended without an empty line */
    if (header_end(d)) emit(d, '\n');
    emit_name(d);
    emit(d, c);
    d->hstate = H_BODY;
    return;
  }
  if (d->namelen == sizeof d->name) { /* longer than any name we look for */
    emit_name(d);
    emit(d, c);
    d->hstate = H_PASS;
    return;
  }
  d->name[d->namelen++] = c;
}

/* A bare CR or LF: refused later, or a line end in the message. */
static void bare_byte(struct smtpdata *d)
{
  d->bare = 1;
  if (d->barelf) header_byte(d, '\n');
}

void smtpdata_init(struct smtpdata *d, int mode, int barelf,
                   void (*put)(void *cookie, const char *s, size_t len), void *cookie)
{
  memset(d, 0, sizeof *d);
  d->mode = mode;
  d->barelf = barelf;
  d->state = T_BOL;
  d->hstate = H_START;
  d->put = put;
  d->cookie = cookie;
}

/* What byte c adds to d->size, seen before c changes the state: a dot at
 * the start of a line counts once the next byte shows that it is not
 * stuffing (a bare LF) or not the end of data (".\r" then another byte). */
static unsigned size_of(const struct smtpdata *d, char c)
{
  switch (d->state) {
    case T_BOL:
      return c == '.' && d->mode == DATA_DOT ? 0 : 1;
    case T_DOT:
      if (c == '\r') return 0;
      return c == '\n' ? 2 : 1;
    case T_DOTCR:
      return c == '\n' ? 0 : 3;
    default:
      return 1;
  }
}

size_t smtpdata_feed(struct smtpdata *d, const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len && !d->done; i++) {
    char c = s[i];

    if (c == '\0') { /* refused later, or dropped: never stored as it is */
      d->nul = 1;
      if (d->stripnul) continue;
    }
    d->size += size_of(d, c);
    switch (d->state) {
      case T_BOL:
        if (c == '.' && d->mode == DATA_DOT) {
          d->state = T_DOT;
          break;
        }
        /* fall through */
      case T_TEXT:
        if (c == '\r') {
          d->state = T_CR;
        } else if (c == '\n') {
          bare_byte(d);
          d->state = T_TEXT;
        } else {
          header_byte(d, c);
          d->state = T_TEXT;
        }
        break;
      case T_CR:
        if (c == '\n') {
          header_byte(d, '\n');
          d->state = T_BOL;
        } else if (c == '\r') {
          bare_byte(d); /* the first CR was bare; this one may start CRLF */
        } else {
          bare_byte(d);
          header_byte(d, c);
          d->state = T_TEXT;
        }
        break;
      case T_DOT:
        if (c == '\r') {
          d->state = T_DOTCR;
        } else if (c == '\n') {
          header_byte(d, '.'); /* "." then a bare LF: no end, no stuffing */
          bare_byte(d);
          d->state = T_TEXT;
        } else {
          header_byte(d, c);   /* the leading dot is dropped */
          d->state = T_TEXT;
        }
        break;
      case T_DOTCR:
        if (c == '\n') {
          d->done = 1;         /* CRLF.CRLF: the only end of data */
          break;
        }
        header_byte(d, '.');
        bare_byte(d);
        if (c == '\r') {
          d->state = T_CR;
        } else {
          header_byte(d, c);
          d->state = T_TEXT;
        }
        break;
    }
  }
  out_flush_data(d);
  return i;
}

void smtpdata_finish(struct smtpdata *d)
{
  if (!d->done) {
    if (d->state == T_CR) bare_byte(d);
    if (d->state == T_DOT) header_byte(d, '.');
    if (d->state == T_DOTCR) {
      header_byte(d, '.');
      bare_byte(d);
    }
    d->state = T_BOL;
  }
  if (d->holding) release(d);
  if (d->hstate == H_NAME) {
    /* an unfinished line without a colon: the header ended before it */
    if (header_end(d)) emit(d, '\n');
    emit_name(d);
    d->hstate = H_BODY;
  }
  if (d->hstate != H_BODY && d->missing != NULL) {
    /* only a header: its last line may lack its line end */
    if (d->hstate == H_PASS || d->hstate == H_HOLD) emit(d, '\n');
    header_end(d);
    d->hstate = H_BODY;
  }
  out_flush_data(d);
}
